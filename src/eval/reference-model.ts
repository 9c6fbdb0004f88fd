/**
 * REF prepared the way `fixq quantize` prepared the float model CAND came
 * from, so that ONNX Runtime runs REF wherever it runs CAND:
 *
 * - initializers also listed as graph inputs (IR < 4 exports) become plain
 *   constants (passes/initializer-inputs.ts), so the data feeds only the
 *   data inputs;
 * - a default-domain opset below CAND's is raised to CAND's
 *   (passes/upgrade-opset.ts, a faithful version conversion): quantize
 *   upgrades its input to the opset the formats need, and old opsets may have
 *   no kernel in ONNX Runtime at all (Gemm-6 of a torch 0.3 export).
 *
 * REF's function is unchanged by both. An opset REF cannot be upgraded to
 * (an op fixq's converter refuses) leaves REF at its own opset, as before.
 */
import { FixqError } from "../ir/errors.js";
import { type Model, opsetVersion } from "../ir/graph.js";
import { initializersAsConstants } from "../passes/initializer-inputs.js";
import { MAX_UPGRADE_OPSET, upgradeOpset } from "../passes/upgrade-opset.js";

/** `ref` with initializer inputs as constants and its ai.onnx opset raised to `cand`'s where that is higher. */
export function referenceLikeCandidate(ref: Model, cand: Model): Model {
  const constant = ref.graph ? { ...ref, graph: initializersAsConstants(ref.graph).graph } : ref;
  const have = opsetVersion(constant);
  const target = Math.min(opsetVersion(cand) ?? 0, MAX_UPGRADE_OPSET);
  if (have === undefined || have >= target) return constant;
  try {
    return upgradeOpset(constant, target);
  } catch (e) {
    if (e instanceof FixqError && e.code === "unsupported") return constant;
    throw e;
  }
}
