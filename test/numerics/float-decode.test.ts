/**
 * Exhaustive decode: every code of every format, against ml_dtypes golden
 * vectors (≤ 8 bits) and against ONNX Runtime's Cast to FLOAT where ORT has
 * the type (FP8, E8M0, FP16, BF16).
 */
import { describe, expect, it } from "vitest";
import { decodeFloats } from "../../src/numerics/float-codec.js";
import { decodeTable } from "../../src/numerics/float-decode.js";
import { FLOAT_FORMATS, floatFormat } from "../../src/numerics/float-formats.js";
import { goldenDecode } from "./golden.js";
import { float32Mismatches } from "./float-inputs.js";
import { ortDecodeAll } from "./ort-cast.js";

function allCodes(bits: number): Uint8Array | Uint16Array {
  const n = 2 ** bits;
  return bits > 8 ? Uint16Array.from({ length: n }, (_, i) => i) : Uint8Array.from({ length: n }, (_, i) => i);
}

const golden = goldenDecode();

describe("decode: every code against ml_dtypes", () => {
  for (const f of FLOAT_FORMATS.filter((f) => f.bits <= 8)) {
    it(f.name, () => {
      const expected = new Float32Array(new Uint32Array(golden.decode[f.name]!.map((h) => Number.parseInt(h, 16))).buffer);
      expect(expected.length).toBe(2 ** f.bits);
      const codes = allCodes(f.bits);
      expect(float32Mismatches(new Float32Array(codes), decodeFloats(f, codes), expected)).toEqual([]);
    });
  }
});

describe("decode: every code against ONNX Runtime's Cast", () => {
  for (const f of FLOAT_FORMATS.filter((f) => f.name.startsWith("fp8") || f.name === "e8m0" || f.bits === 16)) {
    it(f.name, async () => {
      const bits = f.bits as 8 | 16;
      const expected = await ortDecodeAll(f.onnxType, bits);
      const codes = allCodes(bits);
      expect(expected.length).toBe(codes.length);
      expect(float32Mismatches(new Float32Array(codes), decodeFloats(f, codes), expected)).toEqual([]);
    });
  }

  it("bf16 codes are the top half of the float32 bits", () => {
    const t = decodeTable(floatFormat("bf16"));
    const f = new Float32Array(t.buffer);
    let bad = 0;
    for (let c = 0; c < 65536; c++) if (!Number.isNaN(f[c]) && t[c] !== c << 16 >>> 0) bad++;
    expect(bad).toBe(0);
  });
});

describe("decode: NaN codes", () => {
  it("give the quiet NaN with the code's sign (FNUZ and E8M0 NaNs are positive)", () => {
    const bitsOf = (name: string, code: number) => decodeTable(floatFormat(name as "fp16"))[code]!.toString(16);
    expect([bitsOf("fp8e4m3fn", 0x7f), bitsOf("fp8e4m3fn", 0xff), bitsOf("fp8e5m2", 0xfd), bitsOf("fp8e4m3fnuz", 0x80), bitsOf("e8m0", 0xff), bitsOf("fp16", 0x7c01)]).toEqual([
      "7fc00000",
      "ffc00000",
      "ffc00000",
      "7fc00000",
      "7fc00000",
      "7fc00000",
    ]);
  });

  it("ignores bits above a sub-byte code's width", () => {
    const fp4 = floatFormat("fp4e2m1");
    expect(Array.from(decodeFloats(fp4, Uint8Array.from([0x07, 0xf7, 0x1f])))).toEqual([6, 6, -6]);
  });
});
