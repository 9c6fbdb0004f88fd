/**
 * Initializers listed as graph inputs. Before IR 4 every initializer had to be
 * a graph input too (old torch.onnx exports, the first ONNX model zoo models);
 * by the ONNX spec such an initializer is a default value a caller may
 * override, so the float passes, which rewrite constants only, leave those
 * layers alone (no BN folding, equalization or bias correction). Quantizing
 * fixes the weights anyway, so quantize treats them as the constants they
 * are meant to be: they leave the graph's inputs (the rewrite ONNX Runtime's
 * remove_initializer_from_input script makes; IR ≥ 4 allows it, and the
 * quantized model is written at a newer IR) and it takes its data inputs only.
 */
import type { Graph } from "../ir/graph.js";

/** `g` without the graph inputs that name an initializer, and how many went (the same graph when none). */
export function initializersAsConstants(g: Graph): { graph: Graph; removed: readonly string[] } {
  const inits = new Set(g.initializers.map((t) => t.name));
  const removed = g.inputs.filter((v) => inits.has(v.name)).map((v) => v.name);
  if (removed.length === 0) return { graph: g, removed };
  return { graph: { ...g, inputs: g.inputs.filter((v) => !inits.has(v.name)) }, removed };
}

/** The note quantize prints when it dropped such inputs. */
export function initializerInputsNote(removed: readonly string[]): string {
  const n = removed.length;
  return `${n} initializer${n === 1 ? " is" : "s are"} also listed as graph input${n === 1 ? "" : "s"} (an IR < 4 export, e.g. '${removed[0]}'): quantized as constants, so the written model no longer takes ${n === 1 ? "it" : "them"} as input${n === 1 ? "" : "s"}`;
}
