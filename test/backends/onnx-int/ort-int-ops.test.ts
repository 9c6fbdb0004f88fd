/**
 * The ONNX Runtime kernels the integer export relies on, measured exact on
 * adversarial data: every check below fails if the kernel saturated,
 * wrapped or rounded where the export needs exact integers.
 * - ConvInteger u8×s8 and s8×s8 at x = 255 / −128 with w = 127 / −128
 *   (u8·s8 pair sums of 64,770 and −65,280 overflow int16), random data,
 *   1×1, 3×3, 5×5, strided, dilated and depthwise; padded positions hold
 *   x_zero_point (contribute 0).
 * - MatMulInteger u8×u8 (signed weights as w + 128 under b_zero_point 128) and
 *   s8×s8, the same patterns, K up to 2,048.
 * - uint64 Add/Mul (wrapping), BitShift, Max/Min; int32 Max/Min, Mod (floor),
 *   Div; Cast between every pair of types used (wrapping); Pad, Slice,
 *   ReduceSum on int32; MaxPool on uint8/int8 ignoring padding;
 *   QuantizeLinear against numerics' quantizeValue.
 */
import { describe, expect, it } from "vitest";
import { intAttr, intsAttr, stringAttr } from "../../../src/backends/onnx-int/builder.js";
import { DataType } from "../../../src/ir/dtype.js";
import { quantizeValue } from "../../../src/numerics/int-group.js";
import { Rng } from "../../helpers/prng.js";
import { type Feed, runGraph } from "./ort-ops.js";

const { UINT8, INT8, INT32, INT64, UINT64, UINT16, INT16, FLOAT } = DataType;

interface ConvCase {
  C: number;
  O: number;
  k: number;
  group: number;
  H: number;
  pad: number;
  stride: number;
  dil: number;
}

function convRef(x: ArrayLike<number>, w: ArrayLike<number>, c: ConvCase, N: number, xz: number): { y: number[]; dims: number[] } {
  const { C, O, k, group, H, pad, stride, dil } = c;
  const OH = Math.floor((H + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
  const cg = C / group;
  const og = O / group;
  const y: number[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OH; ox++) {
          let s = 0;
          const g = Math.floor(o / og);
          for (let ci = 0; ci < cg; ci++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const iy = oy * stride + ky * dil - pad;
                const ix = ox * stride + kx * dil - pad;
                if (iy < 0 || iy >= H || ix < 0 || ix >= H) continue; // padding contributes 0
                s += (x[((n * C + g * cg + ci) * H + iy) * H + ix]! - xz) * w[((o * cg + ci) * k + ky) * k + kx]!;
              }
          y.push(s);
        }
  return { y, dims: [N, O, OH, OH] };
}

const PATTERNS = ["max", "min", "mixed", "random"] as const;

/** x, w and x_zero_point for a pattern: all-max, all-min, mixed extremes that overflow int16 pair sums, or random. */
function pattern(p: (typeof PATTERNS)[number], xSigned: boolean, n: number, nw: number, rng: Rng): { x: number[]; w: number[]; xz: number } {
  const [lo, hi] = xSigned ? [-128, 127] : [0, 255];
  const pick = (f: (i: number) => number, len: number) => Array.from({ length: len }, (_, i) => f(i));
  switch (p) {
    case "max":
      return { x: pick(() => hi, n), w: pick(() => 127, nw), xz: lo };
    case "min":
      return { x: pick(() => lo, n), w: pick(() => -128, nw), xz: hi };
    case "mixed":
      return { x: pick((i) => (xSigned ? (i % 2 ? lo : hi) : hi), n), w: pick((i) => (i % 3 ? -128 : 127), nw), xz: xSigned ? 0 : lo };
    case "random":
      return { x: pick(() => rng.range(lo, hi), n), w: pick(() => rng.range(-128, 127), nw), xz: rng.range(lo, hi) };
  }
}

describe("ONNX Runtime integer kernels used by the export are exact", () => {
  const convCases: ConvCase[] = [
    { C: 64, O: 16, k: 1, group: 1, H: 5, pad: 0, stride: 1, dil: 1 },
    { C: 3, O: 8, k: 3, group: 1, H: 9, pad: 1, stride: 1, dil: 1 },
    { C: 64, O: 32, k: 3, group: 1, H: 8, pad: 1, stride: 2, dil: 1 },
    { C: 128, O: 8, k: 3, group: 1, H: 5, pad: 2, stride: 1, dil: 2 },
    { C: 32, O: 32, k: 3, group: 32, H: 8, pad: 1, stride: 1, dil: 1 },
    { C: 16, O: 16, k: 5, group: 16, H: 9, pad: 2, stride: 2, dil: 1 },
  ];
  for (const xt of [UINT8, INT8]) {
    it(`ConvInteger ${xt === UINT8 ? "u8" : "s8"}×s8: exact on saturating patterns, pads with x_zero_point`, async () => {
      const rng = new Rng(xt);
      let mismatches = 0;
      let compared = 0;
      for (const c of convCases)
        for (const p of PATTERNS) {
          const N = 2;
          const { x, w, xz } = pattern(p, xt === INT8, N * c.C * c.H * c.H, c.O * (c.C / c.group) * c.k * c.k, rng);
          const want = convRef(x, w, c, N, xz);
          const got = await runGraph([{ name: "X", dtype: xt, dims: [N, c.C, c.H, c.H], data: x }], (b) => {
            const attrs = [intsAttr("pads", [c.pad, c.pad, c.pad, c.pad]), intsAttr("strides", [c.stride, c.stride]), intsAttr("dilations", [c.dil, c.dil]), intAttr("group", c.group)];
            b.op("ConvInteger", ["X", b.constant(INT8, [c.O, c.C / c.group, c.k, c.k], w), b.scalar(xt, xz)], attrs, "y", "Y");
          });
          expect(got.length).toBe(want.y.length);
          for (let i = 0; i < got.length; i++) mismatches += got[i] !== BigInt(want.y[i]!) ? 1 : 0;
          compared += got.length;
        }
      expect(compared).toBeGreaterThan(30_000);
      expect(mismatches).toBe(0);
    });
  }

  for (const mode of ["u8u8 (w + 128, b_zero_point 128)", "s8s8"] as const) {
    it(`MatMulInteger ${mode}: exact on saturating patterns`, async () => {
      const rng = new Rng(mode.length);
      const unsigned = mode.startsWith("u8");
      let mismatches = 0;
      let compared = 0;
      for (const [M, K, N] of [
        [1, 1, 1],
        [3, 784, 10],
        [64, 128, 64],
        [5, 2048, 33],
      ] as const)
        for (const p of PATTERNS) {
          const { x, w, xz } = pattern(p, !unsigned, M * K, K * N, rng);
          const got = await runGraph([{ name: "A", dtype: unsigned ? UINT8 : INT8, dims: [M, K], data: x }], (b) => {
            const inputs = unsigned
              ? ["A", b.constant(UINT8, [K, N], w.map((v) => v + 128)), b.scalar(UINT8, xz), b.scalar(UINT8, 128)]
              : ["A", b.constant(INT8, [K, N], w), b.scalar(INT8, xz)];
            b.op("MatMulInteger", inputs, [], "y", "Y");
          });
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let k = 0; k < K; k++) s += (x[i * K + k]! - xz) * w[k * N + j]!;
              compared++;
              if (got[i * N + j] !== BigInt(s)) mismatches++;
            }
        }
      expect(compared).toBeGreaterThan(4000);
      expect(mismatches).toBe(0);
    });
  }

  /** Random integers of every magnitude up to `bits` (plus all-ones runs and powers of two). */
  function randomWide(rng: Rng, bits: number, signed: boolean): bigint {
    const len = rng.range(0, bits);
    let v = 0n;
    for (let i = 0; i < len; i++) v = (v << 1n) | BigInt(rng.int(2));
    if (rng.chance(0.1)) v = (1n << BigInt(len)) - 1n;
    if (rng.chance(0.05)) v = 1n << BigInt(Math.max(0, len - 1));
    return signed && rng.chance(0.5) ? -v - (rng.chance(0.5) ? 1n : 0n) : v;
  }

  const U64 = (v: bigint) => BigInt.asUintN(64, v);
  const binaryOps: [string, number, (a: bigint, b: bigint) => bigint, (rng: Rng) => bigint, (rng: Rng) => bigint][] = [
    ["Add", UINT64, (a, b) => U64(a + b), (r) => U64(randomWide(r, 64, true)), (r) => U64(randomWide(r, 64, true))],
    ["Mul", UINT64, (a, b) => U64(a * b), (r) => U64(randomWide(r, 40, true)), (r) => U64(randomWide(r, 32, false))],
    ["BitShift", UINT64, (a, b) => a >> b, (r) => U64(randomWide(r, 64, true)), (r) => BigInt(r.range(0, 63))],
    ["Max", UINT64, (a, b) => (a > b ? a : b), (r) => U64(randomWide(r, 64, true)), (r) => U64(randomWide(r, 64, true))],
    ["Min", UINT64, (a, b) => (a < b ? a : b), (r) => U64(randomWide(r, 64, true)), (r) => U64(randomWide(r, 64, true))],
    ["Max", INT32, (a, b) => (a > b ? a : b), (r) => randomWide(r, 31, true), (r) => randomWide(r, 31, true)],
    ["Min", INT32, (a, b) => (a < b ? a : b), (r) => randomWide(r, 31, true), (r) => randomWide(r, 31, true)],
    ["Mod", INT32, (a, b) => ((a % b) + b) % b, (r) => randomWide(r, 31, true), (r) => 1n << BigInt(r.range(0, 16))],
    ["Div", INT32, (a, b) => a / b, (r) => randomWide(r, 31, true), (r) => 1n << BigInt(r.range(0, 16))],
    ["Add", INT64, (a, b) => a + b, (r) => randomWide(r, 61, true), (r) => randomWide(r, 61, true)],
    ["Mul", INT64, (a, b) => a * b, (r) => randomWide(r, 31, true), (r) => randomWide(r, 31, true)],
  ];
  it("uint64 Add/Mul/BitShift/Max/Min, int32 Max/Min/Mod/Div, int64 Add/Mul: exact (wrapping) on random data of every magnitude", async () => {
    const rng = new Rng(64);
    const n = 20_000;
    const bad: string[] = [];
    for (const [op, dtype, f, ga, gb] of binaryOps) {
      const a = Array.from({ length: n }, () => ga(rng));
      const b = Array.from({ length: n }, () => gb(rng));
      const feeds: Feed[] = [
        { name: "A", dtype, dims: [n], data: a },
        { name: "B", dtype, dims: [n], data: b },
      ];
      const attrs = op === "BitShift" ? [stringAttr("direction", "RIGHT")] : op === "Mod" ? [intAttr("fmod", 0)] : [];
      const got = await runGraph(feeds, (g) => g.op(op, ["A", "B"], attrs, "y", "Y"), "disabled");
      const m = got.filter((y, i) => y !== f(a[i]!, b[i]!)).length;
      if (m) bad.push(`${op}(${dtype}): ${m}`);
    }
    expect(bad).toEqual([]);
  });

  it("Cast wraps modulo 2^bits between every pair of integer types the export uses", async () => {
    const rng = new Rng(7);
    const n = 5000;
    const types: [number, number, boolean][] = [
      [UINT8, 8, false],
      [INT8, 8, true],
      [INT32, 32, true],
      [INT64, 64, true],
      [UINT64, 64, false],
    ];
    const bad: string[] = [];
    for (const [from, fromBits, fromSigned] of types)
      for (const [to, toBits, toSigned] of types) {
        if (from === to) continue;
        const x = Array.from({ length: n }, () => {
          const v = randomWide(rng, fromBits, true);
          return fromSigned ? BigInt.asIntN(fromBits, v) : BigInt.asUintN(fromBits, v);
        });
        const got = await runGraph([{ name: "X", dtype: from, dims: [n], data: x }], (g) => g.op("Cast", ["X"], [intAttr("to", to)], "y", "Y"), "disabled");
        const wrap = (v: bigint) => (toSigned ? BigInt.asIntN(toBits, v) : BigInt.asUintN(toBits, v));
        const m = got.filter((y, i) => y !== wrap(x[i]!)).length;
        if (m) bad.push(`${from}->${to}: ${m}`);
      }
    expect(bad).toEqual([]);
  });

  it("MaxPool on uint8/int8 ignores padding; Pad, Slice and ReduceSum on int32 are exact", async () => {
    const rng = new Rng(9);
    for (const [dt, lo, hi] of [
      [UINT8, 0, 255],
      [INT8, -128, 127],
    ] as const) {
      const [C, H] = [3, 7];
      const x = Array.from({ length: 2 * C * H * H }, () => rng.range(lo, Math.min(hi, lo + 20))); // small values: a 0 pad would win a max
      const got = await runGraph([{ name: "X", dtype: dt, dims: [2, C, H, H], data: x }], (g) =>
        g.op("MaxPool", ["X"], [intsAttr("kernel_shape", [3, 3]), intsAttr("strides", [2, 2]), intsAttr("pads", [1, 1, 1, 1]), intsAttr("dilations", [1, 1])], "y", "Y"),
      );
      const OH = 4;
      const want: bigint[] = [];
      for (let p = 0; p < 2 * C; p++)
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OH; ox++) {
            let m = -Infinity;
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const [iy, ix] = [oy * 2 + ky - 1, ox * 2 + kx - 1];
                if (iy >= 0 && iy < H && ix >= 0 && ix < H) m = Math.max(m, x[(p * H + iy) * H + ix]!);
              }
            want.push(BigInt(m));
          }
      expect(got).toEqual(want);
    }
    const v = Array.from({ length: 2 * 3 * 4 * 5 }, () => rng.range(-(2 ** 31), 2 ** 31 - 1));
    const padded = await runGraph([{ name: "X", dtype: INT32, dims: [2, 3, 4, 5], data: v }], (g) =>
      g.op("Pad", ["X", g.constant(INT64, [8], [0, 0, 1, 2, 0, 0, 0, 1]), g.scalar(INT32, -(2 ** 31))], [], "y", "Y"),
    );
    expect(padded.length).toBe(2 * 3 * 5 * 8);
    expect(padded[0]).toBe(-(2n ** 31n));
    expect(padded[1 * 8 + 2]).toBe(BigInt(v[0]!));
    const sliced = await runGraph([{ name: "X", dtype: INT32, dims: [2, 3, 4, 5], data: v }], (g) =>
      g.op("Slice", ["X", g.constant(INT64, [2], [1, 1]), g.constant(INT64, [2], [4, 5]), g.constant(INT64, [2], [2, 3]), g.constant(INT64, [2], [2, 2])], [], "y", "Y"),
    );
    expect(sliced).toEqual([0, 1, 2, 3, 4, 5].flatMap((p) => [1, 3].flatMap((y) => [1, 3].map((x) => BigInt(v[(p * 4 + y) * 5 + x]!)))));
    const small = v.map((a) => a >> 8);
    const sums = await runGraph([{ name: "X", dtype: INT32, dims: [2, 3, 4, 5], data: small }], (g) =>
      g.op("ReduceSum", ["X", g.constant(INT64, [2], [2, 3])], [intAttr("keepdims", 1)], "y", "Y"),
    );
    expect(sums).toEqual([0, 1, 2, 3, 4, 5].map((p) => BigInt(small.slice(p * 20, p * 20 + 20).reduce((a, b) => a + b, 0))));
  });

  it("QuantizeLinear equals numerics' quantizeValue (float32 division, ties to even, saturation)", async () => {
    const rng = new Rng(11);
    const bad: string[] = [];
    for (const [dt, lo, hi, zp] of [
      [UINT8, 0, 255, 7],
      [INT8, -128, 127, -3],
      [UINT16, 0, 65535, 100],
      [INT16, -32768, 32767, -77],
    ] as const)
      for (const scale of [1 / 255, 1 / 64, 0.0123, 1 / 4096].map(Math.fround)) {
        const n = 4000;
        const x = Array.from({ length: n }, (_, i) => Math.fround(i % 2 ? (rng.range(lo, hi) - zp + 0.5) * scale : (lo - 8 + rng.float() * (hi - lo + 16) - zp) * scale));
        const got = await runGraph([{ name: "X", dtype: FLOAT, dims: [n], data: x }], (g) => g.op("QuantizeLinear", ["X", g.scalar(FLOAT, scale), g.scalar(dt, zp)], [], "y", "Y"));
        const m = got.filter((y, i) => y !== BigInt(quantizeValue(x[i]!, scale, zp, lo, hi))).length;
        if (m) bad.push(`${dt} scale ${scale}: ${m}`);
      }
    expect(bad).toEqual([]);
  });
});
