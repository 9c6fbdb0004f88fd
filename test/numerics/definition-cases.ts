/**
 * Inputs for checking numerics' printable definitions (definitions.ts)
 * against numerics' own functions: edges (0, ±1, int32 limits, ties,
 * every shift class) and random values, each with the expected result from
 * the numerics function (requantize, rescale, quantizeValue, roundHalfEven).
 */
import { roundHalfEven } from "../../src/numerics/int.js";
import { quantizeValue } from "../../src/numerics/int-group.js";
import { INT32_MAX, INT32_MIN, type RequantRounding, requantize } from "../../src/numerics/requant.js";
import { rescale } from "../../src/numerics/rescale.js";
import { Rng } from "../helpers/prng.js";

export interface Case {
  readonly args: Readonly<Record<string, number>>;
  /** The numerics function's result, or "throws" where it refuses the input. */
  readonly expected: number | "throws";
}

const attempt = (f: () => number): number | "throws" => {
  try {
    return f();
  } catch {
    return "throws";
  }
};

export function roundCases(): Case[] {
  const rng = new Rng(11);
  const xs = [0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, 2 ** 52 - 0.5, 2 ** 53, -(2 ** 52) + 0.5, 1e308, -1e-300, Number.NaN, Infinity, -Infinity, 4503599627370495.5];
  for (let i = 0; i < 2000; i++) xs.push(rng.chance(0.5) ? (rng.float() - 0.5) * 2 ** rng.range(0, 60) : rng.range(-1000, 1000) + 0.5);
  return xs.map((v) => ({ args: { v }, expected: roundHalfEven(v) }));
}

const ACC_EDGES = [0, 1, -1, 2, -2, INT32_MIN, INT32_MAX, INT32_MIN + 1, 2 ** 20, -(2 ** 20), 12345, -12345];

export function requantCases(rounding: RequantRounding): Case[] {
  const rng = new Rng(rounding === "single" ? 21 : 22);
  const shifts = rounding === "single" ? [-22, -5, 0, 1, 2, 15, 16, 17, 18, 30, 31, 32, 45, 62, 63, 64, 70] : [1, 5, 20, 29, 30, 31, 32, 40, 55, 61, 62];
  const ms = [0, 1, 2 ** 30, 2 ** 31 - 1, 2 ** 30 + 1, 3 * 2 ** 29, 65535, 65536];
  const out: Case[] = [];
  const add = (acc: number, m: number, s: number) => {
    const z = rng.range(-10, 10);
    const [lo, hi] = rng.chance(0.5) ? [INT32_MIN, INT32_MAX] : [-128 + z, 127 + z];
    out.push({ args: { acc, m, s, z, lo, hi }, expected: attempt(() => requantize(acc, { m, s }, z, lo, hi, rounding)) });
  };
  for (const s of shifts) for (const m of ms) for (const acc of ACC_EDGES) add(acc, m, s);
  for (let i = 0; i < 4000; i++) {
    const s = rng.pick(shifts);
    const m = rng.chance(0.2) ? rng.range(0, 2 ** 16) : rng.range(2 ** 30, 2 ** 31 - 1);
    // near the ties of the final shift: acc·m ≈ (k + ½)·2^s
    const acc = rng.chance(0.3) ? rng.range(-(2 ** (rng.range(1, 31))), 2 ** rng.range(1, 31)) : rng.range(INT32_MIN, INT32_MAX);
    add(acc, m, s);
  }
  return out;
}

export function rescaleCases(n: number): Case[] {
  const rng = new Rng(30 + n);
  const out: Case[] = [];
  for (let i = 0; i < 1500; i++) {
    const args: Record<string, number> = {};
    const xs: number[] = [];
    const zs: number[] = [];
    const ms: number[] = [];
    for (let k = 0; k < n; k++) {
      const x = rng.range(-32768, 32767);
      const z = rng.range(-128, 255);
      const m = rng.chance(0.1) ? 0 : rng.range(0, 2 ** rng.range(1, 30));
      xs.push(x);
      zs.push(z);
      ms.push(m);
      Object.assign(args, { [`x${k}`]: x, [`z${k}`]: z, [`m${k}`]: m });
    }
    const s = rng.pick([0, 1, 2, 7, 16, 30, 31, 45, 52]);
    const z = rng.range(-128, 127);
    const [lo, hi] = rng.chance(0.5) ? [-128, 127] : [INT32_MIN, INT32_MAX];
    Object.assign(args, { s, z, lo, hi });
    out.push({ args, expected: rescale(xs, zs, ms, s, z, lo, hi) });
  }
  return out;
}

export function quantizeCases(): Case[] {
  const rng = new Rng(41);
  const out: Case[] = [];
  for (let i = 0; i < 3000; i++) {
    const scale = Math.fround(2 ** (rng.float() * 20 - 15));
    const z = rng.range(-128, 255);
    const x = rng.chance(0.3) ? Math.fround((rng.range(-300, 300) + 0.5) * scale) : Math.fround((rng.float() - 0.5) * 600 * scale);
    const [qmin, qmax] = rng.pick([
      [0, 255],
      [-128, 127],
      [-32768, 32767],
    ] as const);
    out.push({ args: { x, scale, z, qmin, qmax }, expected: quantizeValue(x, scale, z, qmin, qmax) });
  }
  for (const x of [Number.NaN, Infinity, -Infinity, 0, -0]) out.push({ args: { x, scale: 0.5, z: 3, qmin: 0, qmax: 255 }, expected: quantizeValue(x, 0.5, 3, 0, 255) });
  return out;
}
