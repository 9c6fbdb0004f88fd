import { describe, expect, it } from "vitest";
import { allocCodes, decodeFloat, decodeFloats, encodeFloat, encodeFloats } from "../../src/numerics/float-codec.js";
import { FLOAT_FORMATS, floatFormat } from "../../src/numerics/float-formats.js";
import { Rng } from "../helpers/prng.js";

describe("encodeFloats / decodeFloats", () => {
  it("use Uint8Array codes up to 8 bits and Uint16Array codes for fp16/bf16", () => {
    for (const f of FLOAT_FORMATS) {
      const codes = encodeFloats(f, Float32Array.from([1, -2]));
      expect(codes).toBeInstanceOf(f.bits > 8 ? Uint16Array : Uint8Array);
      expect(Array.from(decodeFloats(f, codes))).toEqual(f.name === "e8m0" ? [1, 2 ** -127] : [1, -2]);
      expect(allocCodes(f, 3).constructor).toBe(codes.constructor);
    }
  });

  it("write into given arrays and views with an offset", () => {
    const f = floatFormat("fp8e4m3fn");
    const big = new Float32Array(8).fill(7);
    const x = big.subarray(3, 6);
    x.set([1, 2, 500]);
    const codes = new Uint8Array(5).subarray(1, 4);
    expect(encodeFloats(f, x, { saturate: false }, codes)).toBe(codes);
    expect(Array.from(codes)).toEqual([0x38, 0x40, 0x7f]);
    const out = new Float32Array(6).subarray(2, 5);
    expect(decodeFloats(f, codes, out)).toBe(out);
    expect(Array.from(out.subarray(0, 2))).toEqual([1, 2]);
    expect(Number.isNaN(out[2])).toBe(true);
    expect(Array.from(big)).toEqual([7, 7, 7, 1, 2, 500, 7, 7]);
  });

  it("give the same codes and values through the word-at-a-time and the element-at-a-time paths", () => {
    const rng = new Rng(99);
    for (const f of FLOAT_FORMATS) {
      for (let n = 0; n <= 11; n++) {
        const x = new Float32Array(n);
        const xb = new Uint32Array(x.buffer);
        for (let i = 0; i < n; i++) {
          if (rng.chance(0.5)) xb[i] = rng.u32();
          else x[i] = (rng.float() - 0.5) * 4 * Math.min(f.max, 1e6);
        }
        const aligned = encodeFloats(f, x);
        const shifted = allocCodes(f, n + 1).subarray(1); // byteOffset 1 or 2: never word-aligned
        encodeFloats(f, x, undefined, shifted);
        const one = Array.from(x, (v) => encodeFloat(f, v));
        expect(Array.from(aligned)).toEqual(one);
        expect(Array.from(shifted)).toEqual(one);
        const d1 = Array.from(decodeFloats(f, aligned));
        const d2 = Array.from(decodeFloats(f, shifted));
        expect(d2).toEqual(d1);
        expect(d1).toEqual(one.map((c) => decodeFloat(f, c)));
      }
    }
  });

  it("reject code arrays of the wrong type or length", () => {
    expect(() => encodeFloats(floatFormat("fp16"), new Float32Array(2), undefined, new Uint8Array(2))).toThrow(/Uint16Array/);
    expect(() => encodeFloats(floatFormat("fp8e5m2"), new Float32Array(2), undefined, new Uint8Array(3))).toThrow(/3 elements, expected 2/);
    expect(() => decodeFloats(floatFormat("bf16"), new Uint8Array(2))).toThrow(/Uint16Array/);
  });

  it("reject options the format cannot honour, as named errors instead of silent changes", () => {
    const x = new Float32Array(1);
    expect(() => encodeFloats(floatFormat("fp8e4m3fn"), x, { round: "up" })).toThrow(/no round mode 'up'/);
    expect(() => encodeFloats(floatFormat("e8m0"), x, { round: "nearest-even" })).toThrow(/up, down, nearest/);
    expect(() => encodeFloats(floatFormat("fp4e2m1"), x, { saturate: false })).toThrow(/always saturates/);
    expect(() => encodeFloats(floatFormat("fp16"), x, { saturate: true })).toThrow(/overflows it to ±Inf/);
    expect(() => encodeFloats(floatFormat("fp4e2m1"), x, { saturate: true })).not.toThrow();
    expect(() => encodeFloats(floatFormat("bf16"), x, { saturate: false })).not.toThrow();
  });
});

describe("ONNX Cast semantics, by example", () => {
  const enc = (name: string, x: number, saturate?: boolean) => encodeFloat(floatFormat(name as "fp16"), x, { saturate });
  it("FP8 saturate=1 clamps out-of-range values and ±Inf to ±max, NaN stays NaN", () => {
    expect([enc("fp8e4m3fn", 1e6), enc("fp8e4m3fn", Number.NEGATIVE_INFINITY), enc("fp8e4m3fn", Number.NaN)]).toEqual([0x7e, 0xfe, 0x7f]);
    expect([enc("fp8e5m2", Number.POSITIVE_INFINITY), enc("fp8e5m2fnuz", -1e9), enc("fp8e4m3fnuz", Number.NaN)]).toEqual([0x7b, 0xff, 0x80]);
  });

  it("FP8 saturate=0: NaN for E4M3FN and the FNUZ types, ±Inf for E5M2", () => {
    expect([enc("fp8e4m3fn", 465, false), enc("fp8e4m3fn", -1e6, false), enc("fp8e4m3fnuz", 1e6, false)]).toEqual([0x7f, 0xff, 0x80]);
    expect([enc("fp8e5m2", 61440, false), enc("fp8e5m2", -61439.996, false), enc("fp8e5m2fnuz", Number.POSITIVE_INFINITY, false)]).toEqual([
      0x7c, 0xfb, 0x80,
    ]);
  });

  it("rounds half to even, and ties at max go to whichever neighbour is even", () => {
    expect([enc("fp8e4m3fn", 464, false), enc("fp4e2m1", 5), enc("fp4e2m1", 2.5), enc("fp4e2m1", 0.25), enc("fp4e2m1", 0.75)]).toEqual([
      0x7e, 0x6, 0x4, 0x0, 0x2,
    ]);
  });

  it("FNUZ types have no −0: negative values that round to zero give +0", () => {
    expect([enc("fp8e4m3fnuz", -0), enc("fp8e4m3fnuz", -1e-9), enc("fp8e5m2fnuz", -0), enc("fp8e4m3fn", -0), enc("fp4e2m1", -0.1)]).toEqual([0, 0, 0, 0x80, 0x8]);
  });

  it("FP16 and BF16 overflow to ±Inf", () => {
    expect([enc("fp16", 65520), enc("fp16", 65519.996), enc("bf16", -3.4e38)]).toEqual([0x7c00, 0x7bff, 0xff80]);
  });

  it("decodeFloat is the inverse on code values", () => {
    expect([decodeFloat(floatFormat("fp8e4m3fn"), 0x7e), decodeFloat(floatFormat("e8m0"), 0), decodeFloat(floatFormat("fp16"), 0x0001)]).toEqual([448, 2 ** -127, 2 ** -24]);
  });
});
