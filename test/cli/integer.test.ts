/**
 * The integer commands as a user runs them: `fixq emulate`, `fixq compile
 * --target js|onnx-int [--report]` and `fixq eval --engine emulator`, on the
 * bundled CNN quantized by `fixq quantize`, plus their one-line errors.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { evalX } from "../helpers/bundled-data.js";
import { fixq } from "../helpers/fixq-cli.js";
import { quantizedCnn } from "../helpers/qdq-models.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-integer-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const path = (name: string) => join(tmp, name);
const N = 200;
const x = evalX.data.subarray(0, N * 784);

beforeAll(async () => {
  saveModel((await quantizedCnn()).quantized, path("cnn.q.onnx"));
  writeNpy(path("x.npy"), { dtype: "f4", shape: [N, 1, 28, 28], data: x });
});

describe("fixq emulate", () => {
  it("writes dequantized floats and raw integers equal to the library emulator's", () => {
    const r = fixq("emulate", path("cnn.q.onnx"), "--data", path("x.npy"), "--out", path("y.npy"), "--out-int", path("yi.npy"), "--batch-size", "37");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/emulated 200 samples through \d+ integer ops/);
    const p = integerizeModel(loadModel(path("cnn.q.onnx")));
    const want = runProgram(p, new Map([["input", x]]), N);
    const y = readNpy(path("y.npy"));
    const yi = readNpy(path("yi.npy"));
    expect(y.shape).toEqual([N, 10]);
    expect(y.dtype).toBe("f4");
    expect(yi.dtype).toBe("u1"); // the output activation's own storage type
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(y.data as Float32Array).equals(bytes(want.outputs.get("logits")!))).toBe(true);
    expect(Array.from(yi.data as Uint8Array)).toEqual(Array.from(want.ints.get("logits")!));
  });

  it("--assert-ranges checks the certificate while running and gives the same bits", () => {
    const r = fixq("emulate", path("cnn.q.onnx"), "--data", path("x.npy"), "--out", path("y-checked.npy"), "--assert-ranges");
    expect(r.status).toBe(0);
    expect(readFileSync(path("y-checked.npy")).equals(readFileSync(path("y.npy")))).toBe(true);
  });

  it("reads float16 data as values, not as raw half bits", () => {
    const half = Uint16Array.from(x.subarray(0, 8 * 784), (v) => {
      // x is k/255; encode to the nearest float16 by hand (normal numbers suffice here)
      if (v === 0) return 0;
      const e = Math.floor(Math.log2(v));
      const m = Math.round((v / 2 ** e - 1) * 1024);
      return ((e + 15) << 10) + m;
    });
    writeNpy(path("x16.npy"), { dtype: "f2", shape: [8, 1, 28, 28], data: half });
    const r = fixq("emulate", path("cnn.q.onnx"), "--data", path("x16.npy"), "--out", path("y16.npy"));
    expect(r.status).toBe(0);
    const y16 = readNpy(path("y16.npy")).data as Float32Array;
    const y = runProgram(integerizeModel(loadModel(path("cnn.q.onnx"))), new Map([["input", x.subarray(0, 8 * 784)]]), 8).outputs.get("logits")!;
    let same = 0;
    for (let s0 = 0; s0 < 8; s0++) {
      const am = (a: Float32Array) => Array.from(a.subarray(s0 * 10, s0 * 10 + 10)).reduce((b, v, i, arr) => (v > arr[b]! ? i : b), 0);
      if (am(y16) === am(y)) same++;
    }
    expect(same).toBeGreaterThanOrEqual(7); // float16 rounding of the pixels may flip a close call
    let diff = 0;
    for (let i = 0; i < 80; i++) diff += Math.abs(y16[i]! - y[i]!) / 80;
    expect(diff).toBeLessThan(0.5); // raw half bits (values up to 65535) would saturate every pixel
  });

  it("rejects a float model, bad data shapes and a bad flag with one line and no output", () => {
    const cases: [string[], RegExp, number][] = [
      [["emulate", "models/cnn.onnx", "--data", path("x.npy"), "--out", path("bad1.npy")], /not quantized: the model has no QuantizeLinear/, 1],
      [["emulate", path("cnn.q.onnx"), "--data", "models/data/calib_labels.npy", "--out", path("bad2.npy")], /does not fit input 'input'|no such file/, 1],
      [["emulate", path("cnn.q.onnx"), "--data", path("x.npy"), "--out", path("bad3.npy"), "--rounding", "nearest"], /--rounding expects single or double/, 2],
      [["emulate", path("cnn.q.onnx"), "--data", path("x.npy"), "--out", path("bad4.txt")], /--out must be a \.npy or \.npz file/, 2],
      [["emulate", path("cnn.q.onnx"), "--data", path("x.npy"), "--out", path("bad5.npy"), "--out-int", path("missing/yi.npy")], /folder .*missing does not exist/, 2],
    ];
    for (const [args, message, status] of cases) {
      const r = fixq(...args);
      expect(r.status).toBe(status);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(args[args.indexOf("--out") + 1]!)).toBe(false);
    }
  });

  it("accepts a QDQ model written by ONNX Runtime's quantize_static", () => {
    const r = fixq("emulate", "test/fixtures/onnx/cnn.ort-qdq-per-channel-u8.onnx", "--data", path("x.npy"), "--out", path("ort.npy"));
    expect(r.status).toBe(0); // ONNX Runtime's quantize_static output is accepted as is
  });
});

describe("fixq compile", () => {
  it("--target onnx-int writes a model ONNX Runtime runs to the emulator's exact floats", async () => {
    const r = fixq("compile", path("cnn.q.onnx"), "--target", "onnx-int", "-o", path("cnn.int.onnx"));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/wrote .*cnn\.int\.onnx: \d+ integer ops/);
    expect(r.stdout).toContain("ONNX Runtime loads it (graph optimizations all)");
    const s = await OrtSession.create(loadModel(path("cnn.int.onnx")), { threads: 1 });
    try {
      const out = await s.run({ input: { dtype: 1, dims: [N, 1, 28, 28], data: x } });
      const want = runProgram(integerizeModel(loadModel(path("cnn.q.onnx"))), new Map([["input", x]]), N);
      expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual(Array.from(want.outputs.get("logits")!));
    } finally {
      await s.release();
    }
  });

  it("--target js writes a module that imports nothing; --report prints widths and headroom", () => {
    const r = fixq("compile", path("cnn.q.onnx"), "--target", "js", "-o", path("js"), "--report");
    expect(r.status).toBe(0);
    const text = readFileSync(path("js/model.mjs"), "utf8");
    expect(text).not.toMatch(/^\s*import\s/m);
    expect(r.stdout).toMatch(/accumulator certificate/);
    // layer, op, its weight type (the default weights, [-64, 64], are int8), range, width, storage, headroom
    expect(r.stdout).toMatch(/Conv '\/features\/features\.0\/Conv'\s+conv\s+int8\s+\[-?\d+, \d+\]\s+int\d+\s+32\s+\d+/);
  });

  it("errors: no target, a file where a folder is needed, a multiplier width out of range", () => {
    writeFileSync(path("afile"), "x");
    const cases: [string[], RegExp, number][] = [
      [["compile", path("cnn.q.onnx")], /give --target js\|c\|hls\|onnx-int with -o, or --report/, 2],
      [["compile", path("cnn.q.onnx"), "--target", "js", "-o", path("afile")], /-o for --target js is a folder/, 2],
      [["compile", path("cnn.q.onnx"), "--target", "wasm", "-o", path("x.wasm")], /--target expects js or c or hls or onnx-int/, 2],
      [["compile", path("cnn.q.onnx"), "--report", "--multiplier-bits", "40"], /--multiplier-bits expects an integer in 2…31/, 2],
    ];
    for (const [args, message, status] of cases) {
      const r = fixq(...args);
      expect(r.status).toBe(status);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("fixq eval --engine emulator", () => {
  it("gates on the integer-only model and labels the column", () => {
    writeNpy(path("labels.npy"), { dtype: "i8", shape: [N], data: readNpy("models/data/eval_labels.npy").data.slice(0, N) as BigInt64Array });
    const r = fixq("eval", "models/cnn.onnx", path("cnn.q.onnx"), "--data", path("x.npy"), "--labels", path("labels.npy"), "--engine", "emulator", "--max-drop", "3", "--json", path("r.json"));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/CAND emulator \(gate\)/);
    const json = JSON.parse(readFileSync(path("r.json"), "utf8"));
    expect(json.metrics.candidate.all.engine).toBe("emulator");
    expect(json.metrics.candidate.all.accuracy.count).toBe(N);
  });
});
