/**
 * Weight scales widened so that a layer's bias fits int32 at the
 * accumulator's scale.
 *
 * An integer Conv/Gemm adds its bias as b_q[c] = round(b[c] / (f·s_x·s_w[c]))
 * (f = α/|β| for a Gemm, else 1) into an int32 accumulator; ONNX Runtime's
 * integer kernels and fixq's integer lowering both need exactly that scale.
 * A near-dead output channel (weights ~1e-35 left by training, PaddleOCR's
 * detector has one) has a per-channel s_w so fine that |b_q| passes 2³¹ − 1
 * for any bias. Such a channel's scale is raised to the smallest that holds
 * its bias, with 1/64 of headroom for bias correction:
 *
 *   s_w'[c] = max(s_w[c], fround(|b[c]| · (1 + 2⁻⁶) / (f · s_x · (2³¹ − 1))))
 *
 * The codes of that channel shrink (they are chosen after this, on the new
 * grid), which costs nothing that matters: where the bias needs 2³¹ steps,
 * the weights' whole contribution, at most K·q_max,w·q_max,x steps, is a
 * fraction K·127·255 / 2³¹ ≈ K / 66,000 of it.
 *
 * Only where ONNX Runtime has integer kernels and the bias is the reason a
 * model would not lower: weights and input activations of at most 8 bits,
 * symmetric integer weights with one scale per output channel or per tensor
 * (not blocks, not fixed-point powers of two). Wider formats keep their
 * weights' precision; their bias gets a wider scale instead (specs.ts
 * biasScales), which ONNX Runtime runs in float and fixq's integer lowering
 * refuses in one line.
 */
import type { AffineQuant, QuantSpec } from "../ir/quant.js";
import { tensorToFloat64, type Tensor } from "../ir/tensor.js";

const INT32_MAX = 2 ** 31 - 1;
const HEADROOM = 1 + 2 ** -6;

/** The channels whose scale was raised, by index; empty when none needed it or the layer does not qualify. */
export function widenWeightScalesForBias(weight: QuantSpec, outScale: Float32Array, input: QuantSpec | undefined, bias: Tensor | undefined, factor: number): number[] {
  if (!bias || input?.kind !== "affine" || weight.kind !== "affine") return [];
  if (!qualifies(weight, outScale, input)) return [];
  const b = tensorToFloat64(bias);
  const sx = factor * input.scale[0]!;
  const widened: number[] = [];
  for (let c = 0; c < b.length; c++) {
    const k = weight.scale.length === 1 ? 0 : c;
    const need = (Math.abs(b[c]!) * HEADROOM) / (sx * INT32_MAX);
    if (!(weight.scale[k]! < need) || !Number.isFinite(need)) continue;
    let s = Math.fround(need);
    if (s < need) s = Math.fround(need * (1 + 2 ** -23));
    weight.scale[k] = s;
    widened.push(c);
  }
  return widened;
}

/** At most 8-bit symmetric weights whose bias scale is their own scale (per channel or per tensor), 8-bit-or-narrower input. */
function qualifies(weight: AffineQuant, outScale: Float32Array, input: AffineQuant): boolean {
  if (weight.fixed || input.fixed || weight.format.bits > 8 || input.format.bits > 8 || input.scale.length !== 1) return false;
  if (weight.scale !== outScale || weight.zeroPoint.some((z) => z !== 0)) return false;
  return true;
}
