/**
 * `int4Grid: "full"` (--int4-grid full): int4 blocks whose signed extreme maps
 * to −8, all 16 codes, negative scales where the extreme is positive: the grid
 * of ONNX Runtime's MLAS block quantizer (MatMulNBits without zero points).
 *
 * The reference here is MLAS's definition, written from it and not from fixq:
 * per block of 32 along K, e = the element of largest |w| (the negative one on
 * a tie), s = float32(e / −8), u = clamp(roundf(w · float32(1/s) + 8), 0, 15)
 * (roundf: half away from zero), stored u, dequantized (u − 8) · s. fixq uses
 * QuantizeLinear's rounding (float32 w/s, half to even); the two differ only
 * at exact ties, which these random weights do not hit.
 *
 * - nearest: the MatMulNBits model fixq writes has no zero points, the packed
 *   codes and scales equal MLAS's exactly (a block with a positive extreme, one
 *   with a negative extreme), and ORT's output equals A · W_ref;
 * - GPTQ and AdaRound on the same grid: the written weights stay on it (same
 *   scales) and the layer's reconstruction loss ‖X·W − X·Ŵ‖² on the
 *   calibration inputs is at least 10% below nearest's;
 * - the recipe refuses the grid where it does not apply, in one line.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { makeFloatTensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { typeProtoOf } from "../../src/ir/types.js";
import { arraySource } from "../../src/quant/feeds.js";
import { toMatMulNBits } from "../../src/quant/matmulnbits.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";

const [K, N, B] = [64, 6, 32];

/** A deterministic pseudo-random stream in [−1, 1). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 31 - 1;
  };
}

/** W [K, N]: column 0's first block has a positive extreme, its second a negative one. */
function weights(): Float32Array {
  const r = lcg(7);
  const w = Float32Array.from({ length: K * N }, () => r() * 0.5);
  w[3 * N + 0] = 0.9; // block 0 of column 0: extreme +0.9
  w[40 * N + 0] = -0.8; // block 1 of column 0: extreme −0.8
  return w;
}

function model(w: Float32Array): Model {
  const vi = (name: string, shape: (number | string)[]) => ({ name, type: typeProtoOf({ dtype: DataType.FLOAT, shape }) });
  return {
    irVersion: 10,
    opsets: [{ domain: "", version: 21 }],
    functions: [],
    graph: {
      name: "g",
      nodes: [{ name: "mm", opType: "MatMul", inputs: ["a", "w"], outputs: ["y"], attributes: [] }],
      inputs: [vi("a", ["n", K])],
      outputs: [vi("y", ["n", N])],
      valueInfo: [],
      initializers: [makeFloatTensor("w", [K, N], Array.from(w))],
    },
  } as unknown as Model;
}

/** Calibration inputs with correlated columns (so GPTQ has something to compensate). */
function inputs(rows: number): Float32Array {
  const r = lcg(11);
  const a = new Float32Array(rows * K);
  for (let i = 0; i < rows; i++) {
    const common = r();
    for (let k = 0; k < K; k++) a[i * K + k] = 0.7 * common + 0.5 * r();
  }
  return a;
}

/** MLAS's block quantization of W (see the header): codes u [N][K] and scales [N][blocks]. */
function mlasReference(w: Float32Array): { u: Int32Array; s: Float32Array } {
  const blocks = K / B;
  const u = new Int32Array(N * K);
  const s = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++)
    for (let b = 0; b < blocks; b++) {
      let lo = 0;
      let hi = 0;
      for (let k = b * B; k < (b + 1) * B; k++) [lo, hi] = [Math.min(lo, w[k * N + n]!), Math.max(hi, w[k * N + n]!)];
      const e = Math.abs(hi) > Math.abs(lo) ? hi : lo;
      const scale = Math.fround(e / -8);
      s[n * blocks + b] = scale;
      const recip = scale ? Math.fround(1 / scale) : 0;
      for (let k = b * B; k < (b + 1) * B; k++) {
        const x = Math.fround(Math.fround(w[k * N + n]! * recip) + 8);
        const roundf = Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
        u[n * K + k] = Math.min(15, Math.max(0, roundf));
      }
    }
  return { u, s };
}

/** The MatMulNBits node's codes u [N][K] and scales, unpacked from its initializers. */
function unpacked(m: Model): { u: Int32Array; s: Float32Array; inputs: readonly string[] } {
  const g = m.graph!;
  const node = g.nodes.find((n) => n.opType === "MatMulNBits")!;
  const init = (name: string) => g.initializers.find((t) => t.name === name)!;
  const packed = init(node.inputs[1]!).raw!;
  const u = new Int32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) u[n * K + k] = (packed[n * (K / 2) + (k >> 1)]! >> ((k & 1) * 4)) & 15;
  return { u, s: Float32Array.from(tensorToFloat64(init(node.inputs[2]!))), inputs: node.inputs };
}

/** Ŵ [K, N] = (u − 8) · s of each block. */
function dequantized(u: Int32Array, s: Float32Array): Float64Array {
  const w = new Float64Array(K * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[k * N + n] = (u[n * K + k]! - 8) * s[n * (K / B) + Math.floor(k / B)]!;
  return w;
}

function loss(a: Float32Array, rows: number, w: ArrayLike<number>, wq: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < rows; i++)
    for (let n = 0; n < N; n++) {
      let d = 0;
      for (let k = 0; k < K; k++) d += a[i * K + k]! * (w[k * N + n]! - wq[k * N + n]!);
      sum += d * d;
    }
  return sum;
}

async function quantized(w: Float32Array, calib: Float32Array, rows: number, rounding: "nearest" | "gptq" | "adaround"): Promise<Model> {
  const recipe = buildRecipe({ weights: "int4", granularity: `per-block:${B}`, acts: "float", int4Grid: "full", weightRounding: rounding, adaroundIters: 300 });
  const source = arraySource({ a: { dtype: DataType.FLOAT, dims: [rows, K], data: calib } });
  const { model: qdq } = await quantizeModel(model(w), source, recipe, { threads: 1 });
  return toMatMulNBits(qdq).model;
}

describe("the full int4 grid (MLAS's)", () => {
  const w = weights();
  const rows = 96;
  const calib = inputs(rows);

  it("nearest: MatMulNBits without zero points, codes and scales equal MLAS's, ORT runs it", async () => {
    const nb = await quantized(w, calib, rows, "nearest");
    const got = unpacked(nb);
    expect(got.inputs).toHaveLength(3); // A, B, scales: no zero points (implicit 8), ORT's size
    const want = mlasReference(w);
    expect(Array.from(got.s)).toEqual(Array.from(want.s));
    expect(Array.from(got.u)).toEqual(Array.from(want.u));
    // the two hand-set blocks of column 0: the positive extreme gives a negative scale and code −8 (u = 0)
    expect(got.s[0]).toBe(Math.fround(0.9 / -8));
    expect(got.u[3]).toBe(0);
    expect(got.s[1]).toBe(Math.fround(-0.8 / -8));
    expect(got.u[40]).toBe(0);
    // all 16 codes are used
    expect(new Set(got.u).size).toBe(16);

    const session = await OrtSession.create(nb, { threads: 1 });
    const out = await session.run({ a: { dtype: DataType.FLOAT, dims: [rows, K], data: calib } });
    await session.release();
    const y = Object.values(out)[0]!.data as Float32Array;
    const wref = dequantized(want.u, want.s);
    let worst = 0;
    let range = 0;
    for (let i = 0; i < rows; i++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += calib[i * K + k]! * wref[k * N + n]!;
        worst = Math.max(worst, Math.abs(y[i * N + n]! - acc));
        range = Math.max(range, Math.abs(acc));
      }
    expect(worst).toBeLessThanOrEqual(1e-5 * range);
  });

  it.each(["gptq", "adaround"] as const)("%s on the same grid stays on it and lowers the layer's reconstruction loss", async (rounding) => {
    const [near, learned] = [unpacked(await quantized(w, calib, rows, "nearest")), unpacked(await quantized(w, calib, rows, rounding))];
    expect(Array.from(learned.s)).toEqual(Array.from(near.s)); // the grid is the recipe's; the rounding chooses codes on it
    expect(Array.from(learned.u)).not.toEqual(Array.from(near.u));
    const lNear = loss(calib, rows, w, dequantized(near.u, near.s));
    const lLearned = loss(calib, rows, w, dequantized(learned.u, learned.s));
    expect(lLearned).toBeLessThan(0.9 * lNear);
  });

  it("is refused in one line where it does not apply", () => {
    const msg = /--int4-grid full is for weight-only int4 blocks/;
    expect(() => buildRecipe({ weights: "int4", granularity: "per-block:32", acts: "uint8", int4Grid: "full" })).toThrow(msg);
    expect(() => buildRecipe({ weights: "int4", granularity: "per-channel", acts: "float", int4Grid: "full" })).toThrow(msg);
    expect(() => buildRecipe({ weights: "uint4", granularity: "per-block:32", acts: "float", int4Grid: "full" })).toThrow(msg);
    expect(() => buildRecipe({ weights: "int4", int4Grid: "wide" })).toThrow(/--int4-grid must be symmetric or full, got 'wide'/);
  });
});
