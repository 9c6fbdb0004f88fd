/**
 * Encode test inputs for a float format: every finite code value, every
 * midpoint between adjacent values (continued past max with the top binade's
 * spacing for four steps), the float32 neighbours (±1 ulp) of each,
 * both signs, zeros, infinities, NaNs, float32 subnormals, far out-of-range
 * values, then seeded random values (random float32 bit patterns, and
 * log-uniform magnitudes over the format's range) up to `total`.
 */
import type { FloatFormat } from "../../src/numerics/float-format.js";
import { decodeFloat } from "../../src/numerics/float-codec.js";
import { Rng } from "../helpers/prng.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsOf(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

function fromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}

/** The positive finite values of the format (and 0 when it has zero), ascending. */
export function positiveGrid(fmt: FloatFormat): number[] {
  const set = new Set<number>();
  for (let c = 0; c < 2 ** fmt.bits; c++) {
    const v = decodeFloat(fmt, c);
    if (Number.isFinite(v) && v >= 0) set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

export const SPECIAL_BITS = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff, 0x7fc00123,
  0x00000001, 0x00000002, 0x00400000, 0x00400001, 0x005fffff, 0x00600000, 0x007fffff, 0x00800000, 0x7f7fffff, 0x7f000000,
];

export function boundaryInputs(fmt: FloatFormat, total: number, seed: number): Float32Array {
  const grid = positiveGrid(fmt);
  const top = grid[grid.length - 1]!;
  const ulp = top - grid[grid.length - 2]!;
  const beyond = top + ulp;
  // past max: a few more steps of the top binade's spacing, then far out
  const past = [1, 2, 3, 4].map((k) => top + k * ulp).concat([2 * beyond, 4 * beyond]);
  const ext = [...grid, ...past].filter((v) => Number.isFinite(Math.fround(v)));
  const points: number[] = [];
  for (let i = 0; i < ext.length; i++) {
    points.push(ext[i]!);
    if (i + 1 < ext.length) points.push((ext[i]! + ext[i + 1]!) / 2);
  }
  points.push(grid[1]! / 4);
  const out: number[] = [];
  for (const p of points) {
    const b = bitsOf(p);
    for (const q of [b, b + 1, b - 1]) {
      if (q < 0) continue;
      out.push(fromBits(q), fromBits(q | 0x80000000));
    }
  }
  for (const b of SPECIAL_BITS) out.push(fromBits(b), fromBits(b ^ 0x80000000));
  for (const v of [1e6, 1e10, 1e30, 3.4028234663852886e38]) out.push(v, -v);
  const x = new Float32Array(Math.max(total, out.length));
  x.set(out);
  const rng = new Rng(seed);
  const bits = new Uint32Array(x.buffer);
  const lo = Math.log2(Math.max(fmt.minSubnormal / 4, 1e-45));
  const hi = Math.log2(Math.min(beyond * 2, 3e38));
  for (let i = out.length; i < x.length; i++) {
    if (i % 4 === 0) bits[i] = rng.u32();
    else x[i] = (rng.chance(0.5) ? -1 : 1) * 2 ** (lo + (hi - lo) * rng.float());
  }
  return x;
}

/** Same float32, NaN matching any NaN; +0 and −0 differ. */
export function sameFloat32(a: number, b: number): boolean {
  return Number.isNaN(a) ? Number.isNaN(b) : Object.is(a, b);
}

/** Indices where two float arrays differ by sameFloat32, at most `limit`. */
export function float32Mismatches(x: Float32Array, a: Float32Array, b: Float32Array, limit = 5): string[] {
  const bad: string[] = [];
  for (let i = 0; i < a.length && bad.length < limit; i++) {
    if (!sameFloat32(a[i]!, b[i]!)) bad.push(`x=${x[i]} (0x${bitsOf(x[i]!).toString(16)}): ${a[i]} vs ${b[i]}`);
  }
  return bad;
}
