/**
 * Weight-only int8 QDQ → dynamic uint8 activations, the graph ONNX Runtime's
 * `quantize_dynamic` writes (transformers.js `q8`), for each MatMul (or Gemm
 * with transA = 0, alpha = beta = 1) whose weight is DequantizeLinear of a
 * constant int8 tensor, symmetric, per tensor or per output channel:
 *   (a_q, s_a, z_a) = DynamicQuantizeLinear(A)          uint8, per tensor, asymmetric, at run time
 *   acc = MatMulInteger(a_q, w + 128, z_a, 128)          = Σ (a_q − z_a)·w, int32
 *   Y   = float(acc) · (s_a · s_w[n])  (+ bias)
 * The weight is stored as uint8 w + 128 under zero point 128: uint8 × uint8
 * MatMulInteger is exact on every CPU, whereas uint8 × int8 saturates int16
 * pair sums on x86 AVX2 without VNNI (backends/onnx-int/emit.ts). ORT's
 * optimizer fuses the four nodes into DynamicQuantizeMatMul where it can.
 * Conv layers keep their weight-only DequantizeLinear.
 */
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Model, Node } from "../ir/graph.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { attrInt } from "../ir/attrs.js";
import { dequantizedLayers, rebuildGraph } from "./dequantized-layers.js";

export interface DynamicMatMulReport {
  readonly rewritten: readonly string[];
  readonly kept: readonly { readonly node: string; readonly reason: string }[];
}

/** Rewrites every eligible MatMul/Gemm; throws if none is eligible. */
export function toDynamicUint8(model: Model): { model: Model; report: DynamicMatMulReport } {
  const g = model.graph;
  if (!g) throw new FixqError("model", "the model has no graph");
  const { layers, kept } = dequantizedLayers(g);
  const rewritten: string[] = [];
  const replace = new Map<Node, Node[]>();
  const added: Tensor[] = [];
  for (const { node: n, name, dq, x, scale: s, zero: z, transB, bias } of layers) {
    const keep = (reason: string) => kept.push({ node: name, reason });
    if (x.dtype !== DataType.INT8 || (z && tensorToFloat64(z).some((v) => v !== 0))) {
      keep("its weight is not symmetric int8 (use --weights int8)");
      continue;
    }
    const dims = x.dims.map(Number);
    const [K, N] = transB ? [dims[1]!, dims[0]!] : [dims[0]!, dims[1]!];
    const scales = tensorToFloat64(s);
    let axis = attrInt(dq, "axis", 1);
    if (axis < 0) axis += dims.length;
    if (dims.length !== 2 || attrInt(dq, "block_size", 0) !== 0 || (scales.length !== 1 && (scales.length !== N || axis !== (transB ? 0 : 1)))) {
      keep("its weight is not a 2-D tensor quantized per tensor or per output channel");
      continue;
    }
    const w = tensorToFloat64(x);
    const u = new Uint8Array(K * N);
    for (let r = 0; r < K; r++) for (let j = 0; j < N; j++) u[r * N + j] = w[transB ? j * K + r : r * N + j]! + 128;
    const base = `${name}_dyn`;
    added.push(
      { name: `${base}_w`, dtype: DataType.UINT8, dims: [K, N], raw: u },
      { name: `${base}_w_zero`, dtype: DataType.UINT8, dims: [], raw: Uint8Array.of(128) },
      makeFloatTensor(`${base}_w_scale`, scales.length === 1 ? [] : [N], scales),
    );
    let k = 0;
    const node = (opType: string, inputs: string[], outputs: string[], attributes: Node["attributes"] = []): Node => ({ name: `${base}/${opType}_${k++}`, opType, inputs, outputs, attributes });
    const y = n.outputs[0]!;
    replace.set(n, [
      node("DynamicQuantizeLinear", [n.inputs[0]!], [`${base}_a_q`, `${base}_a_scale`, `${base}_a_zero`]),
      node("MatMulInteger", [`${base}_a_q`, `${base}_w`, `${base}_a_zero`, `${base}_w_zero`], [`${base}_acc`]),
      node("Cast", [`${base}_acc`], [`${base}_accf`], [{ name: "to", type: 2, i: DataType.FLOAT }]),
      node("Mul", [`${base}_a_scale`, `${base}_w_scale`], [`${base}_scale`]),
      node("Mul", [`${base}_accf`, `${base}_scale`], [bias ? `${base}_y` : y]),
      ...(bias ? [node("Add", [`${base}_y`, bias.name!], [y])] : []),
    ]);
    rewritten.push(name);
  }
  if (rewritten.length === 0) {
    const why = kept[0] ? `: ${kept[0].node} ${kept[0].reason}` : ": it has no MatMul or Gemm with a dequantized constant weight";
    throw new FixqError("unsupported", `--acts dynamic-uint8: no layer can take dynamic activations${why}`);
  }
  return { model: rebuildGraph(model, replace, added), report: { rewritten, kept } };
}
