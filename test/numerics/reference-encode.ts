/**
 * Encoders written from the definitions, slow and independent of the bit
 * tricks in src/numerics: search the sorted list of code values for the
 * nearest one, then apply ONNX Cast's table for out-of-range values.
 */
import type { FloatFormat, RoundMode } from "../../src/numerics/float-format.js";
import { decodeFloat } from "../../src/numerics/float-codec.js";

interface Grid {
  values: number[]; // non-negative finite values, ascending, then the virtual value above max
  codes: number[];
}

const grids = new Map<string, Grid>();

function gridOf(fmt: FloatFormat): Grid {
  let g = grids.get(fmt.name);
  if (!g) {
    const pairs: [number, number][] = [];
    for (let c = 0; c < 2 ** fmt.bits; c++) {
      const v = decodeFloat(fmt, c);
      if (Number.isFinite(v) && Object.is(Math.abs(v), v)) pairs.push([v, c]); // +0 only, not −0
    }
    pairs.sort((a, b) => a[0] - b[0]);
    const [prev, top] = [pairs[pairs.length - 2]!, pairs[pairs.length - 1]!];
    pairs.push([top[0] + (top[0] - prev[0]), top[1] + 1]); // the code after max, were it finite
    g = { values: pairs.map((p) => p[0]), codes: pairs.map((p) => p[1]) };
    grids.set(fmt.name, g);
  }
  return g;
}

/** Index of the nearest grid value to a ≥ 0 (ties to the even code), or −1 when `a` rounds above max. */
function nearestEven(g: Grid, a: number): number {
  let lo = 0;
  let hi = g.values.length - 1;
  if (a >= g.values[hi]!) return -1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (g.values[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - g.values[lo]!;
  const dHi = g.values[hi]! - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : g.codes[lo]! % 2 === 0 ? lo : hi;
  return pick === g.values.length - 1 ? -1 : pick;
}

/** ONNX Cast float32 → minifloat code, from its tables (NaN for FP4/FP6: fixq's choice, +max). */
export function referenceMinifloat(fmt: FloatFormat, x: number, saturate: boolean): number {
  if (Number.isNaN(x)) throw new Error("referenceMinifloat: NaN is checked separately");
  const s = fmt.signBit;
  const neg = x < 0 || Object.is(x, -0);
  const g = gridOf(fmt);
  const i = Number.isFinite(x) ? nearestEven(g, Math.abs(x)) : -1;
  if (i >= 0) {
    const mag = g.codes[i]!;
    if (mag === 0 && neg) return fmt.hasNegativeZero ? s : 0;
    return neg ? s | mag : mag;
  }
  const sat = fmt.saturation === "always" || (fmt.saturation === "flag" && saturate);
  if (sat) return neg ? s | fmt.maxCode : fmt.maxCode;
  if (fmt.hasInf) return (neg ? s : 0) | (fmt.maxCode + 1); // ±Inf
  if (fmt.specials === "fnuz") return s; // the one NaN
  return (neg ? s : 0) | (fmt.maxCode + 1); // fn: ±NaN
}

/** ONNX Cast-24 float32 → E8M0 from its table and the round_mode definitions. */
export function referenceE8m0(x: number, round: RoundMode, saturate: boolean): number {
  if (Number.isNaN(x)) return 0xff;
  if (x > 2 ** 127) return saturate ? 0xfe : 0xff;
  if (x < 2 ** -127 || Object.is(x, -0)) return saturate ? 0 : 0xff;
  let k = Math.floor(Math.log2(x));
  while (2 ** k > x) k--;
  while (2 ** (k + 1) <= x) k++;
  const lo = 2 ** k;
  const hi = 2 * lo;
  let p: number;
  if (x === lo || round === "down") p = k;
  else if (round === "up") p = k + 1;
  else p = x - lo < hi - x ? k : k + 1; // nearest, ties up
  return p + 127;
}
