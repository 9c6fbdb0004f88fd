import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pack4, pack6, packedLength4, packedLength6, unpack4, unpack6 } from "../../src/numerics/pack.js";

interface PackCase {
  codes4: number[];
  packed4: number[];
  codes6: number[];
  packed6: number[];
}
const golden = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../fixtures/numerics/pack.json"), "utf8")) as {
  pack: Record<string, PackCase>;
};

describe("packing against onnx.numpy_helper (_pack_4bitx2, _pack_6bit)", () => {
  for (const [name, c] of Object.entries(golden.pack)) {
    it(name, () => {
      expect(Array.from(pack4(Uint8Array.from(c.codes4)))).toEqual(c.packed4);
      expect(Array.from(unpack4(Uint8Array.from(c.packed4), c.codes4.length))).toEqual(c.codes4);
      expect(Array.from(pack6(Uint8Array.from(c.codes6)))).toEqual(c.packed6);
      expect(Array.from(unpack6(Uint8Array.from(c.packed6), c.codes6.length))).toEqual(c.codes6);
    });
  }
});

describe("4-bit packing (ONNX: first element in the low nibble)", () => {
  it("packs two codes per byte, low nibble first, last byte padded with 0", () => {
    expect(Array.from(pack4(Uint8Array.from([0x1, 0x2, 0x3, 0xf, 0x7])))).toEqual([0x21, 0xf3, 0x07]);
    expect(Array.from(unpack4(Uint8Array.from([0x21, 0xf3, 0x07]), 5))).toEqual([1, 2, 3, 15, 7]);
    expect(Array.from(pack4(Uint8Array.from([0xa7])))).toEqual([0x07]); // high bits ignored
    expect(pack4(new Uint8Array(0)).length).toBe(0);
  });

  it("round-trips any length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 67 }), (raw) => {
        const codes = raw.map((c) => c & 0xf);
        const packed = pack4(codes);
        expect(packed.length).toBe(packedLength4(codes.length));
        expect(Array.from(unpack4(packed, codes.length))).toEqual(Array.from(codes));
      }),
    );
  });
});

describe("6-bit packing (ONNX: four codes in three bytes, LSB-first bit stream)", () => {
  it("matches onnx.numpy_helper._pack_6bit on a worked example", () => {
    // x0..x3 = 0x3f, 0x01, 0x2a, 0x15: b0 = 0x3f | 0x01<<6 = 0x7f, b1 = 0x01>>2 | (0x2a&0xf)<<4 = 0xa0,
    // b2 = 0x2a>>4 | 0x15<<2 = 0x56; then x4 = 0x21 alone: 0x21
    const codes = Uint8Array.from([0x3f, 0x01, 0x2a, 0x15, 0x21]);
    const packed = pack6(codes);
    expect(Array.from(packed)).toEqual([0x7f, 0xa0, 0x56, 0x21]);
    expect(Array.from(unpack6(packed, 5))).toEqual(Array.from(codes));
  });

  it("writes ceil(6n/8) bytes: 1, 2, 3, 3 for n = 1..4", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(packedLength6)).toEqual([1, 2, 3, 3, 4, 5, 6, 6]);
    expect(Array.from(pack6(Uint8Array.from([0x3f, 0x3f])))).toEqual([0xff, 0x0f]);
    expect(Array.from(pack6(Uint8Array.from([0x3f, 0x3f, 0x3f])))).toEqual([0xff, 0xff, 0x03]);
  });

  it("round-trips any length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 67 }), (raw) => {
        const codes = raw.map((c) => c & 0x3f);
        const packed = pack6(codes);
        expect(packed.length).toBe(packedLength6(codes.length));
        expect(Array.from(unpack6(packed, codes.length))).toEqual(Array.from(codes));
      }),
    );
  });

  it("rejects buffers of the wrong size", () => {
    expect(() => unpack6(new Uint8Array(2), 3)).toThrow(/expected 3/);
    expect(() => unpack4(new Uint8Array(2), 5)).toThrow(/expected 3/);
  });
});
