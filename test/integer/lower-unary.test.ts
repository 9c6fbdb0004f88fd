/**
 * integer/lower-unary.ts on GELU as older exports write it, decomposed into
 * elementwise ops (no Gelu op before opset 20), between two linear layers:
 *   - torch's pre-opset-20 erf form: Div(h, √2) → Erf → Add(·, 1) → Mul(h, ·) → Mul(·, 0.5)
 *     (the bundled ViT's order);
 *   - the Python-level form x·0.5·(1 + erf(x/√2)) (Hugging Face's gelu written
 *     out): Mul(h, 0.5) and Div(h, √2) → Erf → Add(1), then their Mul;
 *   - torch's tanh form (approximate="tanh"): Mul(h, Mul(h, h)) →
 *     Mul(0.044715, ·) → Add(h, ·) → Mul(√(2/π), ·) → Tanh → Add(1, ·) →
 *     Mul(h, ·) → Mul(0.5, ·), constants first as torch writes them.
 * Constants are Constant nodes, as torch exports them. Each chain must lower
 * to exactly one 256-entry table on h's 8-bit codes (no other op between the
 * two dense layers' requants), whose entries are within one output step of
 * the quantized float function Q_y(f(DQ_h(q))) computed here from the
 * formula, f = GELU, or 2·GELU where the trailing Mul(0.5) folds into fc2's
 * weights (passes/fold-affine) and the table's exit is the Mul before it; then the shared pipeline check (integer-pipeline.ts): certified,
 * tracks ONNX Runtime's fake-quant model, JS = integer ONNX = emulator bit
 * for bit.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { TableOp } from "../../src/integer/program.js";
import type { Node } from "../../src/ir/graph.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { erf } from "../../src/numerics/erf.js";
import { intMax, intMin } from "../../src/numerics/int.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { Rng } from "../helpers/prng.js";
import { graph, model, node, randomWeight, value } from "../ir/builders.js";
import { checkIntegerPipeline, type PipelineCase } from "./integer-pipeline.js";

afterAll(cleanupModules);

const rng = new Rng(31);
const N = 256;
const randn = (n: number) => Float32Array.from({ length: n }, () => (rng.float() + rng.float() + rng.float() - 1.5) * 2);

/** A scalar float Constant node, as torch exports constants. */
function constant(name: string, v: number): Node {
  return node("Constant", [], [name], [{ name: "value", type: 4, t: makeFloatTensor(name, [], [v]) }], name);
}

const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** x → MatMul W1 → h → (chain: h → g) → MatMul W2 → y, 16 → 32 → 8. */
function mlp(name: string, chain: Node[]): PipelineCase {
  const g = graph(
    [node("MatMul", ["x", "w1"], ["h"], [], "fc1"), ...chain, node("MatMul", ["g", "w2"], ["y"], [], "fc2")],
    [value("x", 1, ["N", 16])],
    [value("y", 1, ["N", 8])],
    [randomWeight(rng, "w1", [16, 32]), randomWeight(rng, "w2", [32, 8])],
  );
  return { name, model: model(g, 13), feeds: { x: randn(N * 16) }, dims: { x: [N, 16] } };
}

/** f: the float function of the table's exit value `exit` (2·GELU where the trailing Mul(0.5) folds into fc2's weights). */
const CASES: { c: PipelineCase; f: (x: number) => number; exit: string }[] = [
  {
    f: (x) => 2 * geluErf(x),
    exit: "m",
    c: mlp("torch erf form: Div → Erf → Add → Mul(h, ·) → Mul(0.5)", [
      constant("sqrt2", Math.SQRT2),
      node("Div", ["h", "sqrt2"], ["d"], [], "act/Div"),
      node("Erf", ["d"], ["e"], [], "act/Erf"),
      constant("one", 1),
      node("Add", ["e", "one"], ["e1"], [], "act/Add"),
      node("Mul", ["h", "e1"], ["m"], [], "act/Mul"),
      constant("half", 0.5),
      node("Mul", ["m", "half"], ["g"], [], "act/Mul_1"),
    ]),
  },
  {
    f: geluErf,
    exit: "g",
    c: mlp("x·0.5·(1 + Erf(x/√2)): Mul(h, 0.5) times (1 + Erf(h/√2))", [
      constant("half", 0.5),
      node("Mul", ["h", "half"], ["hh"], [], "act/Mul"),
      constant("sqrt2", Math.SQRT2),
      node("Div", ["h", "sqrt2"], ["d"], [], "act/Div"),
      node("Erf", ["d"], ["e"], [], "act/Erf"),
      constant("one", 1),
      node("Add", ["e", "one"], ["e1"], [], "act/Add"),
      node("Mul", ["hh", "e1"], ["g"], [], "act/Mul_1"),
    ]),
  },
  {
    f: (x) => 2 * geluTanh(x),
    exit: "m",
    c: mlp("torch tanh form: h·h·h → 0.044715 → Add → √(2/π) → Tanh → Add(1) → Mul(h) → Mul(0.5)", [
      node("Mul", ["h", "h"], ["h2"], [], "act/Mul"),
      node("Mul", ["h", "h2"], ["h3"], [], "act/Mul_1"),
      constant("kappa", 0.044715),
      node("Mul", ["kappa", "h3"], ["k"], [], "act/Mul_2"),
      node("Add", ["h", "k"], ["s"], [], "act/Add"),
      constant("beta", Math.sqrt(2 / Math.PI)),
      node("Mul", ["beta", "s"], ["inner"], [], "act/Mul_3"),
      node("Tanh", ["inner"], ["t"], [], "act/Tanh"),
      constant("one", 1),
      node("Add", ["one", "t"], ["t1"], [], "act/Add_1"),
      node("Mul", ["h", "t1"], ["m"], [], "act/Mul_4"),
      constant("half", 0.5),
      node("Mul", ["half", "m"], ["g"], [], "act/Mul_5"),
    ]),
  },
];

describe.each(CASES)("decomposed GELU, $c.name", ({ c, f, exit }) => {
  it("lowers to one exact table within one step of the quantized GELU; certified; JS = integer ONNX = emulator", async () => {
    const { program: p, worstSteps } = await checkIntegerPipeline(c, N);
    expect(p.ops.map((o) => o.kind).filter((k) => k !== "requant")).toEqual(["quantize", "dense", "table", "dense", "dequantize"]);
    const table = p.ops.find((o): o is TableOp => o.kind === "table")!;
    const [xs, ys] = [p.values.get(table.input)!, p.values.get(table.output)!];
    expect(table.table.length).toBe(256);
    expect(ys.name).toBe(`${exit}_q`);
    let worst = 0;
    for (let j = 0; j < table.table.length; j++) {
      const x = (table.inputMin + j - xs.zeroPoint!) * xs.scale!;
      const want = Math.min(intMax(ys.type), Math.max(intMin(ys.type), Math.round(f(x) / ys.scale!) + ys.zeroPoint!));
      worst = Math.max(worst, Math.abs(table.table[j]! - want));
    }
    expect(worst).toBeLessThanOrEqual(1);
    expect(worstSteps).toBeLessThanOrEqual(3);
  }, 60_000);
});
