/**
 * Reader bounds (src/quant/reader-bounds.ts) and ranges chosen within them:
 *  - per reader form, the interval found on a tiny graph; for every bounded
 *    form, the readers run in ORT on y and on clamp(y, A, B) give the same
 *    outputs (max|Δ|/max|out| < 1e-5), with y spread well past the bounds;
 *  - forms that must stay unbounded: swish (x·Sigmoid(x)), a Conv reader, a
 *    graph output, a negative scale inside the gate;
 *  - chooseRange with bounds equals chooseRange on the clamped data itself
 *    (a histogram built from clamp(x)), for minmax, percentile and mse;
 *  - quantizeModel on Conv → hard-swish (op by op): the Conv output's range
 *    starts at −3 (from the data's extremes, not read back from the code),
 *    calibrated and data-free (interval arithmetic computed here by hand).
 */
import { describe, expect, it } from "vitest";
import { StreamingHistogram } from "../../src/calib/histogram.js";
import { chooseRange, type CalibrationMethod } from "../../src/calib/range.js";
import type { Attribute, Graph, Model, Node } from "../../src/ir/graph.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { readerBounds } from "../../src/quant/reader-bounds.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { graph, model, node, value } from "../ir/builders.js";
import { randn, randTensor, Rng, run, tensor, worstRelErr } from "../passes/float-helpers.js";

const flt = (name: string, f: number): Attribute => ({ name, type: 1, f });
const INF = Number.POSITIVE_INFINITY;
const SHAPE = [2, 3, 4, 4];

interface Case {
  name: string;
  /** Readers of the input "y" (the graph's input here), ending in outputs o*. */
  nodes: Node[];
  inits?: ReturnType<typeof tensor>[];
  outputs: string[];
  /** The expected interval, or null for none. */
  bounds: [number, number] | null;
}

const CASES: Case[] = [
  {
    name: "hard-swish op by op: y·Clip(y + 3, 0, 6)/6",
    nodes: [node("Add", ["y", "three"], ["a"]), node("Clip", ["a", "zero", "six"], ["c"]), node("Mul", ["y", "c"], ["m"]), node("Div", ["m", "six"], ["o"])],
    inits: [tensor("three", [], [3]), tensor("zero", [], [0]), tensor("six", [], [6])],
    outputs: ["o"],
    bounds: [-3, INF],
  },
  {
    name: "hard-swish with the 1/6 first: y·(Clip(y/6 + 0.5, 0, 1))",
    nodes: [node("Div", ["y", "six"], ["d"]), node("Add", ["d", "half"], ["a"]), node("Clip", ["a", "zero", "one"], ["c"]), node("Mul", ["c", "y"], ["o"])],
    inits: [tensor("six", [], [6]), tensor("half", [], [0.5]), tensor("zero", [], [0]), tensor("one", [], [1])],
    outputs: ["o"],
    bounds: [-3, INF],
  },
  {
    name: "PyTorch's form: y·HardSigmoid(y; α = 1/6, β = 0.5), and a scaled gate",
    nodes: [node("HardSigmoid", ["y"], ["h"], [flt("alpha", 1 / 6), flt("beta", 0.5)]), node("Mul", ["h", "two"], ["g"]), node("Mul", ["y", "g"], ["o"])],
    inits: [tensor("two", [], [2])],
    outputs: ["o"],
    bounds: [-3, INF],
  },
  {
    name: "HardSwish op and a Relu: the hull [−3, ∞)",
    nodes: [node("HardSwish", ["y"], ["o"]), node("Relu", ["y"], ["o2"])],
    outputs: ["o", "o2"],
    bounds: [-3, INF],
  },
  {
    name: "Clip(−1, 2) after Sub 1: [0, 3]",
    nodes: [node("Sub", ["y", "one"], ["s"]), node("Clip", ["s", "m1", "two"], ["o"])],
    inits: [tensor("one", [], [1]), tensor("m1", [], [-1]), tensor("two", [], [2])],
    outputs: ["o"],
    bounds: [0, 3],
  },
  {
    name: "swish y·Sigmoid(y): no bound",
    nodes: [node("Sigmoid", ["y"], ["s"]), node("Mul", ["y", "s"], ["o"])],
    outputs: ["o"],
    bounds: null,
  },
  {
    name: "a Conv reader beside a Relu: no bound",
    nodes: [node("Relu", ["y"], ["o"]), node("Conv", ["y", "W"], ["o2"])],
    inits: [randTensor(new Rng(3), "W", [2, 3, 1, 1])],
    outputs: ["o", "o2"],
    bounds: null,
  },
  {
    name: "a gate through a negative scale: no bound",
    nodes: [node("Mul", ["y", "mneg"], ["n"]), node("Relu", ["n"], ["r"]), node("Mul", ["y", "r"], ["o"])],
    inits: [tensor("mneg", [], [-1])],
    outputs: ["o"],
    bounds: null,
  },
];

function caseGraph(c: Case, extraOutputs: string[] = []): Graph {
  return graph(c.nodes, [value("y", 1, SHAPE)], [...c.outputs, ...extraOutputs].map((o) => value(o, 1)), c.inits ?? []);
}

describe("readerBounds", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const b = readerBounds(caseGraph(c), ["y"]).get("y");
      if (c.bounds === null) {
        expect(b).toBeUndefined();
        return;
      }
      expect(b?.lo).toBeCloseTo(c.bounds[0], 12);
      expect(b?.hi).toBe(c.bounds[1]);
      // The readers cannot tell y from clamp(y, A, B): y spread over ±12.
      const y = randn(new Rng(7), SHAPE.reduce((a, d) => a * d, 1), 6);
      const clamped = y.map((v) => Math.min(c.bounds![1], Math.max(c.bounds![0], v)));
      expect(clamped.some((v, i) => v !== y[i])).toBe(true);
      const m = model(caseGraph(c), 17);
      const ref = await run(m, { y: { dtype: 1, dims: SHAPE, data: y } });
      const got = await run(m, { y: { dtype: 1, dims: SHAPE, data: clamped } });
      expect(worstRelErr(ref, got)).toBeLessThan(1e-5);
    });
  }

  it("a value that is also a graph output is not bounded", () => {
    expect(readerBounds(caseGraph(CASES[0]!, ["y"]), ["y"]).get("y")).toBeUndefined();
  });
});

describe("chooseRange within bounds = chooseRange on the clamped data", () => {
  const rng = new Rng(11);
  // A hard-swish input: most values in [−4, 6], a long negative tail to −40.
  const x = Float32Array.from({ length: 20000 }, (_, i) => (i % 50 === 0 ? -40 * rng.float() : 5 * (rng.float() - 0.4)));
  const A = -3;
  const hist = (data: Float32Array) => {
    const h = new StreamingHistogram();
    h.update(data);
    return h;
  };
  const raw = hist(x);
  const clamped = hist(x.map((v) => Math.max(A, v)));
  const target = { bits: 8, signed: false, symmetric: false };
  const methods: CalibrationMethod[] = [{ kind: "minmax" }, { kind: "percentile", percentile: 99.9 }, { kind: "mse" }];
  for (const m of methods) {
    it(m.kind, () => {
      const got = chooseRange(raw, m, target, { lo: A, hi: INF });
      const want = chooseRange(clamped, m, target);
      // Within a bin of the 2048-bin histograms (the clamped mass sits in A's bin, read as uniform there).
      const tol = (want.hi - want.lo) / 256;
      expect(Math.abs(got.lo - want.lo)).toBeLessThanOrEqual(tol);
      expect(Math.abs(got.hi - want.hi)).toBeLessThanOrEqual(tol);
      expect(got.lo).toBeGreaterThanOrEqual(A);
    });
  }
});

/** x → Conv → y → hard-swish op by op → m (→ Conv → out, unless `oneLayer`: data-free refuses two layers without BN). */
function hardSwishModel(rng: Rng, oneLayer = false) {
  const g = graph(
      [
        node("Conv", ["x", "W", "B"], ["y"]),
        node("Add", ["y", "three"], ["a"]),
        node("Clip", ["a", "zero", "six"], ["c"]),
        node("Mul", ["y", "c"], ["m"]),
        ...(oneLayer ? [] : [node("Conv", ["m", "W2"], ["out"])]),
      ],
      [value("x", 1, ["N", 3, 4, 4])],
      [value(oneLayer ? "m" : "out", 1)],
      [randTensor(rng, "W", [3, 3, 1, 1], 3), randTensor(rng, "B", [3]), tensor("three", [], [3]), tensor("zero", [], [0]), tensor("six", [], [6]), randTensor(rng, "W2", [2, 3, 1, 1])],
  );
  return model(g, 17);
}

/** The range [lo, hi] the quantized model's QuantizeLinear of the Conv output y stands for. */
function yRange(q: Model): { lo: number; hi: number; scale: number } {
  const qy = q.graph!.nodes.find((n) => n.opType === "QuantizeLinear" && n.inputs[0]!.startsWith("y"))!;
  const init = (name: string) => tensorToFloat64(q.graph!.initializers.find((t) => t.name === name)!)[0]!;
  const scale = init(qy.inputs[1]!);
  const zp = init(qy.inputs[2]!);
  return { lo: -zp * scale, hi: (255 - zp) * scale, scale };
}

describe("quantizeModel: the Conv output before a hard-swish starts at −3", () => {
  it("minmax: lo = −3, hi = the data's maximum (up to the zero point's rounding)", async () => {
    const rng = new Rng(5);
    const float = hardSwishModel(rng);
    const x = { dtype: 1, dims: [8, 3, 4, 4], data: randn(rng, 8 * 48, 2) };
    const y = (await run(float, { x }, ["y"]))["y"]!;
    const ymin = Math.min(...y);
    const ymax = Math.max(...y);
    expect(ymin).toBeLessThan(-6); // the tail the bound cuts off
    const source = arraySource({ x });
    const { model: q } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 }).finally(() => source.close());
    const r = yRange(q);
    expect(r.scale).toBeCloseTo((ymax + 3) / 255, 6);
    expect(Math.abs(r.lo + 3)).toBeLessThanOrEqual(r.scale / 2 + 1e-9); // −3 up to the zero point's rounding
  });

  it("data-free: the interval-arithmetic range is clamped at −3 too", async () => {
    const float = hardSwishModel(new Rng(5), true);
    // Interval arithmetic over x ∈ [−4, 4] through the 1×1 Conv: lo = b − 4·Σ|w| per channel, well below −3.
    const source = arraySource({ x: { dtype: 1, dims: [1, 3, 4, 4], data: new Float32Array(48) } });
    const { model: q } = await quantizeModel(float, source, buildRecipe({ dataFree: true, inputRange: [-4, 4] }), { threads: 1 }).finally(() => source.close());
    const w = tensorToFloat64(float.graph!.initializers.find((t) => t.name === "W")!);
    const b = tensorToFloat64(float.graph!.initializers.find((t) => t.name === "B")!);
    const hi = Math.max(...[0, 1, 2].map((k) => b[k]! + 4 * (Math.abs(w[3 * k]!) + Math.abs(w[3 * k + 1]!) + Math.abs(w[3 * k + 2]!))));
    const lo = Math.min(...[0, 1, 2].map((k) => b[k]! - 4 * (Math.abs(w[3 * k]!) + Math.abs(w[3 * k + 1]!) + Math.abs(w[3 * k + 2]!))));
    expect(lo).toBeLessThan(-6);
    const r = yRange(q);
    expect(Math.abs(r.lo + 3)).toBeLessThanOrEqual(r.scale / 2 + 1e-9); // −3 up to the zero point's rounding
    expect(r.scale).toBeCloseTo((hi + 3) / 255, 6);
  });
});
