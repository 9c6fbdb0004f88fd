/**
 * The warning for fixed-point activations whose calibrated range leaves the
 * format's range under a wrap mode: a fixed<W,I> value holds
 *   signed    [−2^(I−1), 2^(I−1) − 2^(I−W)]      unsigned  [0, 2^I − 2^(I−W)]
 * and under AP_WRAP / AP_WRAP_SM a value past it keeps only its low W bits,
 * i.e. lands on the other side of the range (8.99 in fixed<8,4> → −7.01).
 * The SAT modes clamp instead (no warning), and fixed<W> chooses I from the
 * calibrated range (never past it). One line per tensor, naming it, its
 * calibrated range and the format's. Fixed-point weights get the same line
 * from their values, and also when an unsigned type zeroes negative weights.
 */
import type { Model } from "../ir/graph.js";
import type { QuantSpec } from "../ir/quant.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { fixedTypeName } from "../numerics/fixed.js";

export function fixedWrapWarnings(ranges: ReadonlyMap<string, { lo: number; hi: number }>, specs: ReadonlyMap<string, QuantSpec>): string[] {
  return rangeWarnings(ranges, specs, "activation", "calibrated range");
}

/**
 * The same line for fixed-point weights, from their float values (the
 * model after the float passes, the values the codes come from): a weight
 * past fixed<W,I>'s range under a wrap mode lands on the other side of it
 * (fixed<8,0> turns −0.86 into +0.14), and negative weights in an unsigned
 * type (ufixed) become 0 under SAT whatever their size; one line per weight.
 */
export function fixedWeightWarnings(model: Model, specs: ReadonlyMap<string, QuantSpec>): string[] {
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const t of model.graph?.initializers ?? []) {
    if (t.name === undefined) continue;
    const spec = specs.get(t.name);
    if (spec?.kind !== "affine" || !spec.fixed) continue;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of tensorToFloat64(t)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (lo <= hi) ranges.set(t.name, { lo, hi });
  }
  return rangeWarnings(ranges, specs, "weight", "range");
}

function rangeWarnings(ranges: ReadonlyMap<string, { lo: number; hi: number }>, specs: ReadonlyMap<string, QuantSpec>, what: "activation" | "weight", word: string): string[] {
  const out: string[] = [];
  for (const [tensor, r] of ranges) {
    const spec = specs.get(tensor);
    if (spec?.kind !== "affine" || !spec.fixed) continue;
    const t = spec.fixed;
    const step = 2 ** (t.intBits - t.bits);
    const lo = t.signed ? -(2 ** (t.intBits - 1)) : 0;
    const hi = (t.signed ? 2 ** (t.intBits - 1) : 2 ** t.intBits) - step;
    if (r.lo >= lo && r.hi <= hi) continue;
    const head = `${what} '${tensor}': ${word} [${r.lo.toPrecision(4)}, ${r.hi.toPrecision(4)}] exceeds ${fixedTypeName(t)}'s [${lo}, ${hi}]`;
    const wrap = t.overflow === "AP_WRAP" || t.overflow === "AP_WRAP_SM";
    if (what === "weight" && !t.signed && r.lo < 0) out.push(`${head}: its negative values ${wrap ? "wrap to large positive ones" : "become 0"} under ${t.overflow} (signed weights need fixed<…>, not ufixed<…>)`);
    else if (wrap) out.push(`${head} under ${t.overflow}: values past it wrap to the other side (use more integer bits, fixed<${t.bits}> to choose them from the range, or SAT)`);
  }
  return out;
}
