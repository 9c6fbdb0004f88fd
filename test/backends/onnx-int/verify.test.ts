/**
 * The integer-only proof: exported graphs pass it, the types it derives are
 * the ones ONNX Runtime actually produces for every intermediate value, and
 * it catches an injected float op, a float constant, a non-integer op, a
 * QuantizeLinear inside the graph and a DequantizeLinear whose output is
 * read. `ortKernelHazards` flags the kernels measured inexact.
 */
import { describe, expect, it } from "vitest";
import { intAttr } from "../../../src/backends/onnx-int/builder.js";
import { emitIntegerOnnx } from "../../../src/backends/onnx-int/emit.js";
import { integerOnlyReport, ortKernelHazards, verifyIntegerOnly } from "../../../src/backends/onnx-int/verify.js";
import type { Program } from "../../../src/integer/program.js";
import { sampleSize } from "../../../src/integer/program.js";
import { DataType } from "../../../src/ir/dtype.js";
import type { Model, Node } from "../../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../../src/ir/tensor.js";
import { OrtSession } from "../../../src/runtime/ort-session.js";
import { cnnProgram, edgeProgram, narrowProgram, S8, U8, wideProgram } from "./programs.js";

const PROGRAMS: [string, () => Program][] = [
  ["cnn u8", () => cnnProgram(1, U8)],
  ["cnn s8 double", () => cnnProgram(2, S8, "double")],
  ["wide int16", () => wideProgram(3)],
  ["wide int16 double", () => wideProgram(4, "double")],
  ["narrow", () => narrowProgram(5)],
  ["edge", () => edgeProgram(6, "single")],
];

function withNodes(m: Model, edit: (nodes: Node[]) => Node[], extraInit: Tensor[] = []): Model {
  const g = m.graph!;
  return { ...m, graph: { ...g, nodes: edit([...g.nodes]), initializers: [...g.initializers, ...extraInit] } };
}

/** Inserts `ops` reading `value` and writing `value` again (the original producer's output renamed). */
function interpose(m: Model, value: string, make: (input: string, output: string) => Node[]): Model {
  const renamed = `${value}__orig`;
  return withNodes(m, (nodes) => {
    const i = nodes.findIndex((n) => n.outputs.includes(value));
    if (i < 0) throw new Error(`no producer of ${value}`);
    const producer = { ...nodes[i]!, outputs: nodes[i]!.outputs.map((o) => (o === value ? renamed : o)) };
    nodes.splice(i, 1, producer, ...make(renamed, value));
    return nodes;
  });
}

const node = (opType: string, inputs: string[], outputs: string[], attributes: Node["attributes"] = []): Node => ({ opType, inputs, outputs, attributes, name: outputs[0] });

describe("verifyIntegerOnly", () => {
  for (const [label, make] of PROGRAMS) {
    it(`${label}: the export is proven integer-only and avoids the inexact kernels`, () => {
      const m = emitIntegerOnnx(make(), { integerOutputs: true });
      expect(verifyIntegerOnly(m)).toEqual([]);
      expect(ortKernelHazards(m)).toEqual([]);
    });
  }

  it("derives exactly the element types ONNX Runtime produces for every value", async () => {
    for (const [, make] of PROGRAMS.slice(0, 5)) {
      const p = make();
      const m = emitIntegerOnnx(p);
      const { problems, types } = integerOnlyReport(m);
      expect(problems).toEqual([]);
      const graphOutputs = new Set(m.graph!.outputs.map((o) => o.name));
      const names = m.graph!.nodes.flatMap((n) => n.outputs).filter((o) => !graphOutputs.has(o));
      const s = await OrtSession.create(m, { extraOutputs: names, optimization: "disabled", threads: 1 });
      try {
        const feeds = Object.fromEntries(p.inputs.map((io) => [io.name, { dtype: DataType.FLOAT, dims: [2, ...io.shape], data: new Float32Array(2 * sampleSize(io.shape)).fill(0.5) }]));
        const out = await s.run(feeds);
        for (const name of names) {
          expect({ name, dtype: out[name]!.dtype }).toEqual({ name, dtype: types.get(name) });
          expect([DataType.UINT8, DataType.INT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.INT64, DataType.UINT64]).toContain(out[name]!.dtype);
        }
      } finally {
        await s.release();
      }
    }
  });

  const base = () => emitIntegerOnnx(cnnProgram(1, U8));

  it("catches a float op injected between two integer ops", () => {
    const m = interpose(base(), "a1", (i, o) => [
      node("Cast", [i], ["a1_f"], [intAttr("to", DataType.FLOAT)]),
      node("Mul", ["a1_f", "a1_f"], ["a1_sq"]),
      node("Cast", ["a1_sq"], [o], [intAttr("to", DataType.UINT8)]),
    ]);
    const problems = verifyIntegerOnly(m);
    expect(problems.some((p) => p.includes("Cast 'a1_f'") && p.includes("casts to f32"))).toBe(true);
    expect(problems.some((p) => p.includes("Mul 'a1_sq'"))).toBe(true);
    expect(problems.some((p) => p.includes("Cast 'a1'") && p.includes("f32"))).toBe(true);
  });

  it("catches a float constant, an op outside the list, an inner QuantizeLinear and a read DequantizeLinear output", () => {
    const floatConst = withNodes(
      interpose(base(), "a1", (i, o) => [node("Add", [i, "half"], [o])]),
      (n) => n,
      [makeFloatTensor("half", [], [0.5])],
    );
    expect(verifyIntegerOnly(floatConst).join("\n")).toMatch(/Add 'a1'.*f32|reads float value 'half'/);

    const relu = interpose(base(), "a1", (i, o) => [node("Relu", [i], [o])]);
    expect(verifyIntegerOnly(relu).join("\n")).toContain("Relu is not in the integer op list");

    const m = base();
    const scale = m.graph!.initializers.find((t) => t.dtype === DataType.FLOAT)!.name!;
    const zero = m.graph!.initializers.find((t) => t.dtype === DataType.UINT8 && t.dims.length === 0)!.name!;
    const innerQ = interpose(m, "a1", (i, o) => [node("DequantizeLinear", [i, scale, zero], ["a1_real"]), node("QuantizeLinear", ["a1_real", scale, zero], [o])]);
    const text = verifyIntegerOnly(innerQ).join("\n");
    expect(text).toContain("QuantizeLinear 'a1': quantizes 'a1_real', which is not a graph input");
    expect(text).toContain("DequantizeLinear 'a1_real': output 'a1_real' is not a graph output");
  });

  it("catches a graph output that is not a DequantizeLinear output and an undeclared use", () => {
    const m = base();
    const g = m.graph!;
    const bad = { ...m, graph: { ...g, nodes: g.nodes.filter((n) => n.opType !== "DequantizeLinear" || n.outputs[0] !== "logits") } };
    expect(verifyIntegerOnly(bad).join("\n")).toContain("graph output 'logits' is not computed");
    const early = { ...m, graph: { ...g, nodes: [...g.nodes].reverse() } };
    expect(verifyIntegerOnly(early).join("\n")).toContain("used before it is defined");
  });

  it("ortKernelHazards flags u8×s8 MatMulInteger and int64 Min", () => {
    const m = interpose(base(), "a1", (i, o) => [
      node("Cast", [i], ["a1_64"], [intAttr("to", DataType.INT64)]),
      node("Min", ["a1_64", "a1_64"], ["a1_min"]),
      node("Cast", ["a1_min"], ["a1_s8"], [intAttr("to", DataType.INT8)]),
      node("Cast", ["a1_s8"], [o], [intAttr("to", DataType.UINT8)]),
    ]);
    expect(verifyIntegerOnly(m)).toEqual([]);
    expect(ortKernelHazards(m)).toEqual(["Min 'a1_min': int64 comparisons are miscomputed"]);
    const mm = interpose(base(), "a1", (i, o) => [node("MatMulInteger", [i, "a1_w"], ["a1_mm"]), node("Cast", ["a1_mm"], [o], [intAttr("to", DataType.UINT8)])]);
    const withW = { ...mm, graph: { ...mm.graph!, initializers: [...mm.graph!.initializers, { name: "a1_w", dtype: DataType.INT8, dims: [5, 5], raw: new Uint8Array(25) }] } };
    expect(ortKernelHazards(withW)).toEqual(["MatMulInteger 'a1_mm': uint8 × int8 saturates int16 pair sums"]);
  });
});
