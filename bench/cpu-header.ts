/**
 * The header every bench prints first: which CPU measured the figures (model
 * and the features that change ONNX Runtime's integer kernels), so figures
 * from different machines are not compared by mistake. Timings depend on the
 * CPU, and so do integer-kernel accuracies (runtime/cpu-features.ts).
 */
import { availableParallelism, loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { detectCpu } from "../src/runtime/cpu-features.js";

export function printBenchHeader(bench: string): void {
  const cpu = detectCpu();
  console.log(`bench:${bench} — CPU ${cpu.summary}`);
  console.log(`  ${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; node ${process.version}; onnxruntime-node ${ort.env.versions.common}`);
}
