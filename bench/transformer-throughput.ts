/**
 * The throughput part of `npm run bench:transformer` (FIXQ_BENCH_PART=throughput,
 * on by default in the full run): every variant's ONNX model timed in ONNX
 * Runtime at 1 and 2 intra-op threads on one fixed batch of B images, and the
 * integer-only program timed in fixq's emulator (one thread, JavaScript).
 *
 *   samples/s = B / median(t₁ … t_R)     ratio = samples/s ÷ float's samples/s at the same thread count
 *
 * At each thread count every session is opened and warmed up (two runs) first,
 * then the R timed runs go round-robin over the variants (round r times every
 * variant once), so a change of machine load during the run shifts all
 * variants alike rather than whichever one happened to run then. The emulator
 * is timed the same way, interleaved with ORT float at 1 thread, and compared
 * with it. On a shared machine the absolute figures are noise; the ratios are
 * what to read.
 */
import { loadavg } from "node:os";
import { Emulator } from "../src/backends/emulator/emulator.js";
import type { Program } from "../src/integer/program.js";
import { DataType } from "../src/ir/dtype.js";
import type { Model } from "../src/ir/graph.js";
import { OrtSession } from "../src/runtime/ort-session.js";

export interface ThroughputVariant {
  name: string;
  model: Model;
}

export interface ThroughputOptions {
  /** Images per run (the fixed batch). */
  batch: number;
  /** Timed runs per variant and thread count (median taken). */
  reps: number;
  /** Timed emulator runs (median taken); the emulator is much slower than ORT. */
  emulatorReps: number;
  /** Float32 images, 784 per sample, at least `batch` of them. */
  images: Float32Array;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median samples/s of each variant at `threads` intra-op threads, runs interleaved round-robin. */
async function ortRates(variants: readonly ThroughputVariant[], threads: number, o: ThroughputOptions): Promise<number[]> {
  const feed = { input: { dtype: DataType.FLOAT, dims: [o.batch, 1, 28, 28], data: o.images.subarray(0, o.batch * 784) } };
  const sessions: OrtSession[] = [];
  try {
    for (const v of variants) sessions.push(await OrtSession.create(v.model, { threads }));
    for (const s of sessions) for (let k = 0; k < 2; k++) await s.run(feed);
    const times: number[][] = variants.map(() => []);
    for (let r = 0; r < o.reps; r++) {
      for (const [i, s] of sessions.entries()) {
        const t = performance.now();
        await s.run(feed);
        times[i]!.push(performance.now() - t);
      }
    }
    return times.map((ts) => o.batch / (median(ts) / 1000));
  } finally {
    for (const s of sessions) await s.release();
  }
}

/** Median samples/s of the emulator and of ORT float (1 thread), timed alternately. */
async function emulatorRates(program: Program, float: Model, o: ThroughputOptions): Promise<[number, number]> {
  const emu = Emulator.compile(program, o.batch);
  const x = o.images.subarray(0, o.batch * 784);
  const feeds = new Map([[program.inputs[0]!.name, x]]);
  const feed = { input: { dtype: DataType.FLOAT, dims: [o.batch, 1, 28, 28], data: x } };
  const session = await OrtSession.create(float, { threads: 1 });
  try {
    emu.run(feeds);
    await session.run(feed);
    const te: number[] = [];
    const tf: number[] = [];
    for (let r = 0; r < o.emulatorReps; r++) {
      let t = performance.now();
      emu.run(feeds);
      te.push(performance.now() - t);
      t = performance.now();
      await session.run(feed);
      tf.push(performance.now() - t);
    }
    return [o.batch / (median(te) / 1000), o.batch / (median(tf) / 1000)];
  } finally {
    await session.release();
  }
}

/** Times every variant (the first must be float) and the emulator, and prints the table. */
export async function printThroughput(variants: readonly ThroughputVariant[], program: Program | undefined, o: ThroughputOptions): Promise<void> {
  const before = loadavg()[0]!.toFixed(2);
  const r1 = await ortRates(variants, 1, o);
  const r2 = await ortRates(variants, 2, o);
  const emu = program ? await emulatorRates(program, variants[0]!.model, o) : undefined;
  const after = loadavg()[0]!.toFixed(2);
  console.log(
    `\nViT throughput in ONNX Runtime, batch ${o.batch}, median of ${o.reps} runs after 2 warm-up runs, variants interleaved; load average ${before} before, ${after} after (shared machine: absolute figures are noisy, read the ratios)`,
  );
  console.log(`${"variant".padEnd(50)} ${"img/s 1thr".padStart(10)} ${"×float".padStart(6)} ${"img/s 2thr".padStart(10)} ${"×float".padStart(6)}`);
  for (const [i, v] of variants.entries()) {
    console.log(
      `${v.name.padEnd(50)} ${r1[i]!.toFixed(0).padStart(10)} ${(r1[i]! / r1[0]!).toFixed(2).padStart(6)} ${r2[i]!.toFixed(0).padStart(10)} ${(r2[i]! / r2[0]!).toFixed(2).padStart(6)}`,
    );
  }
  if (emu) {
    console.log(
      `${"fixq integer-only (emulator, 1 thread)".padEnd(50)} ${emu[0].toFixed(0).padStart(10)} ${(emu[0] / emu[1]).toFixed(2).padStart(6)}  (against ORT float at 1 thread timed alternately with it: ${emu[1].toFixed(0)} img/s; median of ${o.emulatorReps})`,
    );
  }
}
