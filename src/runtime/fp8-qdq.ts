/**
 * A workaround for ONNX Runtime 1.30 (CPU) with FP8 activations in QDQ form.
 *
 * Measured: at graph optimization level "extended" or "all", ORT's QDQ
 * fusion turns DequantizeLinear → Conv/Gemm/MatMul → QuantizeLinear with
 * FLOAT8 types into QLinearConv / QGemm / QLinearMatMul /
 * MatMulIntegerToFloat, which have no FP8 kernels, and refuses the model
 * ("Type 'tensor(float8e4m3fn)' of input parameter … is invalid"). With that
 * fusion switched off (session.disable_quant_qdq = 1) the extended level
 * loads the model but computes wrong outputs. Even "basic" changes the
 * model: its bias quantization rewrites every float bias of a layer whose
 * input and weight come from DequantizeLinear into int32 at scale s_x·s_w, an
 * integer-format assumption; with FP8 scales (E5M2: amax/57344) that product
 * is tiny and the biases saturate (bundled CNN, E5M2 W8A8: top-1 87.6% at
 * "basic" against 89.5% as written). Only "disabled" runs the Q/DQ nodes as
 * written, which is exactly the ONNX semantics. FP8 weights alone
 * (DequantizeLinear on constants, float activations) are unaffected.
 *
 * Mixed formats (a recipe's `layers` rules) meet the same fusion: an FP8
 * weight (DequantizeLinear on an FP8 constant) read by a layer whose input is
 * an integer QuantizeLinear → DequantizeLinear pair is fused into QGemm and
 * refused the same way (measured, bundled CNN with FP8 fc1 weights and uint8
 * activations).
 *
 * So a model with a QuantizeLinear to an FP8 type, or with FP8 weights next
 * to integer activations, runs with optimizations disabled; test/runtime/fp8-qdq.test.ts pins the ORT behaviour, so a fixed
 * ORT shows up there.
 */
import { attrInt } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import { type Model, walkGraphs } from "../ir/graph.js";

export type OptimizationLevel = "disabled" | "basic" | "extended" | "all";

const FP8 = new Set<number>([DataType.FLOAT8E4M3FN, DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ]);

/**
 * True when some QuantizeLinear of the model produces an FP8 type (its zero
 * point, or output_dtype, says so), or when FP8 constants are dequantized in a
 * model that also has integer QuantizeLinear nodes (mixed formats).
 */
export function hasFp8QuantizeLinear(model: Model): boolean {
  if (!model.graph) return false;
  for (const [g] of walkGraphs(model.graph)) {
    const fp8Inits = new Set(g.initializers.filter((t) => FP8.has(t.dtype)).map((t) => t.name));
    let fp8Weights = false;
    let intQuantize = false;
    for (const n of g.nodes) {
      if (n.opType === "DequantizeLinear" && fp8Inits.has(n.inputs[0] ?? "")) fp8Weights = true;
      if (n.opType !== "QuantizeLinear") continue;
      const out = attrInt(n, "output_dtype");
      if (fp8Inits.has(n.inputs[2] ?? "") || (out !== undefined && FP8.has(Number(out)))) return true;
      intQuantize = true;
    }
    if (fp8Weights && intQuantize) return true;
  }
  return false;
}

/** The optimization level ORT runs `model` correctly at: "disabled" for FP8 QDQ (see above), else `level`. */
export function safeOptimization(model: Model, level: OptimizationLevel): OptimizationLevel {
  return level !== "disabled" && hasFp8QuantizeLinear(model) ? "disabled" : level;
}
