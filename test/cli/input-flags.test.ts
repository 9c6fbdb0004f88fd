/**
 * The input-signature flags on the command line: usage mistakes are one line
 * and exit 2, a fixed batch of 2 is fed two samples per run in calibration
 * and evaluation alike, and the written model keeps its declared signature.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { writeNpy } from "../../src/io/npy.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { tensorTypeOf } from "../../src/ir/types.js";
import { fixq } from "../helpers/fixq-cli.js";
import { runModelFile } from "../helpers/ort-run.js";
import { graph, model, node, value } from "../ir/builders.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-input-flags-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** y = x·W for x [2, 4] (a fixed batch of 2) and a dynamic twin [n, 4]. */
function matmul(path: string, batch: number | string): string {
  const w = makeFloatTensor("w", [4, 3], [0.5, -1, 0.25, 1, 0.5, -0.5, -0.25, 0.75, 1, 0.125, -1, 0.5]);
  saveModel(model(graph([node("MatMul", ["x", "w"], ["y"], [], "mm")], [value("x", 1, [batch, 4])], [value("y", 1, [batch, 3])], [w]), 13), path);
  return path;
}

function oneLine(r: { status: number | null; stderr: string }, status: number, text: string) {
  expect(r.status).toBe(status);
  expect(r.stderr.trimEnd().split("\n")).toEqual([`error: ${text}`]);
}

describe("input flags", () => {
  const fixed = matmul(join(tmp, "fixed.onnx"), 2);
  const dynamic = matmul(join(tmp, "dynamic.onnx"), "n");
  const data = join(tmp, "x.npy");
  writeNpy(data, { dtype: "f4", shape: [10, 4], data: Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)) });

  it("quantizes and evaluates a fixed batch of 2 two samples per run, and the output runs in ONNX Runtime", async () => {
    const out = join(tmp, "fixed.q.onnx");
    const r = fixq("quantize", fixed, "-o", out, "--calib", data, "--calib-samples", "7", "--eval", data, "--json");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    // 7 samples is not a whole number of runs of 2: the first 6 calibrate.
    expect(s.calibration.samples).toBe(6);
    expect(s.eval.samples).toBe(10);
    const y = await runModelFile(out, { x: new ort.Tensor("float32", new Float32Array(8).fill(1), [2, 4]) });
    expect(y["y"]!.dims).toEqual([2, 3]);
    const odd = join(tmp, "odd.npy");
    writeNpy(odd, { dtype: "f4", shape: [3, 4], data: new Float32Array(12) });
    oneLine(fixq("eval", fixed, out, "--data", odd), 1, `data ${odd}: 3 samples is not a multiple of the fixed batch 2 of input 'x'`);
  });

  it("pins a dynamic batch for quantize and writes the model with its declared dims", () => {
    const out = join(tmp, "pinned.q.onnx");
    const r = fixq("quantize", dynamic, "-o", out, "--calib", data, "--input-shape", "x=5x4", "--json");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).calibration.samples).toBe(10);
    const q = loadModel(out);
    expect(tensorTypeOf(q.graph!.inputs[0]!.type)!.shape).toEqual(["n", 4]);
    expect(tensorTypeOf(q.graph!.outputs[0]!.type)!.shape).toEqual(["n", 3]);
    const e = fixq("eval", dynamic, out, "--data", data, "--input-shape", "x=5x4");
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/10 samples from .*x\.npy, batch 5,/);
  });

  it("refuses flag mistakes in one line, exit 2, writing nothing", () => {
    const out = join(tmp, "never.onnx");
    oneLine(fixq("quantize", dynamic, "-o", out, "--calib", data, "--input-shape", "y=1x3"), 2, "--input-shape names 'y', which is not a model input (inputs: x)");
    oneLine(fixq("quantize", dynamic, "-o", out, "--calib", data, "--input-shape", "x=1"), 2, "--input-shape x=1: input 'x' has rank 2 [n,4]");
    oneLine(fixq("quantize", dynamic, "-o", out, "--calib", data, "--input-value", "1"), 2, "--input-value '1': no NAME= (expected NAME=VALUE[:SHAPE], e.g. sr=16000 or h=0:2x1x64)");
    oneLine(fixq("quantize", dynamic, "-o", out, "--calib", data, "--input-value", "x=1,2:3x3"), 2, "--input-value x: 2 values for shape [3,3] (9 elements)");
    oneLine(fixq("quantize", dynamic, "-o", out, "--calib", data, "--input-value", "x=0", "--specialize"), 2, "--specialize: no If node of the main graph is decided by the --input-value constants");
    oneLine(fixq("eval", dynamic, dynamic, "--data", data, "--input-value", "x=0:1x4"), 2, `data ${data}: a .npy file feeds the one input without data, but --input-value already gives every input ('x')`);
    oneLine(fixq("inspect", dynamic, "--input-shape", "x=2x5"), 2, "--input-shape x=2x5: dim 1 of input 'x' is fixed at 4 [n,4]");
    expect(existsSync(out)).toBe(false);
    expect(fixq("inspect", dynamic, "--input-shape", "x=2x4", "--json").status).toBe(0);
  });

  it("inspect --probe on a model ONNX Runtime cannot run warns in one line and still reports", () => {
    const path = join(tmp, "custom.onnx");
    saveModel(model(graph([{ ...node("Mystery", ["x"], ["y"], [], "m"), domain: "com.example" }], [value("x", 1, ["n", 4])], [value("y")]), 13), path);
    const r = fixq("inspect", path, "--probe");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/input {2}x: f32\[n,4\]/);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^warning: probe: node 'm': onnxruntime refused the model: .*Mystery.*; shapes are static inference's\n$/);
  });
});
