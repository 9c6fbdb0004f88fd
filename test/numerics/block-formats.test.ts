/**
 * MX (OCP MX v1.0) and NVFP4 block formats against golden vectors from an
 * independent numpy/ml_dtypes reference (scripts/make_block_format_vectors.py),
 * and fixq's dequantization against ONNX's reference DequantizeLinear run on
 * the stored forms fixq exports (FP8/INT8/FP4 elements with float32 or E8M0
 * block scales; NVFP4 as two DequantizeLinear steps).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readNpz } from "../../src/io/npz.js";
import { blockLayout, forEachBlock } from "../../src/numerics/groups.js";
import { dequantizeMx, fakeQuantizeMx, floorLog2, MX_FORMATS, mxFormat, parseMxFormat, quantizeMx } from "../../src/numerics/mx.js";
import { dequantizeNvfp4, fakeQuantizeNvfp4, quantizeNvfp4 } from "../../src/numerics/nvfp4.js";

const DIR = fileURLToPath(new URL("../fixtures/numerics/", import.meta.url));
const CASES = ["ragged", "axis0", "special"] as const;

interface Case {
  x: Float32Array;
  dims: number[];
  axis: number;
  scales: Uint8Array;
  elements: Uint8Array;
  dequant: Float32Array;
  onnxDq?: Float32Array;
  onnxDqE8m0?: Float32Array;
  tensorScale?: number;
}

function loadCases(format: string): Record<string, Case> {
  const a = readNpz(join(DIR, `block-${format}.npz`));
  const get = (k: string) => a.get(k)?.data;
  const out: Record<string, Case> = {};
  for (const c of CASES) {
    out[c] = {
      x: get(`${c}_x`) as Float32Array,
      dims: Array.from(get(`${c}_dims`) as Int32Array),
      axis: (get(`${c}_axis`) as Int32Array)[0]!,
      scales: get(`${c}_scales`) as Uint8Array,
      elements: get(`${c}_elements`) as Uint8Array,
      dequant: get(`${c}_dequant`) as Float32Array,
      onnxDq: get(`${c}_onnx_dq`) as Float32Array | undefined,
      onnxDqE8m0: get(`${c}_onnx_dq_e8m0`) as Float32Array | undefined,
      tensorScale: (get(`${c}_tensor_scale`) as Float32Array | undefined)?.[0],
    };
  }
  return out;
}

/** Bitwise float32 equality (NaN equal to NaN), reporting the first difference. */
function expectSameFloats(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === e[i] || (Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) continue;
    expect.fail(`${what}: element ${i}: ${actual[i]} (0x${a[i]!.toString(16)}) ≠ ${expected[i]} (0x${e[i]!.toString(16)})`);
  }
}

describe("MX against the independent reference", () => {
  for (const fmt of MX_FORMATS) {
    const cases = loadCases(fmt.name);
    for (const name of CASES) {
      it(`${fmt.name} ${name}`, () => {
        const c = cases[name]!;
        const t = quantizeMx(fmt, c.x, c.dims, c.axis);
        expect(Array.from(t.layout.scaleDims)).toEqual(c.dims.map((d, k) => (k === c.axis ? Math.ceil(d / 32) : d)));
        expect(Array.from(t.scales)).toEqual(Array.from(c.scales));
        expect(Array.from(t.elements)).toEqual(Array.from(c.elements));
        const y = dequantizeMx(fmt, t);
        expectSameFloats(y, c.dequant, "dequantized");
        if (c.onnxDq) expectSameFloats(y, c.onnxDq, "ONNX reference DequantizeLinear (float32 scales)");
        if (c.onnxDqE8m0) expectSameFloats(y, c.onnxDqE8m0, "ONNX reference DequantizeLinear-24 (E8M0 scales)");
      });
    }
  }
  it("the ONNX cross-checks ran where ONNX has the representation", () => {
    for (const f of ["mxfp8e4m3", "mxfp8e5m2", "mxfp4", "mxint8"]) expect(loadCases(f)["ragged"]!.onnxDq, f).toBeDefined();
    expect(loadCases("mxfp4")["ragged"]!.onnxDqE8m0).toBeDefined();
  });
});

describe("NVFP4 against the independent reference", () => {
  const cases = loadCases("nvfp4");
  for (const name of CASES) {
    it(name, () => {
      const c = cases[name]!;
      const t = quantizeNvfp4(c.x, c.dims, c.axis);
      expect(t.tensorScale).toBe(c.tensorScale);
      expect(Array.from(t.blockScales)).toEqual(Array.from(c.scales));
      // A NaN block scale leaves the elements undefined (the block decodes to NaN whatever they are):
      // fixq's FP4 cast sends NaN to +6, ml_dtypes' to ±0.
      const nanBlock = new Uint8Array(c.x.length);
      forEachBlock(t.layout, (g, start, count, stride) => {
        if ((t.blockScales[g]! & 0x7f) === 0x7f) for (let k = 0, i = start; k < count; k++, i += stride) nanBlock[i] = 1;
      });
      expect(Array.from(t.elements).map((e, i) => (nanBlock[i] ? -1 : e))).toEqual(Array.from(c.elements).map((e, i) => (nanBlock[i] ? -1 : e)));
      const y = dequantizeNvfp4(t);
      expectSameFloats(y, c.dequant, "dequantized");
      if (c.onnxDq) expectSameFloats(y, c.onnxDq, "ONNX reference: DequantizeLinear(E4M3 scales, s_t) → DequantizeLinear-23(FP4, block 16)");
    });
  }
});

describe("MX rules", () => {
  it("parses names and aliases", () => {
    expect(parseMxFormat("mxfp8")?.name).toBe("mxfp8e4m3");
    expect(parseMxFormat("MXFP8-E5M2")?.name).toBe("mxfp8e5m2");
    expect(parseMxFormat("mxfp6")?.name).toBe("mxfp6e2m3");
    expect(parseMxFormat("mx_int8")?.name).toBe("mxint8");
    expect(parseMxFormat("mxfp5")).toBeUndefined();
    for (const f of MX_FORMATS) expect(parseMxFormat(f.name)).toBe(f);
  });

  it("emax of each element format (OCP MX v1.0 table)", () => {
    expect(MX_FORMATS.map((f) => [f.name, f.emax])).toEqual([
      ["mxfp8e4m3", 8],
      ["mxfp8e5m2", 15],
      ["mxfp6e2m3", 2],
      ["mxfp6e3m2", 4],
      ["mxfp4", 2],
      ["mxint8", 0],
    ]);
  });

  it("floorLog2 is exact for every power of two and its float32 neighbours, subnormals included", () => {
    for (let k = -149; k <= 127; k++) {
      const p = Math.fround(2 ** k);
      expect(floorLog2(p)).toBe(k);
      const below = new Float32Array([p]);
      new Uint32Array(below.buffer)[0]! -= 1;
      if (below[0]! > 0) expect(floorLog2(below[0]!)).toBe(k - 1);
    }
  });

  it("a ragged last block: ceil(D/32) scales, the short block scaled by its own max", () => {
    const x = new Float32Array(40).fill(100);
    x.fill(0.01, 32);
    const t = quantizeMx(mxFormat("mxfp4"), x, [40], 0);
    expect(t.scales.length).toBe(2);
    expect(t.scales[1]! - 127).toBe(floorLog2(0.01) - 2);
  });

  it("fake quantization is idempotent (a dequantized block quantizes to itself)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MX_FORMATS),
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), { minLength: 1, maxLength: 80 }),
        (fmt, values) => {
          const x = Float32Array.from(values);
          const y = fakeQuantizeMx(fmt, x, [x.length], 0);
          expect(Array.from(fakeQuantizeMx(fmt, y, [y.length], 0))).toEqual(Array.from(y));
        },
      ),
    );
  });

  it("a block's largest element never grows, and no element is off by more than half a step of the block's grid", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e6), max: Math.fround(1e6) }), { minLength: 32, maxLength: 32 }), (values) => {
        const x = Float32Array.from(values);
        const fmt = mxFormat("mxfp8e4m3");
        const t = quantizeMx(fmt, x, [32], 0);
        const y = dequantizeMx(fmt, t);
        const X = 2 ** (t.scales[0]! - 127);
        for (let i = 0; i < 32; i++) {
          // E4M3 spacing at |x/X| is at most 2^(floor(log2|x/X|) − 3), and at least the subnormal step 2^-9
          const v = Math.abs(x[i]! / X);
          const step = v >= 2 ** -6 ? 2 ** (Math.floor(Math.log2(v)) - 3) : 2 ** -9;
          const err = Math.abs(y[i]! - x[i]!);
          if (v <= 448) expect(err).toBeLessThanOrEqual((step / 2) * X * (1 + 2 ** -20));
        }
      }),
    );
  });
});

describe("NVFP4 rules", () => {
  it("blocks of 16 along the axis, E4M3 block scales, the tensor scale amax/2688", () => {
    const x = Float32Array.from({ length: 40 }, (_, i) => (i - 20) / 4);
    const t = quantizeNvfp4(x, [40], 0);
    expect(t.blockScales.length).toBe(3);
    expect(t.tensorScale).toBe(Math.fround(5 / 2688));
    const y = dequantizeNvfp4(t);
    // the block holding ±5 reaches the largest FP4 value: 5 = 6 · d_b
    expect(Math.max(...Array.from(y, Math.abs))).toBeCloseTo(5, 1);
  });

  it("a given tensor scale is used as is (calibrated activations)", () => {
    const x = Float32Array.of(1, 2, 3);
    expect(quantizeNvfp4(x, [3], 0, { tensorScale: 0.5 }).tensorScale).toBe(0.5);
    expect(Array.from(fakeQuantizeNvfp4(x, [3], 0, 0.5))).toEqual(Array.from(fakeQuantizeNvfp4(x, [3], 0, 0.5)));
  });

  it("an all-zero tensor gets s_t = 1 and zeros", () => {
    const t = quantizeNvfp4(new Float32Array(20), [20], 0);
    expect(t.tensorScale).toBe(1);
    expect(Array.from(dequantizeNvfp4(t))).toEqual(new Array(20).fill(0));
  });
});

describe("block layout", () => {
  it("visits every element once, in its block", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }), fc.nat(3), fc.integer({ min: 1, max: 5 }), (dims, a, b) => {
        const axis = a % dims.length;
        const l = blockLayout(dims, axis, b);
        const seen = new Int32Array(dims.reduce((p, d) => p * d, 1)).fill(-1);
        forEachBlock(l, (g, start, count, stride) => {
          for (let k = 0, i = start; k < count; k++, i += stride) {
            expect(seen[i]).toBe(-1);
            seen[i] = g;
          }
        });
        for (let i = 0; i < seen.length; i++) expect(seen[i]).toBe(l.of(i));
      }),
    );
  });
});
