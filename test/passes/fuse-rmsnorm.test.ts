/**
 * Decomposed RMSNorm (passes/match-rmsnorm.ts through fuse-layernorm.ts):
 * graphs built here with the forms torch and Hugging Face Llama-style exports
 * write (x² as Pow(x, 2) or Mul(x, x); ReduceMean axes as attribute at opset
 * 13/17 or as an input at 18; 1/√ as Reciprocal, Div(1, ·) or Div(x, ·); a
 * Cast to float32 before γ) fuse to one RMSNormalization at opset 23 (the
 * model upgraded), whose float output in ONNX Runtime equals the chain's
 * within 1e-5 relative (float32 rounding); near misses stay with a reason;
 * the mean of squares inside a decomposed LayerNorm is not taken for an
 * RMSNorm. A real torch export of Hugging Face's LlamaRMSNorm
 * (test/fixtures/transformer/llama-rmsnorm.onnx, with its Cast to float32 in
 * front) fuses whole. Through quantize W8A8 and the integer lowering, the fused
 * node (built here, from the torch export, and opset 23's RMSNormalization
 * written directly) lowers to the integer `layernorm` op without the mean
 * (rmsZero), certified (no error; the ranges hold on the data) with an
 * integer-only ONNX (no float op); emulator, generated JS
 * and integer-only ONNX agree bit for bit, and the emulator's output is within
 * 1 output step (at the output's QDQ scale; 0 measured) of the QDQ model run in
 * ONNX Runtime (a LayerNorm's mean where the RMSNorm has none misses by 22+ steps).
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { emitIntegerOnnx } from "../../src/backends/onnx-int/emit.js";
import { verifyIntegerOnly } from "../../src/backends/onnx-int/verify.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerOutputs } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import { type Model, type Node, opsetVersion } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { fuseLayerNorm, fuseLayerNormModel } from "../../src/passes/fuse-layernorm.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { randn, randTensor, Rng, run, tensor, worstRelErr } from "./float-helpers.js";
import { between, fuseAndCompare as fuseAndCompareNorm, lowerAndCompare, quantizeLowerCompare } from "./norm-helpers.js";

afterAll(cleanupModules);

const C = 16;

interface RmsOptions {
  square?: "pow" | "mul";
  /** How 1/√ is applied: Div(x, r), Reciprocal then Mul, or Div(1, r) then Mul. */
  inverse?: "div" | "reciprocal" | "one-over";
  axes?: readonly number[];
  axesInput?: boolean;
  cast?: boolean;
  gamma?: boolean;
}

/** The decomposed RMSNorm of `x` into `y`. */
function rmsChain(o: RmsOptions = {}): { nodes: Node[]; inits: ReturnType<typeof tensor>[] } {
  const rng = new Rng(8);
  const axes = o.axes ?? [-1];
  const inits = [tensor("eps", [], [1e-6]), tensor("two", [], [2]), tensor("one", [], [1])];
  if (o.axesInput) inits.push({ name: "axes", dtype: DataType.INT64, dims: [axes.length], raw: new Uint8Array(BigInt64Array.from(axes.map(BigInt)).buffer) });
  const nodes = [
    o.square === "mul" ? node("Mul", ["x", "x"], ["x2"], [], "sq") : node("Pow", ["x", "two"], ["x2"], [], "pow"),
    node("ReduceMean", o.axesInput ? ["x2", "axes"] : ["x2"], ["ms"], o.axesInput ? [] : [ints("axes", [...axes]), int("keepdims", 1)], "mean"),
    node("Add", ["ms", "eps"], ["mse"], [], "addeps"),
    node("Sqrt", ["mse"], ["rms"], [], "sqrt"),
  ];
  const gamma = o.gamma !== false;
  const normed = o.cast || gamma ? "n" : "y";
  const inverse = o.inverse ?? "reciprocal";
  if (inverse === "div") nodes.push(node("Div", ["x", "rms"], [normed], [], "div"));
  else nodes.push(inverse === "reciprocal" ? node("Reciprocal", ["rms"], ["inv"], [], "recip") : node("Div", ["one", "rms"], ["inv"], [], "recip"), node("Mul", ["inv", "x"], [normed], [], "scale"));
  if (o.cast) nodes.push(node("Cast", ["n"], [gamma ? "nc" : "y"], [int("to", 1)], "cast"));
  if (gamma) {
    nodes.push(node("Mul", ["gamma", o.cast ? "nc" : "n"], ["y"], [], "gamma"));
    inits.push(randTensor(rng, "gamma", [C]));
  }
  return { nodes, inits };
}

function rmsModel(o: RmsOptions = {}, opset = 17): Model {
  const { nodes, inits } = rmsChain(o);
  return model(graph(nodes, [value("x", 1, ["N", 5, C])], [value("y", 1, ["N", 5, C])], inits), opset);
}

const fuseAndCompare = (m: Model) => fuseAndCompareNorm(m, C, 1);

describe("decomposed RMSNorm → RMSNormalization", () => {
  it.each([
    ["Pow, Reciprocal, γ at opset 13", {}, 13],
    ["Mul(x, x), Div(x, r), no γ, axes as input at opset 18", { square: "mul", inverse: "div", axesInput: true, gamma: false }, 18],
    ["Llama-style: Pow, Div(1, r), Mul, Cast to float, γ at opset 17", { inverse: "one-over", cast: true }, 17],
    ["axes [2] of rank 3", { axes: [2] }, 17],
  ] as const)("%s: one RMSNormalization at opset 23, float output within 1e-5", async (_, o, opset) => {
    const m = rmsModel(o, opset);
    const { fusedModel, err, ops } = await fuseAndCompare(m);
    expect(ops).toEqual(["RMSNormalization"]);
    expect(opsetVersion(fusedModel)).toBe(23);
    const rms = fusedModel.graph!.nodes[0]!;
    expect(rms.inputs[0]).toBe("x");
    expect(rms.outputs).toEqual(["y"]);
    expect(rms.attributes.find((a) => a.name === "epsilon")?.f).toBeCloseTo(1e-6, 12);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it("the graph pass at opset 17 keeps the chain and says RMSNormalization needs 23; the report lists the replaced nodes at 23", () => {
    const g = rmsModel().graph!;
    expect(fuseLayerNorm(g, 17).report.kept).toEqual([{ node: "pow", reason: "RMSNormalization needs opset 23, the model has 17" }]);
    expect(fuseLayerNorm(g, 23).report.fused).toEqual([{ node: "pow.rmsnorm", replaced: ["pow", "mean", "addeps", "sqrt", "recip", "scale", "gamma"] }]);
  });

  it("near misses: a mean over axis 1 is kept with its reason; x² read elsewhere, or a cube, is no RMSNorm", () => {
    const g = rmsModel({ axes: [1] }).graph!;
    expect(fuseLayerNorm(g, 23).report.kept).toEqual([{ node: "mean", reason: "a mean is not over the last axis alone with keepdims 1" }]);
    const { nodes, inits } = rmsChain();
    const extra = graph([...nodes, node("Relu", ["x2"], ["r"])], [value("x", 1, ["N", 5, C])], [value("y", 1, ["N", 5, C]), value("r", 1, ["N", 5, C])], inits);
    expect(fuseLayerNorm(extra, 23).report).toEqual({ pass: "fuse-layernorm", fused: [], kept: [] });
    const cube = graph(nodes, [value("x", 1, ["N", 5, C])], [value("y", 1, ["N", 5, C])], inits.map((t) => (t.name === "two" ? tensor("two", [], [3]) : t)));
    expect(fuseLayerNorm(cube, 23).report).toEqual({ pass: "fuse-layernorm", fused: [], kept: [] });
  });

  it("a decomposed LayerNorm kept for its opset is not fused as an RMSNorm of x − mean", () => {
    const nodes = [
      node("ReduceMean", ["x"], ["mu"], [ints("axes", [-1])], "mu"),
      node("Sub", ["x", "mu"], ["d"], [], "sub"),
      node("Pow", ["d", "two"], ["d2"], [], "pow"),
      node("ReduceMean", ["d2"], ["var"], [ints("axes", [-1])], "var"),
      node("Add", ["var", "eps"], ["ve"], [], "addeps"),
      node("Sqrt", ["ve"], ["sd"], [], "sqrt"),
      node("Div", ["d", "sd"], ["y"], [], "div"),
    ];
    const g = graph(nodes, [value("x", 1, ["N", C])], [value("y", 1, ["N", C])], [tensor("eps", [], [1e-5]), tensor("two", [], [2])]);
    expect(fuseLayerNorm(g, 13).report).toEqual({ pass: "fuse-layernorm", fused: [], kept: [{ node: "mu", reason: "LayerNormalization needs opset 17, the model has 13" }] });
  });
});

/** MatMul → norm → MatMul, W8A8, integerized (norm-helpers.ts): the one integer layernorm op with rmsZero; emulator = JS = integer ONNX, emulator ≈ ORT on the QDQ model. */
async function quantizeAndLower(norm: Node[], inits: ReturnType<typeof tensor>[], opset: number): Promise<void> {
  await checkLowered(await quantizeLowerCompare(norm, inits, C, opset));
}

/** One RMSNormalization in the QDQ model, one integer layernorm op with rmsZero, and the emulator within 1 output step of ORT on the QDQ model. */
async function checkLowered({ q, p, emu, data, out }: Awaited<ReturnType<typeof lowerAndCompare>>): Promise<void> {
  expect(q.graph!.nodes.filter((n) => n.opType === "RMSNormalization").length).toBe(1);
  expect(q.graph!.nodes.some((n) => n.opType === "Sqrt" || n.opType === "Pow" || n.opType === "Reciprocal")).toBe(false);
  const norms = p.ops.filter((o) => o.kind === "layernorm");
  expect(norms.length).toBe(1);
  expect(norms[0]!.kind === "layernorm" && norms[0]!.rmsZero !== undefined).toBe(true);
  // the certificate covers it, and holds on the data; the integer ONNX has no float op
  const cert = certifyProgram(p);
  expect(cert.problems.filter((x) => x.level === "error")).toEqual([]);
  expect(() => runProgram(p, new Map([["x", data.data as Float32Array]]), data.dims[0]!, { assertRanges: cert.ranges })).not.toThrow();
  expect(verifyIntegerOnly(emitIntegerOnnx(p))).toEqual([]);

  // the emulator against ORT running the QDQ model: within 1 step of the output's scale (0 measured on both cases)
  const ort = (await run(q, { x: data }))[out]!;
  const got = emu.outputs.get(out)!;
  const scale = p.values.get(integerOutputs(p)[0]!)!.scale!;
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ort[i]!));
  expect(worst / scale).toBeLessThanOrEqual(1);
}

describe("RMSNorm through quantize and the integer lowering", () => {
  it("the fused decomposed form (opset 17 → 23)", async () => {
    const { nodes, inits } = rmsChain({ inverse: "one-over", cast: true });
    await quantizeAndLower(between(nodes), inits, 17);
  }, 60_000);

  it("opset 23's RMSNormalization written directly", async () => {
    const rng = new Rng(4);
    const rms = node("RMSNormalization", ["h", "gamma"], ["z"], [int("axis", -1), { name: "epsilon", type: 1, f: 1e-6 }], "rms");
    await quantizeAndLower([rms], [randTensor(rng, "gamma", [C])], 23);
  }, 60_000);

  it("a torch export of Hugging Face's LlamaRMSNorm (Cast to float32, Pow, rsqrt as Div(1, Sqrt), Cast, γ; opset 13): fused whole, float kept, lowered", async () => {
    const m = loadModel(join(import.meta.dirname, "../fixtures/transformer/llama-rmsnorm.onnx"));
    const { model: fused, report } = fuseLayerNormModel(m);
    expect(report.fused.length).toBe(1);
    expect(report.fused[0]!.replaced.map((n) => n.replace(/^\/norm\//, ""))).toEqual(["Cast", "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Cast_1", "Mul_1"]);
    expect(fused.graph!.nodes.map((n) => n.opType)).toEqual(["MatMul", "Add", "RMSNormalization", "MatMul", "Add"]);
    const x = { dtype: 1, dims: [64, 5, 8], data: randn(new Rng(3), 64 * 40, 2) };
    expect(worstRelErr(await run(m, { x }), await run(fused, { x }))).toBeLessThanOrEqual(1e-5);
    await checkLowered(await lowerAndCompare(m, x));
  }, 60_000);
});
