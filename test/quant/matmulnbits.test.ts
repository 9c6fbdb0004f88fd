/**
 * Weight-only QDQ → MatMulNBits (quant/matmulnbits.ts), run by ONNX Runtime:
 * - hand-made MatMuls with K = 40 (a partial last block of 16), explicit and
 *   implicit zero points, codes that need 2, 4 and 8 bits, and a Gemm with
 *   transB and a bias: ORT's output equals A·W (+ bias) with W = (q − z)·s
 *   computed here, to float32 rounding;
 * - the bundled ViT at int4 per-block:32: every blocked layer is rewritten and
 *   the output equals the QDQ model's (optimizations off) to 1e-5 relative;
 *   accuracy_level 4 (int8 activations) keeps top-1 agreement ≥ 0.98.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model, Node } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { toMatMulNBits } from "../../src/quant/matmulnbits.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { typeProtoOf } from "../../src/ir/types.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { evalX } from "../helpers/bundled-data.js";

const i8 = (name: string, dims: number[], v: number[], signed: boolean): Tensor => ({
  name,
  dtype: signed ? DataType.INT8 : DataType.UINT8,
  dims,
  raw: signed ? new Uint8Array(Int8Array.from(v).buffer) : Uint8Array.from(v),
});

interface Case {
  label: string;
  signed: boolean;
  lo: number;
  hi: number;
  zero: (b: number, n: number) => number;
  bits: number;
  explicit: boolean;
  gemm?: boolean;
}

/** A one-layer model: Y = A · DQ(q, s, z) (MatMul, or Gemm with transB and a bias), K = 40, N = 3, blocks of 16 along K. */
function layer(c: Case): { model: Model; reference: (a: Float32Array, rows: number) => Float64Array } {
  const [K, N, B] = [40, 3, 16];
  const blocks = Math.ceil(K / B);
  const code = (k: number, n: number) => c.lo + ((k * 7 + n * 5) % (c.hi - c.lo + 1));
  const scale = (b: number, n: number) => Math.fround(0.01 * (1 + b + 2 * n));
  const bias = [0.5, -0.25, 1];
  // stored [K, N] for MatMul, [N, K] for Gemm with transB
  const at = (k: number, n: number) => (c.gemm ? n * K + k : k * N + n);
  const q = new Array<number>(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) q[at(k, n)] = code(k, n);
  const pat = (b: number, n: number) => (c.gemm ? n * blocks + b : b * N + n);
  const s = new Array<number>(blocks * N);
  const z = new Array<number>(blocks * N);
  for (let b = 0; b < blocks; b++)
    for (let n = 0; n < N; n++) {
      s[pat(b, n)] = scale(b, n);
      z[pat(b, n)] = c.zero(b, n);
    }
  const sdims = c.gemm ? [N, blocks] : [blocks, N];
  const inits = [i8("q", c.gemm ? [N, K] : [K, N], q, c.signed), makeFloatTensor("s", sdims, s), i8("z", sdims, z, c.signed), makeFloatTensor("bias", [N], bias)];
  const dq: Node = { name: "dq", opType: "DequantizeLinear", inputs: ["q", "s", "z"], outputs: ["w"], attributes: [{ name: "axis", type: 2, i: c.gemm ? 1 : 0 }, { name: "block_size", type: 2, i: B }] };
  const mm: Node = c.gemm
    ? { name: "fc", opType: "Gemm", inputs: ["a", "w", "bias"], outputs: ["y"], attributes: [{ name: "transB", type: 2, i: 1 }] }
    : { name: "mm", opType: "MatMul", inputs: ["a", "w"], outputs: ["y"], attributes: [] };
  const vi = (name: string, shape: (number | string)[]) => ({ name, type: typeProtoOf({ dtype: DataType.FLOAT, shape }) });
  const model = {
    irVersion: 10,
    opsets: [{ domain: "", version: 21 }],
    functions: [],
    graph: { name: "g", nodes: [dq, mm], inputs: [vi("a", ["n", K])], outputs: [vi("y", ["n", N])], valueInfo: [], initializers: inits },
  } as unknown as Model;
  const reference = (a: Float32Array, rows: number) => {
    const y = new Float64Array(rows * N);
    for (let r = 0; r < rows; r++)
      for (let n = 0; n < N; n++) {
        let acc = c.gemm ? bias[n]! : 0;
        for (let k = 0; k < K; k++) {
          const b = Math.floor(k / B);
          acc += a[r * K + k]! * (code(k, n) - c.zero(b, n)) * scale(b, n);
        }
        y[r * N + n] = acc;
      }
    return y;
  };
  return { model, reference };
}

async function run(model: Model, name: string, data: Float32Array, dims: number[], opt: "all" | "disabled" = "all"): Promise<Float32Array> {
  const s = await OrtSession.create(model, { optimization: opt, threads: 1 });
  const out = await s.run({ [name]: { dtype: DataType.FLOAT, dims, data } });
  await s.release();
  return Object.values(out)[0]!.data as Float32Array;
}

describe("MatMulNBits rewrite", () => {
  const cases: Case[] = [
    { label: "uint4 codes, per-block zero points (explicit)", signed: false, lo: 0, hi: 15, zero: (b, n) => (b + 3 * n) % 16, bits: 4, explicit: true },
    { label: "int4 codes, zero point 0 (implicit 8)", signed: true, lo: -8, hi: 7, zero: () => 0, bits: 4, explicit: false },
    { label: "int2 codes in int8 storage (2 bits)", signed: true, lo: -2, hi: 1, zero: () => 0, bits: 2, explicit: false },
    { label: "int8 codes (8 bits), a zero point of 3", signed: true, lo: -128, hi: 127, zero: () => 3, bits: 8, explicit: true },
    { label: "Gemm with transB and a bias, uint4", signed: false, lo: 0, hi: 15, zero: () => 8, bits: 4, explicit: false, gemm: true },
  ];
  it.each(cases)("$label: ORT's MatMulNBits equals A·(q − z)·s", async (c) => {
    const { model, reference } = layer(c);
    const { model: nb, report } = toMatMulNBits(model);
    expect(report.rewritten).toEqual([{ node: c.gemm ? "fc" : "mm", bits: c.bits, blockSize: 16, explicitZeroPoints: c.explicit }]);
    expect(nb.graph!.nodes.map((n) => n.opType)).toEqual(["MatMulNBits"]);
    const rows = 5;
    const a = Float32Array.from({ length: rows * 40 }, (_, i) => Math.sin(i * 0.37) * 2);
    const y = await run(nb, "a", a, [rows, 40]);
    const want = reference(a, rows);
    const scale = Math.max(...want.map(Math.abs));
    for (let i = 0; i < want.length; i++) expect(Math.abs(y[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * scale);
  });

  it("refuses a model with nothing to rewrite, naming why", () => {
    const { model } = layer(cases[0]!);
    const g = model.graph!;
    const perChannel = { ...model, graph: { ...g, nodes: [{ ...g.nodes[0]!, attributes: [{ name: "axis", type: 2, i: 0 }] }, g.nodes[1]!] } } as Model;
    expect(() => toMatMulNBits(perChannel)).toThrow(/no layer can become MatMulNBits: mm its weight is not quantized in blocks/);
  });

  it("the bundled ViT at int4 per-block:32: all 25 layers, equal to the QDQ model; accuracy_level 4 keeps agreement", async () => {
    const float = loadModel(join(MODELS_DIR, "vit.onnx"));
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 128);
    const recipe = buildRecipe({ weights: "int4", granularity: "per-block:32", acts: "float" });
    const { model } = await quantizeModel(float, source, recipe, { threads: 1 }).finally(() => source.close());
    const { model: nb, report } = toMatMulNBits(model);
    expect(report.rewritten).toHaveLength(25);
    expect(report.kept).toEqual([]);
    const n = 300;
    const x = evalX.data.subarray(0, n * 784);
    const dims = [n, 1, 28, 28];
    const [qdq, y0, y4] = await Promise.all([run(model, "input", x, dims, "disabled"), run(nb, "input", x, dims), run(toMatMulNBits(model, { accuracyLevel: 4 }).model, "input", x, dims)]);
    const range = Math.max(...qdq.map(Math.abs));
    let worst = 0;
    for (let i = 0; i < qdq.length; i++) worst = Math.max(worst, Math.abs(qdq[i]! - y0[i]!));
    expect(worst).toBeLessThanOrEqual(1e-5 * range);
    const top = (y: Float32Array, s: number) => y.subarray(s * 10, s * 10 + 10).reduce((b, v, j, r) => (v > r[b]! ? j : b), 0);
    let agree = 0;
    for (let s = 0; s < n; s++) if (top(qdq, s) === top(y4, s)) agree++;
    expect(agree / n).toBeGreaterThanOrEqual(0.98);
  }, 60_000);
});
