/**
 * Weight rounding: choosing the integer code of every element of every
 * quantized constant (weights, constant operands, int32 biases). The QDQ
 * writer writes exactly these codes; it never rounds on its own.
 *
 * Nearest rounding, the default, is QuantizeLinear's arithmetic:
 *   q = clamp(round_half_even(w / s) + z, qmin, qmax)
 * per scale group (weights.ts, numerics/int-group.ts), and for float formats
 * (FP8, MX, NVFP4) the element code nearest to w / s (float-weights.ts).
 * Learned rounding (AdaRound, GPTQ) will be other implementations of the same
 * stage, choosing per weight between ⌊w/s⌋ and ⌈w/s⌉; the writer and the
 * bias correction after it need no change.
 */
import type { Graph } from "../ir/graph.js";
import { constantTensors } from "../ir/infer-types.js";
import type { QuantSpec } from "../ir/quant.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { quantizeWithSpec } from "./weights.js";

/** Codes by constant value name. */
export type WeightCodes = Map<string, Int32Array>;

/** The nearest code of every element of constant `t` under `spec`. */
export function nearestCodes(t: Tensor, spec: QuantSpec): Int32Array {
  return quantizeWithSpec(tensorToFloat64(t), t.dims.map(Number), spec);
}

/**
 * Nearest codes for the constants of `g` that carry a spec and have no code
 * in `have` yet (`only`, when given, limits which values). Dynamic block
 * specs (activations) have no codes.
 */
export function roundNearest(g: Graph, have: ReadonlyMap<string, Int32Array> = new Map(), only?: (value: string) => boolean): WeightCodes {
  const out: WeightCodes = new Map();
  const consts = constantTensors(g);
  for (const [v, spec] of g.quant ?? []) {
    const c = consts.get(v);
    if (!c || have.has(v) || spec.kind === "dynamic-block" || (only && !only(v))) continue;
    out.set(v, nearestCodes(c, spec));
  }
  return out;
}
