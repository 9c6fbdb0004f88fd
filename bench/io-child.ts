/**
 * Child process of io.bench.ts, run in a fresh Node process so that its peak
 * RSS belongs to one operation only.
 *
 *   node --import tsx bench/io-child.ts baseline
 *       imports fixq's load/save modules and exits (Node + tsx + modules overhead)
 *   node --import tsx bench/io-child.ts fixq <model.onnx> <out.onnx>
 *       loadModel + saveModel(externalData: "keep")
 *   node --import tsx bench/io-child.ts ort <model.onnx>
 *       InferenceSession.create (onnxruntime-node is loaded only in this mode)
 *   node --import tsx bench/io-child.ts generate <out.onnx> <MB>
 *       writes the generated MLP (saveModel with externalData {threshold: 1024})
 *
 * Prints one JSON line: {"mode", "maxRssKB", "hwmKB", "ms"}.
 * - maxRssKB: process.resourceUsage().maxRSS (getrusage ru_maxrss). On Linux it
 *   is at least the *parent's* RSS at spawn time (the kernel carries the
 *   pre-exec address space's RSS into ru_maxrss across execve), so a big parent
 *   inflates it.
 * - hwmKB: VmHWM from /proc/self/status (Linux only): the peak RSS of this
 *   process's own address space, which starts fresh at exec. undefined elsewhere.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { loadModel } from "../src/ir/onnx/load.js";
import { saveModel } from "../src/ir/onnx/save.js";

function vmHwmKB(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const [mode, a, b] = process.argv.slice(2);
  let ms = 0;
  if (mode === "fixq") {
    if (!a || !b) throw new Error("usage: fixq <model.onnx> <out.onnx>");
    const t0 = performance.now();
    saveModel(loadModel(a), b, { externalData: "keep" });
    ms = performance.now() - t0;
  } else if (mode === "ort") {
    if (!a) throw new Error("usage: ort <model.onnx>");
    const ort = await import("onnxruntime-node");
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(a);
    ms = performance.now() - t0;
    await session.release();
  } else if (mode === "generate") {
    if (!a || !b) throw new Error("usage: generate <out.onnx> <MB>");
    const { buildBigModel } = await import("./mlp-model.js");
    const t0 = performance.now();
    saveModel(buildBigModel(Number(b) * 1e6), a, { externalData: { threshold: 1024 } });
    ms = performance.now() - t0;
  } else if (mode !== "baseline") {
    throw new Error(`unknown mode '${mode}'`);
  }
  process.stdout.write(`${JSON.stringify({ mode, maxRssKB: process.resourceUsage().maxRSS, hwmKB: vmHwmKB(), ms })}\n`);
}

await main();
