/**
 * The warning for fixed-point activations whose calibrated range leaves the
 * format's range under a wrap mode: a fixed<W,I> value holds
 *   signed    [−2^(I−1), 2^(I−1) − 2^(I−W)]      unsigned  [0, 2^I − 2^(I−W)]
 * and under AP_WRAP / AP_WRAP_SM a value past it keeps only its low W bits,
 * i.e. lands on the other side of the range (8.99 in fixed<8,4> → −7.01).
 * The SAT modes clamp instead (no warning), and fixed<W> chooses I from the
 * calibrated range (never past it). One line per tensor, naming it, its
 * calibrated range and the format's.
 */
import type { QuantSpec } from "../ir/quant.js";
import { fixedTypeName } from "../numerics/fixed.js";

export function fixedWrapWarnings(ranges: ReadonlyMap<string, { lo: number; hi: number }>, specs: ReadonlyMap<string, QuantSpec>): string[] {
  const out: string[] = [];
  for (const [tensor, r] of ranges) {
    const spec = specs.get(tensor);
    if (spec?.kind !== "affine" || !spec.fixed) continue;
    const t = spec.fixed;
    if (t.overflow !== "AP_WRAP" && t.overflow !== "AP_WRAP_SM") continue;
    const step = 2 ** (t.intBits - t.bits);
    const lo = t.signed ? -(2 ** (t.intBits - 1)) : 0;
    const hi = (t.signed ? 2 ** (t.intBits - 1) : 2 ** t.intBits) - step;
    if (r.lo >= lo && r.hi <= hi) continue;
    out.push(
      `activation '${tensor}': calibrated range [${r.lo.toPrecision(4)}, ${r.hi.toPrecision(4)}] exceeds ${fixedTypeName(t)}'s [${lo}, ${hi}] under ${t.overflow}: values past it wrap to the other side (use more integer bits, fixed<${t.bits}> to choose them from the range, or SAT)`,
    );
  }
  return out;
}
