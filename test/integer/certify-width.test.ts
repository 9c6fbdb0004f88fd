/**
 * The chosen width is minimal: the range fits in w bits and not in w − 1,
 * checked against a brute-force width search on random ranges (edges at
 * powers of two included) and on the rows of random certificates.
 */
import { describe, expect, it } from "vitest";
import { certifyProgram } from "../../src/integer/certify.js";
import { bitLength, signedWidth, unsignedWidth } from "../../src/integer/certify-width.js";
import type { DenseOp, QuantizeOp } from "../../src/integer/program.js";
import { Rng } from "../helpers/prng.js";
import { program, val } from "./certify-helpers.js";

const fitsSigned = (lo: number, hi: number, w: number) => w >= 1 && lo >= -(2 ** (w - 1)) && hi <= 2 ** (w - 1) - 1;
const fitsUnsigned = (lo: number, hi: number, w: number) => w >= 1 && lo >= 0 && hi <= 2 ** w - 1;

function bruteWidth(fits: (w: number) => boolean): number {
  let w = 1;
  while (!fits(w)) w++;
  return w;
}

/** A random integer of random magnitude up to 2^52, often next to a power of two. */
function randomInt(rng: Rng): number {
  const e = rng.range(0, 52);
  const v = rng.chance(0.5) ? 2 ** e + rng.range(-2, 1) : Math.floor(rng.float() * 2 ** e);
  return rng.chance(0.5) ? -v : v;
}

describe("minimal widths", () => {
  it("signedWidth fits in w bits and not in w − 1, on random ranges", () => {
    const rng = new Rng(71);
    for (let t = 0; t < 8000; t++) {
      let [lo, hi] = [randomInt(rng), randomInt(rng)];
      if (lo > hi) [lo, hi] = [hi, lo];
      const w = signedWidth(lo, hi);
      expect(w).toBe(bruteWidth((b) => fitsSigned(lo, hi, b)));
      expect(fitsSigned(lo, hi, w)).toBe(true);
      if (w > 1) expect(fitsSigned(lo, hi, w - 1)).toBe(false);
    }
  });

  it("unsignedWidth and bitLength agree with the search, at the powers of two", () => {
    const rng = new Rng(72);
    for (let t = 0; t < 5000; t++) {
      let [lo, hi] = [Math.abs(randomInt(rng)), Math.abs(randomInt(rng))];
      if (lo > hi) [lo, hi] = [hi, lo];
      expect(unsignedWidth(lo, hi)).toBe(bruteWidth((b) => fitsUnsigned(lo, hi, b)));
    }
    for (let e = 0; e < 53; e++) {
      for (const n of [2 ** e - 1, 2 ** e, 2 ** e + 1]) expect(bitLength(n)).toBe(bruteWidth((b) => n < 2 ** b) - (n === 0 ? 1 : 0));
    }
    expect([signedWidth(0, 0), signedWidth(-1, 0), signedWidth(-1, 1), signedWidth(-128, 127), signedWidth(-129, 0), signedWidth(0, 128)]).toEqual([1, 1, 2, 8, 9, 9]);
  });

  it("certificate rows carry the minimal width of their range", () => {
    const rng = new Rng(73);
    const quant: QuantizeOp = { kind: "quantize", source: "q", input: "x", output: "q", scale: 1, zeroPoint: 0, qmin: -128, qmax: 127 };
    for (let t = 0; t < 200; t++) {
      const k = rng.range(1, 64);
      const mag = 2 ** rng.range(0, 15);
      const op: DenseOp = {
        kind: "dense",
        source: "fc",
        input: "q",
        output: "acc",
        inputZero: rng.range(-128, 127),
        weight: Int32Array.from({ length: 2 * k }, () => rng.range(-mag, mag)),
        inFeatures: k,
        outFeatures: 2,
        bias: Int32Array.from({ length: 2 }, () => rng.range(-1000, 1000)),
      };
      const cert = certifyProgram(program([k], [val("q", [k], 8), val("acc", [2])], [quant, op]));
      for (const row of cert.rows) {
        const { lo, hi } = row.range;
        const fits = row.signed ? fitsSigned : fitsUnsigned;
        expect(fits(lo, hi, row.width)).toBe(true);
        expect(fits(lo, hi, row.width - 1)).toBe(false);
        expect(row.headroom).toBe(row.storage - row.width);
      }
    }
  });
});
