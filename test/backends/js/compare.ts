/**
 * Bit-for-bit comparison of back-end results, and input data with the
 * extremes that matter: quantization ties, saturation, ±0, ±Infinity, NaN,
 * float32 extremes and subnormals.
 */
import type { Rng } from "../../helpers/prng.js";

/** 32-bit words that differ (floats compared by bit pattern: −0 ≠ +0, NaN payloads count); a length mismatch counts every word. */
export function mismatches(a: Int32Array | Float32Array, b: Int32Array | Float32Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++;
  return n;
}

export interface Results {
  outputs: ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>;
  ints: ReadonlyMap<string, Int32Array> | Readonly<Record<string, Int32Array>>;
}

function get<T>(m: ReadonlyMap<string, T> | Readonly<Record<string, T>>, k: string): T | undefined {
  return m instanceof Map ? m.get(k) : (m as Record<string, T>)[k];
}

/** Mismatching words per output, floats and ints, between two results; outputs missing from either count fully. */
export function resultMismatches(a: Results, b: Results, names: readonly string[]): { floats: number; ints: number; compared: number } {
  let floats = 0;
  let ints = 0;
  let compared = 0;
  for (const n of names) {
    const [fa, fb, ia, ib] = [get(a.outputs, n), get(b.outputs, n), get(a.ints, n), get(b.ints, n)];
    if (!fa || !fb || !ia || !ib) throw new Error(`output '${n}' missing from a result`);
    floats += mismatches(fa, fb);
    ints += mismatches(ia, ib);
    compared += fa.length;
  }
  return { floats, ints, compared };
}

/** Float32 values around a quantizer: uniform over a margin past its range, exact ties, and special values. */
export function floatInputs(rng: Rng, n: number, scale: number, zeroPoint: number, qmin: number, qmax: number): Float32Array {
  const specials = [0, -0, Infinity, -Infinity, Number.NaN, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, 1.1754942e-38];
  const lo = (qmin - zeroPoint - 4) * scale;
  const hi = (qmax - zeroPoint + 4) * scale;
  return Float32Array.from({ length: n }, () => {
    const r = rng.float();
    if (r < 0.05) return rng.pick(specials);
    if (r < 0.25) return (rng.range(qmin - zeroPoint - 3, qmax - zeroPoint + 3) + 0.5) * scale; // a tie (or its float32 neighbour)
    if (r < 0.3) return rng.range(qmin - zeroPoint - 3, qmax - zeroPoint + 3) * scale;
    if (r < 0.33) return (rng.chance(0.5) ? 1 : -1) * 2 ** rng.range(-140, 127);
    return lo + rng.float() * (hi - lo);
  });
}

/** Integers in [lo, hi]: uniform, with runs of the extremes and zero. */
export function intInputs(rng: Rng, n: number, lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => {
    const r = rng.float();
    if (r < 0.1) return lo;
    if (r < 0.2) return hi;
    if (r < 0.25) return Math.max(lo, Math.min(hi, 0));
    return lo + Math.floor(rng.float() * (hi - lo + 1));
  });
}
