/**
 * fuseLayerNorm: graphs built here with the decomposed LayerNorm older torch
 * exports write (ReduceMean → Sub → Pow(·, 2) or Mul(d, d) → ReduceMean →
 * Add ε → Sqrt → Div [→ Mul γ → Add β]) fuse to one LayerNormalization whose
 * float output in ONNX Runtime equals the chain's within 1e-5 (relative);
 * an opset-13 model is upgraded to 17 first; near misses (a mean over
 * another axis, a per-channel ε, keepdims 0) stay as they are; and the whole
 * path — quantize W8A8, integerize — lowers the fused node to the integer
 * `layernorm` op, with the emulator, the generated JS and the integer-only
 * ONNX equal bit for bit.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type Model, type Node, opsetVersion } from "../../src/ir/graph.js";
import { DataType } from "../../src/ir/dtype.js";
import { fuseLayerNorm, fuseLayerNormModel } from "../../src/passes/fuse-layernorm.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { randTensor, Rng, tensor } from "./float-helpers.js";
import { between, fuseAndCompare as fuseAndCompareNorm, quantizeLowerCompare } from "./norm-helpers.js";

afterAll(cleanupModules);

const C = 16;

interface ChainOptions {
  /** ReduceMean axes (default [-1]). */
  axes?: readonly number[];
  /** The ε tensor's values and dims (default the scalar 1e-5). */
  eps?: { dims: readonly number[]; values: readonly number[] };
  square?: "pow" | "mul";
  affine?: boolean;
  /** γ's dims (default [C]). */
  gammaDims?: number[];
  keepdims?: number;
  /** Opset 18 and later: axes as a constant input. */
  axesInput?: boolean;
}

/** Nodes and constants of the decomposed LayerNorm of `x` into `y`. */
function chain(o: ChainOptions = {}): { nodes: Node[]; inits: ReturnType<typeof tensor>[] } {
  const rng = new Rng(5);
  const axes = o.axes ?? [-1];
  const inits = [tensor("eps", [...(o.eps?.dims ?? [])], o.eps?.values ?? [1e-5]), tensor("two", [], [2])];
  const meanAttrs = o.axesInput ? [] : [ints("axes", [...axes]), ...(o.keepdims === undefined ? [] : [int("keepdims", o.keepdims)])];
  const meanIn = (v: string) => (o.axesInput ? [v, "axes"] : [v]);
  if (o.axesInput) inits.push({ name: "axes", dtype: DataType.INT64, dims: [axes.length], raw: new Uint8Array(BigInt64Array.from(axes.map(BigInt)).buffer) });
  const last = o.affine === false ? "y" : "n";
  const nodes = [
    node("ReduceMean", meanIn("x"), ["mu"], meanAttrs, "mean"),
    node("Sub", ["x", "mu"], ["d"], [], "sub"),
    o.square === "mul" ? node("Mul", ["d", "d"], ["d2"], [], "sq") : node("Pow", ["d", "two"], ["d2"], [], "pow"),
    node("ReduceMean", meanIn("d2"), ["var"], meanAttrs, "var"),
    node("Add", ["var", "eps"], ["ve"], [], "addeps"),
    node("Sqrt", ["ve"], ["sd"], [], "sqrt"),
    node("Div", ["d", "sd"], [last], [], "div"),
  ];
  if (o.affine !== false) {
    nodes.push(node("Mul", ["n", "gamma"], ["ng"], [], "gamma"), node("Add", ["beta", "ng"], ["y"], [], "beta"));
    inits.push(randTensor(rng, "gamma", o.gammaDims ?? [C]), randTensor(rng, "beta", [1, 1, C]));
  }
  return { nodes, inits };
}

function chainModel(o: ChainOptions = {}, opset = 17): Model {
  const { nodes, inits } = chain(o);
  return model(graph(nodes, [value("x", 1, ["N", 5, C])], [value("y", 1, ["N", 5, C])], inits), opset);
}

const fuseAndCompare = (m: Model) => fuseAndCompareNorm(m, C, 3);

describe("fuseLayerNorm: chains that fuse", () => {
  it("Pow(d, 2) with γ and β (β [1, 1, C], written either side of the Add): one LayerNormalization, float output within 1e-5", async () => {
    const m = chainModel();
    const { report } = fuseLayerNorm(m.graph!, 17);
    expect(report.fused).toEqual([{ node: "mean.layernorm", replaced: ["mean", "sub", "pow", "var", "addeps", "sqrt", "div", "gamma", "beta"] }]);
    const { fusedModel, err, ops } = await fuseAndCompare(m);
    expect(ops).toEqual(["LayerNormalization"]);
    const ln = fusedModel.graph!.nodes[0]!;
    expect(ln.inputs[0]).toBe("x");
    expect(ln.outputs).toEqual(["y"]);
    expect(ln.attributes.find((a) => a.name === "epsilon")?.f).toBeCloseTo(1e-5, 12);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it("Mul(d, d) without γ/β: LayerNormalization with γ = 1 and no β", async () => {
    const { fusedModel, err, ops } = await fuseAndCompare(chainModel({ square: "mul", affine: false }));
    expect(ops).toEqual(["LayerNormalization"]);
    expect(fusedModel.graph!.nodes[0]!.inputs.length).toBe(2);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it("a one-element γ [1, 1] broadcast over C: widened to [C]", async () => {
    const { fusedModel, err, ops } = await fuseAndCompare(chainModel({ gammaDims: [1, 1] }));
    expect(ops).toEqual(["LayerNormalization"]);
    expect(fusedModel.graph!.initializers.find((t) => t.name === fusedModel.graph!.nodes[0]!.inputs[1])?.dims).toEqual([C]);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it("axes as the last axis by index (2 of rank 3), and as an input at opset 18", async () => {
    for (const [o, opset] of [[{ axes: [2] }, 17], [{ axesInput: true }, 18]] as const) {
      const { err, ops } = await fuseAndCompare(chainModel(o, opset));
      expect(ops).toEqual(["LayerNormalization"]);
      expect(err).toBeLessThanOrEqual(1e-5);
    }
  });

  it("an opset-13 model is upgraded to 17, then fused; the graph pass alone at 13 keeps the chain and says why", async () => {
    const m = chainModel({}, 13);
    expect(fuseLayerNorm(m.graph!, 13).report.kept).toEqual([{ node: "mean", reason: "LayerNormalization needs opset 17, the model has 13" }]);
    const { fusedModel, err, ops } = await fuseAndCompare(m);
    expect(opsetVersion(fusedModel)).toBe(17);
    expect(ops).toEqual(["LayerNormalization"]);
    expect(err).toBeLessThanOrEqual(1e-5);
  });
});

describe("fuseLayerNorm: near misses stay", () => {
  it("an opset-13 model whose upgrade to 17 refuses keeps its chains, with the upgrade's reason", () => {
    const { nodes, inits } = chain();
    const m = model(graph([...nodes, node("NoSuchOp", ["y"], ["w"], [], "odd")], [value("x", 1, ["N", 5, C])], [value("w", 1, ["N", 5, C])], inits), 13);
    const out = fuseLayerNormModel(m);
    expect(out.model).toBe(m);
    expect(out.report.fused).toEqual([]);
    expect(out.report.kept).toHaveLength(1);
    expect(out.report.kept[0]!.reason).toMatch(/^LayerNormalization needs opset 17, the model has 13, and node 'odd': cannot upgrade NoSuchOp from opset 13 to 17: fixq does not know this operator/);
  });

  it.each([
    ["a mean over axis 1", { axes: [1] }, "a mean is not over the last axis alone with keepdims 1"],
    ["a mean over two axes", { axes: [1, 2] }, "a mean is not over the last axis alone with keepdims 1"],
    ["keepdims 0", { keepdims: 0 }, "a mean is not over the last axis alone with keepdims 1"],
    ["a per-channel ε", { eps: { dims: [C], values: Array.from({ length: C }, (_, i) => 1e-5 * (i + 1)) } }, "ε is not a float32 scalar constant ≥ 0"],
  ] as const)("%s", (_, o, reason) => {
    const g = chainModel(o).graph!;
    const out = fuseLayerNorm(g, 17);
    expect(out.graph).toBe(g);
    expect(out.report).toEqual({ pass: "fuse-layernorm", fused: [], kept: [{ node: "mean", reason }] });
  });

  it("a Pow exponent of 3, or d read by a third node, is no LayerNorm at all", () => {
    const { nodes, inits } = chain();
    const cube = inits.map((t) => (t.name === "two" ? tensor("two", [], [3]) : t));
    const g1 = graph(nodes, [value("x", 1, ["N", 5, C])], [value("y", 1, ["N", 5, C])], cube);
    expect(fuseLayerNorm(g1, 17).report).toEqual({ pass: "fuse-layernorm", fused: [], kept: [] });
    const g2 = graph([...nodes, node("Relu", ["d"], ["r"])], [value("x", 1, ["N", 5, C])], [value("y", 1, ["N", 5, C]), value("r", 1, ["N", 5, C])], inits);
    expect(fuseLayerNorm(g2, 17).graph).toBe(g2);
  });
});

describe("decomposed LayerNorm through quantize and the integer lowering", () => {
  it("W8A8: the fused node lowers to one integer layernorm op; emulator = JS = integer ONNX bit for bit", async () => {
    const { nodes, inits } = chain();
    const { q, p } = await quantizeLowerCompare(between(nodes), inits, C, 14);
    expect(q.graph!.nodes.filter((n) => n.opType === "LayerNormalization").length).toBe(1);
    expect(q.graph!.nodes.some((n) => n.opType === "Sqrt" || n.opType === "Pow")).toBe(false);
    expect(p.ops.filter((o) => o.kind === "layernorm").length).toBe(1);
  }, 60_000);
});

