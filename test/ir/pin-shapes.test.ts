/**
 * Broadcasting with unknown dims, Resize shapes, and --input-shape pinning
 * (src/ir/infer-types.ts, src/ir/pin-shapes.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixqMain } from "../helpers/fixq-main.js";
import { broadcast, inferTypes } from "../../src/ir/infer-types.js";
import { parseInputShapes, pinInputShapes, pinSampleShapes, restoreSignature } from "../../src/ir/pin-shapes.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { tensorTypeOf } from "../../src/ir/types.js";
import { graph, model, node, value } from "./builders.js";

describe("broadcast", () => {
  it("keeps unknown dims unknown: Mul(f32[1], [N,16,?,?]) is [N,16,?,?], not [N,16,1,1]", () => {
    expect(broadcast([1], ["N", 16, undefined, undefined])).toEqual(["N", 16, undefined, undefined]);
    expect(broadcast(["N", 16, undefined, undefined], [1])).toEqual(["N", 16, undefined, undefined]);
    // A known dim > 1 fixes the other side; a missing leading axis counts as 1.
    expect(broadcast([undefined, 3], [4, 1, 3])).toEqual([4, undefined, 3]);
    expect(broadcast(["a", 5], ["b", 1])).toEqual([undefined, 5]);
    expect(broadcast([2, 1], [1, 7])).toEqual([2, 7]);
  });

  it("infers PaddleOCR's pattern: a scalar-like constant times a feature map", () => {
    const g = graph(
      [node("Conv", ["x", "w"], ["c"]), node("Mul", ["s", "c"], ["y"])],
      [value("x", 1, ["N", 3, "H", "W"])],
      [value("y")],
      [makeFloatTensor("w", [16, 3, 1, 1], new Array(48).fill(0)), makeFloatTensor("s", [1], [2])],
    );
    expect(inferTypes(g).get("y")!.shape).toEqual(["N", 16, undefined, undefined]);
  });

  it("gives Resize outputs from constant scales (float32 product, floored) or sizes", () => {
    const g = graph(
      [node("Resize", ["x", "", "sc"], ["y"]), node("Resize", ["x", "", "", "sz"], ["z"])],
      [value("x", 1, ["N", 2, 5, 7])],
      [value("y"), value("z")],
      [makeFloatTensor("sc", [4], [1, 1, 2, 0.5]), { name: "sz", dtype: 7, dims: [4], raw: new Uint8Array(BigInt64Array.from([1n, 2n, 9n, 3n]).buffer) }],
    );
    const t = inferTypes(g);
    expect(t.get("y")!.shape).toEqual(["N", 2, 10, 3]);
    expect(t.get("z")!.shape).toEqual([1, 2, 9, 3]);
  });
});

describe("pinInputShapes", () => {
  const m = model(
    graph(
      [node("Add", ["input", "input"], ["y"]), node("Identity", ["h"], ["hn"])],
      [value("input", 1, ["batch", "sequence"]), value("h", 1, [2, "batch", 64])],
      [value("y", 1, ["batch", "sequence"]), value("hn", 1, [2, "batch", 64])],
    ),
  );
  const shapeOf = (mm: typeof m, name: string) => tensorTypeOf([...mm.graph!.inputs, ...mm.graph!.outputs].find((v) => v.name === name)!.type)!.shape;

  it("pins the named input and the same symbolic dims in every input and output", () => {
    const p = pinInputShapes(m, parseInputShapes(["input=1x512"]));
    expect(shapeOf(p, "input")).toEqual([1, 512]);
    expect(shapeOf(p, "h")).toEqual([2, 1, 64]);
    expect(shapeOf(p, "hn")).toEqual([2, 1, 64]);
    expect(shapeOf(p, "y")).toEqual([1, 512]);
    // The original is untouched, and restoreSignature puts its declarations back.
    expect(shapeOf(m, "h")).toEqual([2, "batch", 64]);
    expect(shapeOf(restoreSignature(p, m), "h")).toEqual([2, "batch", 64]);
  });

  it("refuses unknown inputs, wrong ranks, changed fixed dims and contradicting symbols, each in one line", () => {
    expect(() => parseInputShapes(["x=1x3xHx4"])).toThrow("--input-shape x: dims must be non-negative integers separated by x, got '1x3xHx4'");
    expect(() => pinInputShapes(m, parseInputShapes(["nope=1"]))).toThrow("--input-shape names 'nope', which is not a model input (inputs: input, h)");
    expect(() => pinInputShapes(m, parseInputShapes(["input=1x2x3"]))).toThrow("input 'input' has rank 2 [batch,sequence]");
    expect(() => pinInputShapes(m, parseInputShapes(["h=3x1x64"]))).toThrow("dim 0 of input 'h' is fixed at 2 [2,batch,64]");
    expect(() => pinInputShapes(m, parseInputShapes(["input=1x512", "h=2x4x64"]))).toThrow("'batch' is 4 here but 1 in input 'input'");
  });
});

describe("pinSampleShapes", () => {
  const shapeOf = (v: { type?: Parameters<typeof tensorTypeOf>[0] }) => tensorTypeOf(v.type)?.shape;

  it("pins the value_info an exporter declared (torch dynamo: position ids [1, sequence]), the batch put back there too, and restoreSignature undoes it", () => {
    // ids [batch, seq] → Range(0, seq) → Unsqueeze → pos [1, seq]; h [batch, seq, 8] declared by the exporter
    const g = graph(
      [node("Shape", ["ids"], ["n"]), node("Squeeze", ["n"], ["len"]), node("Range", ["zero", "len", "one"], ["arange"]), node("Unsqueeze", ["arange", "axis0"], ["pos"]), node("Cast", ["ids"], ["h"], [{ name: "to", type: 2, i: 1 }])],
      [value("ids", 7, ["batch", "seq"])],
      [value("pos", 7, [1, "seq"]), value("h", 1, ["batch", "seq"])],
    );
    const declared = model({ ...g, valueInfo: [value("arange", 7, ["seq"]), value("h", 1, ["batch", "seq"])] });
    const p = pinSampleShapes(declared, parseInputShapes(["ids=1x16"]));
    expect(p.graph!.valueInfo.map(shapeOf)).toEqual([[16], ["batch", 16]]);
    expect(inferTypes(p.graph!).get("arange")?.shape).toEqual([16]);
    expect(pinInputShapes(declared, parseInputShapes(["ids=1x16"])).graph!.valueInfo.map(shapeOf)).toEqual([[16], [1, 16]]);
    expect(restoreSignature(p, declared).graph!.valueInfo.map(shapeOf)).toEqual([["seq"], ["batch", "seq"]]);
  });

  it("puts back the batch: the symbol pinned to 1 (torch seq-first [seq, batch, d]), else the leading symbolic dim", () => {
    const seqFirst = model(graph([node("Relu", ["x"], ["y"])], [value("x", 1, ["seq", "batch", 32])], [value("y", 1, ["seq", "batch", 32])]));
    const a = pinSampleShapes(seqFirst, parseInputShapes(["x=5x1x32"])).graph!;
    expect([shapeOf(a.inputs[0]!), shapeOf(a.outputs[0]!)]).toEqual([
      [5, "batch", 32],
      [5, "batch", 32],
    ]);
    // BERT: input_ids=1x16 pins the batch to 1 and the sequence to 16
    const bert = model(graph([node("Relu", ["ids"], ["y"])], [value("ids", 7, ["batch", "seq"])], [value("y", 1, ["batch", "seq", 8])]));
    const b = pinSampleShapes(bert, parseInputShapes(["ids=1x16"])).graph!;
    expect([shapeOf(b.inputs[0]!), shapeOf(b.outputs[0]!)]).toEqual([
      ["batch", 16],
      ["batch", 16, 8],
    ]);
    // a batch pinned to 4: the leading symbolic dim is the batch
    const c = pinSampleShapes(bert, parseInputShapes(["ids=4x16"])).graph!;
    expect(shapeOf(c.inputs[0]!)).toEqual(["batch", 16]);
  });
});

describe("--input-shape on a torch dynamo export (value_info on every value)", () => {
  it("quantizes the tiny BERT and compiles it to integer-only ONNX with the sequence pinned (the written model is opened in ORT first)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fixq-dynamo-"));
    try {
      const fx = join("test", "fixtures", "dynamo");
      const q = await fixqMain("quantize", join(fx, "bert-tiny.onnx"), "--calib", join(fx, "bert-tiny.npz"), "-o", join(dir, "q.onnx"));
      expect(q.status, q.stderr).toBe(0);
      const c = await fixqMain("compile", join(dir, "q.onnx"), "--target", "onnx-int", "-o", join(dir, "int.onnx"), "--input-shape", "input_ids=1x6");
      expect(c.status, c.stderr).toBe(0);
      expect(c.stderr).not.toMatch(/error/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
