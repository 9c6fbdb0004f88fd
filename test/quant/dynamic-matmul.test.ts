/**
 * Weight-only int8 → dynamic uint8 activations (quant/dynamic-matmul.ts), run
 * by ONNX Runtime:
 * - a Gemm (transB, bias) and a MatMul with per-channel int8 weights: ORT's
 *   output equals ONNX's DynamicQuantizeLinear arithmetic (scale = (max(0, x_max)
 *   − min(0, x_min)) / 255, zero point = round(−x_min / scale), ties to even)
 *   followed by the integer sum and the float rescale, computed here;
 * - the bundled ViT: all 25 MatMul/Gemm layers rewritten, top-1 agreement
 *   with the float model ≥ 0.98 on 300 images.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model, Node } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { typeProtoOf } from "../../src/ir/types.js";
import { toDynamicUint8 } from "../../src/quant/dynamic-matmul.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { roundHalfEven } from "../../src/numerics/int.js";
import { evalX } from "../helpers/bundled-data.js";

const [K, N] = [24, 5];
const w = (k: number, n: number) => ((k * 37 + n * 11) % 255) - 127;
const sw = (n: number) => Math.fround(0.003 * (n + 1));
const bias = [0.1, -0.2, 0.3, 0, 1];

function layer(gemm: boolean): Model {
  const q = Int8Array.from({ length: K * N }, (_, i) => (gemm ? w(i % K, Math.floor(i / K)) : w(Math.floor(i / N), i % N)));
  const dq: Node = { name: "dq", opType: "DequantizeLinear", inputs: ["q", "s"], outputs: ["w"], attributes: [{ name: "axis", type: 2, i: gemm ? 0 : 1 }] };
  const mm: Node = gemm
    ? { name: "fc", opType: "Gemm", inputs: ["a", "w", "bias"], outputs: ["y"], attributes: [{ name: "transB", type: 2, i: 1 }] }
    : { name: "mm", opType: "MatMul", inputs: ["a", "w"], outputs: ["y"], attributes: [] };
  const initializers = [
    { name: "q", dtype: DataType.INT8, dims: gemm ? [N, K] : [K, N], raw: new Uint8Array(q.buffer) },
    makeFloatTensor("s", [N], Array.from({ length: N }, (_, n) => sw(n))),
    makeFloatTensor("bias", [N], bias),
  ];
  const vi = (name: string, shape: (number | string)[]) => ({ name, type: typeProtoOf({ dtype: DataType.FLOAT, shape }) });
  return {
    irVersion: 10,
    opsets: [{ domain: "", version: 21 }],
    functions: [],
    graph: { name: "g", nodes: [dq, mm], inputs: [vi("a", ["n", K])], outputs: [vi("y", ["n", N])], valueInfo: [], initializers },
  } as unknown as Model;
}

/** ONNX DynamicQuantizeLinear + integer sum + rescale (+ bias), in float32 where ONNX is. */
function reference(a: Float32Array, rows: number, gemm: boolean): Float64Array {
  const lo = Math.min(0, ...a);
  const hi = Math.max(0, ...a);
  const scale = Math.fround((hi - lo) / 255);
  const zero = Math.min(255, Math.max(0, roundHalfEven(Math.fround(0 - lo / scale))));
  const q = Array.from(a, (x) => Math.min(255, Math.max(0, roundHalfEven(Math.fround(x / scale)) + zero)));
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (q[r * K + k]! - zero) * w(k, n);
      y[r * N + n] = Math.fround(acc * Math.fround(scale * sw(n))) + (gemm ? bias[n]! : 0);
    }
  return y;
}

async function run(model: Model, name: string, data: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await OrtSession.create(model, { threads: 1 });
  const out = await s.run({ [name]: { dtype: DataType.FLOAT, dims, data } });
  await s.release();
  return Object.values(out)[0]!.data as Float32Array;
}

describe("dynamic uint8 activations", () => {
  it.each([false, true])("gemm=%s: ORT equals DynamicQuantizeLinear + integer sum + rescale", async (gemm) => {
    const { model, report } = toDynamicUint8(layer(gemm));
    expect(report.rewritten).toEqual([gemm ? "fc" : "mm"]);
    expect(model.graph!.nodes.map((n) => n.opType)).toEqual(["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul", ...(gemm ? ["Add"] : [])]);
    const rows = 6;
    const a = Float32Array.from({ length: rows * K }, (_, i) => Math.sin(i * 0.61) * 3 - 0.5);
    const y = await run(model, "a", a, [rows, K]);
    const want = reference(a, rows, gemm);
    const top = Math.max(...want.map(Math.abs));
    for (let i = 0; i < want.length; i++) expect(Math.abs(y[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * top);
  });

  it("the bundled ViT: 25 layers, top-1 agreement with float ≥ 0.98", async () => {
    const float = loadModel(join(MODELS_DIR, "vit.onnx"));
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 64);
    const { model } = await quantizeModel(float, source, buildRecipe({ acts: "float" }), { threads: 1 }).finally(() => source.close());
    const { model: dyn, report } = toDynamicUint8(model);
    expect(report.rewritten).toHaveLength(25);
    const n = 300;
    const x = evalX.data.subarray(0, n * 784);
    const [yf, yd] = await Promise.all([run(float, "input", x, [n, 1, 28, 28]), run(dyn, "input", x, [n, 1, 28, 28])]);
    const top = (y: Float32Array, s: number) => y.subarray(s * 10, s * 10 + 10).reduce((b, v, j, r) => (v > r[b]! ? j : b), 0);
    let agree = 0;
    for (let s = 0; s < n; s++) if (top(yf, s) === top(yd, s)) agree++;
    expect(agree / n).toBeGreaterThanOrEqual(0.98);
  }, 60_000);
});
