/**
 * Child process of calib.bench.ts, run in a fresh Node process so that its
 * peak RSS belongs to one job only. Both modes stream the same .npy a batch
 * of rows at a time (npyFileSource, as `fixq quantize` does).
 *
 *   node --import tsx bench/calib-child.ts quantize <model.onnx> <data.npy> <batch> [threads]
 *       quantizeModel with the default recipe and --batch-size <batch>
 *   node --import tsx bench/calib-child.ts infer <model.onnx> <data.npy> <batch> [threads]
 *       plain float inference (ORT default options) over the same rows
 *
 * Prints one JSON line: {"mode", "hwmKB", "maxRssKB", "ms", "samples"}.
 * hwmKB is VmHWM from /proc/self/status (this address space only; see
 * bench/README.md for why ru_maxrss can mislead); maxRssKB is
 * process.resourceUsage().maxRSS, the fallback off Linux.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { loadModel } from "../src/ir/onnx/load.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { OrtSession } from "../src/runtime/ort-session.js";

function vmHwmKB(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const [mode, modelPath, dataPath, batchArg, threadsArg] = process.argv.slice(2);
  if (!modelPath || !dataPath || !batchArg) throw new Error("usage: quantize|infer <model.onnx> <data.npy> <batch> [threads]");
  const batchSize = Number(batchArg);
  const threads = threadsArg ? Number(threadsArg) : undefined;
  const model = loadModel(modelPath);
  const source = npyFileSource(model.graph!, dataPath);
  const t0 = performance.now();
  try {
    if (mode === "quantize") {
      await quantizeModel(model, source, buildRecipe({ batchSize }), { threads });
    } else if (mode === "infer") {
      const session = await OrtSession.create(model, { threads });
      await session.runSource(source, batchSize, () => {});
      await session.release();
    } else {
      throw new Error(`unknown mode '${mode}'`);
    }
  } finally {
    source.close();
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ mode, hwmKB: vmHwmKB(), maxRssKB: process.resourceUsage().maxRSS, ms, samples: source.count })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
