/**
 * Builds a Program's generated C (emitC → make) in a temporary folder and
 * runs its model_run on feeds, giving results in the shape the emulator's
 * comparison helpers take (test/backends/js/compare.ts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { emitC, type EmitCOptions } from "../../../src/backends/c/emit.js";
import { type Program, sampleSize } from "../../../src/integer/program.js";
import { run } from "../../helpers/c-toolchain.js";
import type { Feeds } from "../js/check.js";
import type { Results } from "../js/compare.js";

export interface Built {
  readonly dir: string;
  readonly program: Program;
  /** The harness's file name in dir (default model_run). */
  readonly exe?: string;
  /** Arguments added to each run (e.g. model_run's --one). */
  readonly args?: readonly string[];
  /** Environment variables added to each run (e.g. FIXQ_CPU: "portable", the dispatched build's baseline path). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Writes the generated files into `dir` and runs make there (CFLAGS as given, default -O3; CC as given, default the Makefile's). */
export function buildC(p: Program, dir: string, opts: EmitCOptions & { cflags?: string; cc?: string } = {}): Built {
  for (const [rel, text] of emitC(p, opts)) writeFileSync(join(dir, rel), text);
  run("make", ["-s", "-C", dir, ...(opts.cflags ? [`CFLAGS=${opts.cflags}`] : []), ...(opts.cc ? [`CC=${opts.cc}`] : [])]);
  return { dir, program: p };
}

/** Samples interleaved as model_run reads them: per sample, each input's tensor in graph order. */
function interleave(p: Program, f: Feeds): Uint8Array {
  const sizes = p.inputs.map((io) => sampleSize(io.shape));
  const per = sizes.reduce((a, b) => a + b, 0);
  const out = f.quantized ? new Int32Array(per * f.batch) : new Float32Array(per * f.batch);
  for (let n = 0; n < f.batch; n++) {
    let o = n * per;
    p.inputs.forEach((io, k) => {
      const data = f.data[io.name]!;
      out.set(data.subarray(n * sizes[k]!, (n + 1) * sizes[k]!), o);
      o += sizes[k]!;
    });
  }
  return new Uint8Array(out.buffer);
}

/** Splits back-to-back per-sample outputs into one array per output name. */
function split<T extends Int32Array | Float32Array>(p: Program, all: T, batch: number, make: (n: number) => T): Map<string, T> {
  const sizes = p.outputs.map((io) => sampleSize(io.shape));
  const per = sizes.reduce((a, b) => a + b, 0);
  if (all.length !== per * batch) throw new Error(`model_run wrote ${all.length} values, expected ${per * batch}`);
  const res = new Map<string, T>();
  p.outputs.forEach((io, k) => {
    const a = make(sizes[k]! * batch);
    const off = sizes.slice(0, k).reduce((x, y) => x + y, 0);
    for (let n = 0; n < batch; n++) a.set(all.subarray(n * per + off, n * per + off + sizes[k]!), n * sizes[k]!);
    res.set(io.name, a);
  });
  return res;
}

const bytesOf = (path: string) => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};

/** model_run on float feeds (outputs and ints), or on quantized feeds (--quantized: ints only; `outputs` is empty). */
export function runC(b: Built, f: Feeds, tag = "x"): Results {
  const inPath = join(b.dir, `${tag}.in.bin`);
  const outPath = join(b.dir, `${tag}.out.bin`);
  const intPath = join(b.dir, `${tag}.int.bin`);
  writeFileSync(inPath, interleave(b.program, f));
  const env = b.env ? { ...process.env, ...b.env } : undefined;
  if (f.quantized) {
    run(join(b.dir, b.exe ?? "model_run"), ["--quantized", inPath, intPath, ...(b.args ?? [])], { env });
    return { outputs: new Map(), ints: split(b.program, new Int32Array(bytesOf(intPath)), f.batch, (n) => new Int32Array(n)) };
  }
  run(join(b.dir, b.exe ?? "model_run"), [inPath, outPath, "--int", intPath, ...(b.args ?? [])], { env });
  return {
    outputs: split(b.program, new Float32Array(bytesOf(outPath)), f.batch, (n) => new Float32Array(n)),
    ints: split(b.program, new Int32Array(bytesOf(intPath)), f.batch, (n) => new Int32Array(n)),
  };
}

/** The CPU paths of one dispatched build (cpu-dispatch.ts): its default (AVX2 where the CPU has it) and FIXQ_CPU=portable (the baseline bodies). */
export const cpuPaths = (b: Built): Built[] => [b, { ...b, env: { ...b.env, FIXQ_CPU: "portable" } }];

/** The path a run of `b` takes, as `model_run --cpu` names it. */
export const cpuPathName = (b: Built): string => run(join(b.dir, b.exe ?? "model_run"), ["--cpu"], { env: { ...process.env, ...b.env } }).trim();
