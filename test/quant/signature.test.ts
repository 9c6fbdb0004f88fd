/**
 * Input signatures (src/quant/signature.ts, input-values.ts): batch axes are
 * found by the shared symbolic name, a fixed batch is fed B samples per run,
 * a state input [2, batch, 64] is sliced along axis 1, constants are repeated
 * along the batch axis, and an input with no data is named. Expected values
 * are written out by hand or computed here by index arithmetic.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { NpyArray } from "../../src/io/npy.js";
import { feedsFor, npyFileSource } from "../../src/quant/feeds.js";
import { parseInputValue, parseInputValues, resolveInputValues } from "../../src/quant/input-values.js";
import { bindData, inputSignature, memoryColumn, repeatAxis, sliceAxis } from "../../src/quant/signature.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";
import { graph, model, node, value } from "../ir/builders.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";

/** Silero VAD's signature: input [batch, sequence], sr scalar int64, h and c [2, batch, 64] (64 → 3 here). */
const vadLike = graph(
  [node("Identity", ["input"], ["y"]), node("Identity", ["h"], ["hn"]), node("Identity", ["c"], ["cn"]), node("Identity", ["sr"], ["s"])],
  [value("input", 1, ["batch", "sequence"]), value("sr", DataType.INT64, []), value("h", 1, [2, "batch", 3]), value("c", 1, [2, "batch", 3])],
  [value("y"), value("hn"), value("cn"), value("s")],
);

const f4 = (shape: number[], f: (i: number) => number): NpyArray => ({ dtype: "f4", shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });
const columns = (arrays: Record<string, NpyArray>) => new Map(Object.entries(arrays).map(([k, a]) => [k, memoryColumn(a)]));

describe("inputSignature", () => {
  it("takes the batch dim from the first input with a symbolic first dim and finds it in the others", () => {
    const sig = inputSignature(vadLike);
    expect(sig.batchSymbol).toBe("batch");
    expect(sig.slots.map((s) => [s.name, s.batchAxis])).toEqual([
      ["input", 0],
      ["sr", null],
      ["h", 1],
      ["c", 1],
    ]);
  });

  it("uses the first axis when no input has a symbolic first dim, and marks inputs with an initializer optional", () => {
    const g = graph([node("Add", ["x", "b"], ["y"])], [value("x", 1, [1, 25, 4]), value("b", 1, [4])], [value("y")], [makeFloatTensor("b", [4], [1, 2, 3, 4])]);
    const sig = inputSignature(g);
    expect(sig.batchSymbol).toBeUndefined();
    expect(sig.slots.map((s) => [s.name, s.batchAxis, s.optional])).toEqual([
      ["x", 0, false],
      ["b", 0, true],
    ]);
  });
});

describe("inputSignature of seq-first exports (the batch on axis 1)", () => {
  const relu = (x: ReturnType<typeof value>) => graph([node("Relu", ["x"], ["y"])], [x], [value("y")]);

  it("a symbol named like a batch is the batch wherever it sits, also next to a symbolic sequence first", () => {
    for (const shape of [[5, "batch", 4], ["seq", "batch", 4], ["seq", "batch_size", 4]]) {
      const sig = inputSignature(relu(value("x", 1, shape)));
      expect(sig.slots.map((s) => s.batchAxis)).toEqual([1]);
    }
  });

  it("the only symbol, off the first axis, is the batch when the graph keeps its samples apart (x [5, N, 4] → Relu), not when a node mixes them", () => {
    expect(inputSignature(relu(value("x", 1, [5, "N", 4]))).slots[0]!.batchAxis).toBe(1);
    // a [1, T] signal summed over T: T is a length, not a batch; samples stay on axis 0 as before
    const summed = graph([node("ReduceSum", ["x"], ["y"], [{ name: "keepdims", type: 2, i: 1 }])], [value("x", 1, [1, "T"])], [value("y")]);
    const sig = inputSignature(summed);
    expect([sig.batchSymbol, sig.slots[0]!.batchAxis]).toEqual([undefined, 0]);
  });

  it("the torch encoder exports: seq-first data is counted and sliced along the batch, the padding mask along its axis 0", async () => {
    const { loadModel } = await import("../../src/ir/onnx/load.js");
    const { encoderPath } = await import("../helpers/torch-encoder-fixture.js");
    const axes = (file: string) => inputSignature(loadModel(encoderPath(file)).graph!).slots.map((s) => [s.name, s.batchAxis]);
    expect(axes("seq-first.onnx")).toEqual([["x", 1]]);
    expect(axes("seq-first.dynseq.onnx")).toEqual([["x", 1]]);
    expect(axes("batch-first.onnx")).toEqual([["x", 0]]);
    expect(axes("padmask.onnx")).toEqual([
      ["x", 1],
      ["mask", 0],
    ]);
    // 6 samples of x [5, 6, 4]: 6 samples, not 5 sequence positions
    const g = relu(value("x", 1, [5, "batch", 4]));
    const bound = bindData(g, columns({ x: f4([5, 6, 4], (i) => i) }), new Map(), "x.npy");
    expect(bound.samples).toBe(6);
    // samples 2…3: element [t, 2 + k, j] of x
    expect(Array.from(bound.batch(2, 2)["x"]!.data as Float32Array).slice(0, 8)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });
});

describe("sliceAxis and repeatAxis", () => {
  it("slice a middle axis and repeat a one-sample axis (checked element by element)", () => {
    const t: HostTensor = { dtype: 1, dims: [2, 5, 3], data: Float32Array.from({ length: 30 }, (_, i) => i) };
    const s = sliceAxis(t, 1, 2, 2);
    expect(s.dims).toEqual([2, 2, 3]);
    // element [a, k, j] of the slice is element [a, 2 + k, j] of t: a·15 + (2 + k)·3 + j
    expect(Array.from(s.data as Float32Array)).toEqual([6, 7, 8, 9, 10, 11, 21, 22, 23, 24, 25, 26]);
    const one: HostTensor = { dtype: 1, dims: [2, 1, 2], data: Float32Array.from([1, 2, 3, 4]) };
    const r = repeatAxis(one, 1, 3);
    expect(r.dims).toEqual([2, 3, 2]);
    expect(Array.from(r.data as Float32Array)).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
  });
});

describe("bindData", () => {
  const N = 5;
  const input = f4([N, 4], (i) => i);
  const h = f4([2, N, 3], (i) => 100 + i);
  const c = f4([2, N, 3], (i) => -i);
  const sr = new Map([["sr", { dtype: DataType.INT64, dims: [], data: BigInt64Array.from([16000n]) } as HostTensor]]);

  it("slices h and c along their batch axis, feeds a scalar whole, and agrees with the samples run alone", () => {
    const bound = bindData(vadLike, columns({ input, h, c }), sr, "d.npz");
    expect(bound.samples).toBe(N);
    expect(bound.fixedBatch).toBeUndefined();
    const b = bound.batch(1, 2);
    expect(b["input"]!.dims).toEqual([2, 4]);
    expect(Array.from(b["input"]!.data as Float32Array)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(b["h"]!.dims).toEqual([2, 2, 3]);
    // h[a, 1 + k, j] = 100 + a·15 + (1 + k)·3 + j
    expect(Array.from(b["h"]!.data as Float32Array)).toEqual([103, 104, 105, 106, 107, 108, 118, 119, 120, 121, 122, 123]);
    expect(b["sr"]!.dims).toEqual([]);
    expect(Array.from(b["sr"]!.data as BigInt64Array)).toEqual([16000n]);
  });

  it("names an input that has no data, and one array given twice", () => {
    expect(() => bindData(vadLike, columns({ input, h }), sr, "d.npz")).toThrow(
      "d.npz: no data for model input 'c' [2,batch,3] (found: input, h): add an array 'c' to the .npz or give --input-value c=VALUE",
    );
    expect(() => bindData(vadLike, columns({ input, h, c }), new Map([...sr, ["h", { dtype: 1, dims: [2, 1, 3], data: new Float32Array(6) }]]), "d.npz")).toThrow(
      "input 'h' is given both by the data file and by --input-value",
    );
  });

  it("says how to cast token ids saved as int32 for an int64 input, and gives no cast between ints and floats", () => {
    const ids = graph([node("Identity", ["input_ids"], ["y"])], [value("input_ids", DataType.INT64, ["batch", "sequence"])], [value("y")]);
    const i4: NpyArray = { dtype: "i4", shape: [2, 3], data: new Int32Array(6) };
    expect(() => bindData(ids, columns({ input_ids: i4 }), new Map(), "ids.npz")).toThrow(
      "ids.npz: dtype int32 does not match input 'input_ids' int64: save the array as int64 (NumPy: a.astype(np.int64))",
    );
    expect(() => bindData(ids, columns({ input_ids: f4([2, 3], () => 0) }), new Map(), "ids.npz")).toThrow(/^ids\.npz: dtype f32 does not match input 'input_ids' int64$/);
  });

  it("names CAND when the data fits REF but not CAND (eval of two different models)", () => {
    const ids = graph([node("Identity", ["input_ids"], ["y"])], [value("input_ids", DataType.INT64, ["batch", "sequence"])], [value("y")]);
    const i8 = (): NpyArray => ({ dtype: "i8", shape: [2, 3], data: new BigInt64Array(6) });
    expect(() => bindData(ids, columns({ input_ids: i8(), token_type_ids: i8() }), new Map(), "data d.npz", { who: "CAND " })).toThrow(
      "data d.npz: array 'token_type_ids' matches no CAND model input (inputs: 'input_ids')",
    );
  });

  it("checks the batch axis against the other inputs' sample count", () => {
    expect(() => bindData(vadLike, columns({ input, h: f4([2, 4, 3], () => 0), c }), sr, "d.npz")).toThrow("different sample counts (5 and 4: input 'h')");
    expect(() => bindData(vadLike, columns({ input, h: f4([3, N, 3], () => 0), c }), sr, "d.npz")).toThrow("shape [3,5,3] does not match input 'h' [2,batch,3]");
  });

  it("repeats a one-sample array or --input-value along the batch axis of every run", () => {
    const values = resolveInputValues(vadLike, parseInputValues(["sr=8000", "h=0.5:2x1x3"]));
    const bound = bindData(vadLike, columns({ input, c: f4([2, 1, 3], (i) => i) }), values, "d.npz");
    expect(bound.samples).toBe(N);
    const b = bound.batch(3, 2);
    expect(b["h"]!.dims).toEqual([2, 2, 3]);
    expect(Array.from(b["h"]!.data as Float32Array)).toEqual(new Array(12).fill(0.5));
    expect(Array.from(b["c"]!.data as Float32Array)).toEqual([0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    expect(Array.from(b["sr"]!.data as BigInt64Array)).toEqual([8000n]);
  });

  it("feeds a fixed batch of 1 one sample per run, and keeps whole runs under a limit", () => {
    const g = graph([node("Relu", ["x"], ["y"])], [value("x", 1, [2, 3])], [value("y", 1, [2, 3])]);
    const bound = bindData(g, columns({ "": f4([6, 3], (i) => i) }), new Map(), "d.npy");
    expect(bound.fixedBatch).toBe(2);
    expect(bound.samples).toBe(6);
    expect(bindData(g, columns({ "": f4([6, 3], (i) => i) }), new Map(), "d.npy", { limit: 5 }).samples).toBe(4);
    expect(() => bindData(g, columns({ "": f4([5, 3], (i) => i) }), new Map(), "d.npy")).toThrow("5 samples is not a multiple of the fixed batch 2 of input 'x'");
  });

  it("feeds a static input whose first dim is not the fixed batch whole to every run (x [2, 3] · w [3, 4])", () => {
    const g = graph([node("MatMul", ["x", "w"], ["y"])], [value("x", 1, [2, 3]), value("w", 1, [3, 4])], [value("y", 1, [2, 4])]);
    const w = f4([3, 4], (i) => 10 + i);
    const bound = bindData(g, columns({ x: f4([4, 3], (i) => i), w }), new Map(), "d.npz");
    expect([bound.samples, bound.fixedBatch]).toEqual([4, 2]);
    const b = bound.batch(2, 2);
    expect(Array.from(b["x"]!.data as Float32Array)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(b["w"]!.dims).toEqual([3, 4]);
    expect(Array.from(b["w"]!.data as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => 10 + i));
    // two runs' worth of w [6, 4] cannot be cut into batches of 2: refused, saying why
    expect(() => bindData(g, columns({ x: f4([4, 3], (i) => i), w: f4([6, 4], () => 0) }), new Map(), "d.npz")).toThrow(
      "d.npz: shape [6,4] does not match input 'w' [3,4]: its dim 0 is fixed at 3, but input 'x' fixes the batch at 2 (an array of exactly [3,4] is fed whole to every run)",
    );
  });

  it("leaves out an input that has an initializer unless the data holds it", () => {
    const g = graph([node("Add", ["x", "b"], ["y"])], [value("x", 1, ["n", 2]), value("b", 1, [2])], [value("y")], [makeFloatTensor("b", [2], [1, 2])]);
    expect(Object.keys(feedsFor(g, new Map([["", f4([3, 2], (i) => i)]]), "d.npy"))).toEqual(["x"]);
  });

  it("a .npy feeds the one input that --input-value leaves without data", () => {
    const m = model(vadLike);
    const values = resolveInputValues(vadLike, parseInputValues(["sr=16000", "h=0:2x1x3", "c=0"]));
    // A .npy on disk is not needed to check the binding: npyFileSource fails on a missing file before binding.
    expect(() => npyFileSource(m.graph!, "/nonexistent.npy", undefined, values)).toThrow(/cannot read/);
    const bound = bindData(vadLike, columns({ "": input }), values, "d.npy");
    expect(bound.inputOf.get("")).toBe("input");
    expect(bound.batch(0, 2)["c"]!.dims).toEqual([2, 2, 3]);
  });
});

describe("--input-value", () => {
  it("parses scalars, lists, fills and shapes", () => {
    expect(parseInputValue("sr=16000")).toEqual({ name: "sr", values: ["16000"], dims: undefined });
    expect(parseInputValue("m=1,0,1:1x3")).toEqual({ name: "m", values: ["1", "0", "1"], dims: [1, 3] });
    expect(parseInputValue("h=0:2x1x64")).toEqual({ name: "h", values: ["0"], dims: [2, 1, 64] });
    expect(() => parseInputValue("16000")).toThrow("--input-value '16000': no NAME=");
    expect(() => parseInputValue("h=0:2xbx64")).toThrow("shape '2xbx64' is not dims separated by x");
    expect(() => parseInputValues(["a=1", "a=2"])).toThrow("--input-value gives input 'a' twice");
  });

  it("reads numbers in the input's type and refuses what the type cannot hold", () => {
    const v = resolveInputValues(vadLike, parseInputValues(["sr=16000", "c=1,2,3,4,5,6:2x1x3"]));
    expect(v.get("sr")).toEqual({ dtype: DataType.INT64, dims: [], data: BigInt64Array.from([16000n]) });
    expect(Array.from(v.get("c")!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => resolveInputValues(vadLike, parseInputValues(["sr=16000.5"]))).toThrow("'16000.5' is not an integer (input 'sr' is int64)");
    expect(() => resolveInputValues(vadLike, parseInputValues(["c=1,2:2x1x3"]))).toThrow("2 values for shape [2,1,3] (6 elements)");
    expect(() => resolveInputValues(vadLike, parseInputValues(["nope=1"]))).toThrow("--input-value names 'nope', which is not a model input");
    // One number for [batch, sequence]: the sequence length is unknown, so a shape is needed.
    expect(() => resolveInputValues(vadLike, parseInputValues(["input=0"]))).toThrow("give a shape (input=0:1xN)");
  });
});
