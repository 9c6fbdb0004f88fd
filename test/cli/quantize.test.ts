import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixq } from "../helpers/fixq-cli.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { metadataOf } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { graph, model, node, value } from "../ir/builders.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-qcli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function oneErrorLine(r: { status: number | null; stderr: string }, status: number, msg: RegExp) {
  expect(r.status).toBe(status);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(msg);
}

describe("fixq quantize", () => {
  it("quantizes a bundled model with its bundled data, evaluates it, and reports in JSON", () => {
    const out = join(tmp, "sub", "cnn.q.onnx");
    const r = fixq("quantize", "models/cnn.onnx", "-o", out, "--calib-samples", "128", "--eval", "--json");
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.calibration.samples).toBe(128);
    expect(summary.eval.samples).toBe(2000);
    expect(summary.eval.floatTop1 - summary.eval.integerKernelTop1).toBeLessThan(0.01);
    expect(summary.eval.agreement).toBeGreaterThan(0.95);
    expect(summary.eval.sqnrDb).toBeGreaterThan(25);
    expect(summary.eval.fakeQuantSqnrDb).toBeGreaterThan(25);
    const meta = Object.fromEntries(metadataOf(loadModel(out)));
    expect(JSON.parse(meta["fixq.recipe"]!).calibSamples).toBe(128);
  });

  it("records calibration.sha256 as the SHA-256 of the .npy bytes after the header, for the samples used", () => {
    const out = join(tmp, "hash.q.onnx");
    const r = fixq("quantize", "models/mlp.onnx", "-o", out, "--calib-samples", "100", "--json");
    expect(r.status).toBe(0);
    // Independent of fixq's loader: the header length is the uint16 at byte 8 (.npy version 1), plus 10.
    const file = readFileSync("models/data/calib.npy");
    expect(file[6]).toBe(1);
    const body = file.subarray(10 + file.readUInt16LE(8));
    expect(body.length).toBe(512 * 784 * 4);
    const expected = createHash("sha256").update(body.subarray(0, 100 * 784 * 4)).digest("hex");
    expect(JSON.parse(r.stdout).calibration.sha256).toBe(expected);
    expect(JSON.parse(Object.fromEntries(metadataOf(loadModel(out)))["fixq.calibration"]!).sha256).toBe(expected);
  });

  it("with --json on standard output, still prints each fixed-point warning on standard error", () => {
    const r = fixq("quantize", "models/mlp.onnx", "-o", join(tmp, "mlp.wrap.onnx"), "--calib-samples", "64", "--acts", "fixed<8,1>", "--json");
    expect(r.status).toBe(0);
    const warnings: string[] = JSON.parse(r.stdout).warnings;
    // mlp's hidden ReLU outputs reach ~10, far past fixed<8,1>'s [-1, 0.99]
    expect(warnings.some((w) => w.startsWith("activation '/relu/Relu_output_0': calibrated range"))).toBe(true);
    // fixed-point activations over the default per-channel int8 weights: a design compile refuses, said up front
    expect(warnings.at(-1)).toMatch(/^fixed<8,1> activations with int8 per-channel weights: compile, emulate and eval --engine emulator refuse such layers/);
    expect(r.stderr.trimEnd().split("\n")).toEqual(warnings.map((w) => `warning: ${w}`));
  });

  it("prints top-1, agreement and output SQNR after --eval on a bundled model", () => {
    const r = fixq("quantize", "models/cnn.onnx", "-o", join(tmp, "cnn.text.onnx"), "--calib-samples", "64", "--eval");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^top-1 on 2000 samples: float \d+\.\d\d%, quantized \d+\.\d\d% in ORT integer kernels \(\d+\.\d\d% fake-quant\), drop -?\d+\.\d\d points; agreement \d+\.\d\d%; output SQNR \d+\.\d\d dB \(\d+\.\d\d dB fake-quant\)\n$/,
    );
  });

  it("evaluates a model that is not bundled on --eval DATA without labels: agreement and SQNR", () => {
    const copy = join(tmp, "mine.onnx");
    copyFileSync("models/cnn.onnx", copy);
    const x = readNpy("models/data/eval.npy");
    const data = join(tmp, "eval-256.npy");
    writeNpy(data, { dtype: "f4", shape: [256, 1, 28, 28], data: (x.data as Float32Array).slice(0, 256 * 784) });
    const args = ["quantize", copy, "-o", join(tmp, "mine.q.onnx"), "--calib", "models/data/calib.npy", "--calib-samples", "64", "--eval", data];
    const text = fixq(...args);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^on 256 samples \(no labels\): agreement \d+\.\d\d% in ORT integer kernels \(\d+\.\d\d% fake-quant\); output SQNR \d+\.\d\d dB \(\d+\.\d\d dB fake-quant\)\n$/);
    const json = fixq(...args, "--json");
    expect(json.status).toBe(0);
    const ev = JSON.parse(json.stdout).eval;
    expect(ev).toMatchObject({ samples: 256, output: "logits", floatTop1: null, integerKernelTop1: null, top1DropPoints: null });
    expect(ev.agreement).toBeGreaterThan(0.95);
    expect(ev.sqnrDb).toBeGreaterThan(25);
  });

  it("refuses --eval data that does not fit the model with one error line, before writing anything", () => {
    const out = join(tmp, "e.onnx");
    const r = fixq("quantize", "models/cnn.onnx", "-o", out, "--calib-samples", "16", "--eval", bad("eval-rgb.npy", [4, 3, 28, 28], 0));
    oneErrorLine(r, 1, /^error: data .*eval-rgb\.npy: shape \[4,3,28,28\] does not match input 'input'/);
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
  });

  it("takes options from a recipe file, flags overriding it", () => {
    const recipe = join(tmp, "recipe.json");
    writeFileSync(recipe, JSON.stringify({ granularity: "per-tensor", calibration: "percentile:99.9", calibSamples: 64 }));
    const out = join(tmp, "recipe.onnx");
    const r = fixq("quantize", "models/mlp.onnx", "-o", out, "--recipe", recipe, "--calibration", "minmax", "--json");
    expect(r.status).toBe(0);
    const meta = JSON.parse(Object.fromEntries(metadataOf(loadModel(out)))["fixq.recipe"]!);
    expect(meta).toMatchObject({ granularity: "per-tensor", calibration: "minmax", calibSamples: 64 });
  });

  const bad = (name: string, shape: number[], fill: number) => {
    const p = join(tmp, name);
    writeNpy(p, { dtype: "f4", shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });
    return p;
  };

  it("re-exports a model that is already QDQ (ORT's quantize_static output) without data or recipe", () => {
    const out = join(tmp, "reexported.onnx");
    const r = fixq("quantize", "test/fixtures/onnx/resnet.ort-qdq-defaults.onnx", "-o", out, "--json");
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ reexported: true, activations: 16, weights: 20, leftAsNodes: [] });
    const ops = (p: string) => loadModel(p).graph!.nodes.map((n) => n.opType).sort();
    expect(ops(out)).toEqual(ops("test/fixtures/onnx/resnet.ort-qdq-defaults.onnx"));
  });

  it("refuses a missing --recipe file as bad input (exit 1, one line), writing nothing", () => {
    const out = join(tmp, "norecipe.onnx");
    const r = fixq("quantize", "models/mlp.onnx", "-o", out, "--recipe", join(tmp, "no-such-recipe.json"));
    oneErrorLine(r, 1, /^error: --recipe .*no-such-recipe\.json: no such file$/);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a model without data, naming --calib and --data-free", () => {
    const copy = join(tmp, "notbundled.onnx");
    copyFileSync("models/cnn.onnx", copy);
    oneErrorLine(fixq("quantize", copy, "-o", join(tmp, "x.onnx")), 2, /--calib.*--data-free/);
  });

  it("refuses calibration data of the wrong shape, naming the expected shape", () => {
    oneErrorLine(fixq("quantize", "models/cnn.onnx", "-o", join(tmp, "x.onnx"), "--calib", bad("shape.npy", [4, 3, 28, 28], 0)), 1, /shape \[4,3,28,28\] does not match input 'input' \[batch,1,28,28\]/);
  });

  it("refuses NaN, an empty set, and an unwritable output; writes nothing", () => {
    oneErrorLine(fixq("quantize", "models/cnn.onnx", "-o", join(tmp, "x.onnx"), "--calib", bad("nan.npy", [2, 1, 28, 28], Number.NaN)), 1, /non-finite value NaN/);
    oneErrorLine(fixq("quantize", "models/cnn.onnx", "-o", join(tmp, "x.onnx"), "--calib", bad("empty.npy", [0, 1, 28, 28], 0)), 1, /empty/);
    const file = join(tmp, "a-file");
    writeFileSync(file, "x");
    oneErrorLine(fixq("quantize", "models/cnn.onnx", "-o", join(file, "x.onnx")), 2, /a-file is not a folder/);
    expect(existsSync(join(tmp, "x.onnx"))).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("refuses a model with no quantizable op", () => {
    const path = join(tmp, "relu-only.onnx");
    saveModel(model(graph([node("Relu", ["x"], ["y"])], [value("x", 1, ["n", 3])], [value("y", 1, ["n", 3])])), path);
    oneErrorLine(fixq("quantize", path, "-o", join(tmp, "y.onnx"), "--calib", bad("n.npy", [2, 3], 1)), 1, /no quantizable op/);
    expect(existsSync(join(tmp, "y.onnx"))).toBe(false);
  });

  it("refuses bad option values as usage errors", () => {
    oneErrorLine(fixq("quantize", "models/cnn.onnx", "-o", join(tmp, "z.onnx"), "--granularity", "per-row"), 2, /--granularity/);
    oneErrorLine(fixq("quantize", "models/cnn.onnx", "-o", join(tmp, "z.onnx"), "--calibration", "magic"), 2, /calibration/);
  });
});

describe("fixq quantize: float passes (BN folding always; --cle, --absorb-bias, --relu6-to-relu)", () => {
  it("reports folded BNs, equalized chains with spreads, absorption and the ReLU6 → ReLU float change in --json, and records the flags", () => {
    const out = join(tmp, "mnv2.dfq.onnx");
    const r = fixq("quantize", "models/mobilenetv2.bn.onnx", "-o", out, "--calib-samples", "64", "--granularity", "per-tensor", "--cle", "--absorb-bias", "--relu6-to-relu", "--json");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.passes.map((p: { pass: string }) => p.pass)).toEqual(["fold-batchnorm", "fold-affine", "relu6-to-relu", "equalize", "absorb-bias"]);
    const [fold, , relu6, cle] = s.passes;
    expect(fold.folded).toHaveLength(22);
    expect(relu6.replaced).toHaveLength(15);
    expect(cle.chains).toHaveLength(14);
    expect(cle.layers[0]).toMatchObject({ layer: expect.any(String), before: expect.any(Number), after: expect.any(Number) });
    expect(cle.skipped.some((k: { reason: string }) => /branch point/.test(k.reason))).toBe(true);
    expect(s.relu6ToReluFloatChange).toMatchObject({ samples: 2000, floatTop1: expect.any(Number), afterPassesTop1: expect.any(Number) });
    expect(Math.abs(s.relu6ToReluFloatChange.floatTop1 - s.relu6ToReluFloatChange.afterPassesTop1)).toBeLessThan(0.02);
    const recipe = JSON.parse(Object.fromEntries(metadataOf(loadModel(out)))["fixq.recipe"]!);
    expect(recipe).toMatchObject({ cle: true, absorbBias: true, relu6ToRelu: true });
    expect(loadModel(out).graph!.nodes.some((n) => n.opType === "BatchNormalization")).toBe(false);
  });

  it("prints the pass report on the terminal", () => {
    const r = fixq("quantize", "models/resnet.bn.onnx", "-o", join(tmp, "resnet.cle.onnx"), "--calib-samples", "64", "--cle");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/BN folding {2}9 folded, 0 kept/);
    expect(r.stderr).toMatch(/CLE {2}3 chains equalized in \d+ sweeps/);
    expect(r.stderr).toMatch(/1× a value has 2 consumers \(a branch point\)/);
    expect(r.stderr).toMatch(/\d+\.\d\d → \d+\.\d\d\s+\/layer1\/conv1\/Conv/);
  });
});

describe("fixq quantize: --bias-correction, --data-free, --input-range", () => {
  /** A preload for the CLI process that fails any attempt to open a .npy or .npz file. */
  const noData = join(tmp, "no-data.mjs");
  writeFileSync(
    noData,
    [
      'import fs from "node:fs";',
      'import { syncBuiltinESMExports } from "node:module";',
      "const guard = (f) => function (p, ...rest) { if (/\\.(npy|npz)$/i.test(String(p))) throw new Error('opened data file ' + p); return f.call(this, p, ...rest); };",
      'for (const k of ["openSync", "readFileSync", "createReadStream", "open", "readFile"]) fs[k] = guard(fs[k]);',
      'for (const k of ["open", "readFile"]) fs.promises[k] = guard(fs.promises[k]);',
      "syncBuiltinESMExports();",
    ].join("\n"),
  );
  const fixqNoData = (...args: string[]) => {
    const r = spawnSync(process.execPath, ["--import", noData, "bin/fixq.mjs", ...args], { encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("the guard works: a normal run that opens the bundled calibration set fails under it", () => {
    const r = fixqNoData("quantize", "models/resnet.bn.onnx", "-o", join(tmp, "guard.onnx"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/opened data file .*calib\.npy/);
  });

  it("--data-free on a bundled model opens no data file; JSON reports the ranges and the corrections; metadata records it", () => {
    const out = join(tmp, "mnv2.df.onnx");
    const r = fixqNoData("quantize", "models/mobilenetv2.nowd.bn.onnx", "-o", out, "--data-free", "--granularity", "per-tensor", "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.calibration).toEqual({ dataFree: true, inputRange: [0, 1] });
    expect(s.recipe).toMatchObject({ dataFree: true, cle: true, absorbBias: true, biasCorrection: "analytic", inputRange: [0, 1] });
    expect(s.passes.map((p: { pass: string }) => p.pass)).toEqual(["fold-batchnorm", "fold-affine", "equalize", "absorb-bias", "data-free-ranges", "bias-correction"]);
    const bc = s.passes.at(-1);
    expect(bc).toMatchObject({ mode: "analytic", runs: 0 });
    expect(bc.corrected.length).toBeGreaterThan(15);
    expect(bc.corrected[0]).toEqual({ layer: expect.any(String), channels: expect.any(Number), maxAbsDelta: expect.any(Number) });
    expect(bc.skipped).toEqual([{ layer: "/stem/stem.0/Conv", reason: "'input' is a graph input (no BN statistics)" }]);
    expect(JSON.parse(Object.fromEntries(metadataOf(loadModel(out)))["fixq.calibration"]!)).toMatchObject({ dataFree: true, inputRange: [0, 1] });
  });

  it("--data-free prints the range sources and the per-layer corrections on the terminal", () => {
    const r = fixqNoData("quantize", "models/resnet.bn.onnx", "-o", join(tmp, "resnet.df.onnx"), "--data-free");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/\(data-free: no calibration data read\)/);
    expect(r.stderr).toMatch(/data-free ranges {2}13 tensors from BN statistics \(β ± 6\|γ\|\), 1 from the input range, 1 by interval arithmetic; input range \[0, 1\] assumed/);
    expect(r.stderr).toMatch(/bias correction \(analytic\) {2}7 layers, E\[x\] from BN statistics/);
    expect(r.stderr).toMatch(/\d\.\d\de-\d {2}\/layer1\/conv1\/Conv/);
  });

  it("a model that is not bundled needs --input-range for --data-free, and quantizes with it", () => {
    const copy = join(tmp, "mine.bn.onnx");
    copyFileSync("models/resnet.bn.onnx", copy);
    oneErrorLine(fixqNoData("quantize", copy, "-o", join(tmp, "mine.df.onnx"), "--data-free"), 1, /data-free: no range for 'input': graph input 'input' has no assumed range \(give --input-range LO,HI\)/);
    const r = fixqNoData("quantize", copy, "-o", join(tmp, "mine.df.onnx"), "--data-free", "--input-range", "0,1", "--json");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).calibration).toEqual({ dataFree: true, inputRange: [0, 1] });
  });

  it("--bias-correction empirical reports each layer's max |Δb|, in --json and on the terminal", () => {
    const args = ["quantize", "models/resnet.bn.onnx", "-o", join(tmp, "resnet.bc.onnx"), "--calib-samples", "64", "--granularity", "per-tensor", "--bias-correction", "empirical"];
    const j = fixq(...args, "--json");
    expect(j.status).toBe(0);
    const bc = JSON.parse(j.stdout).passes.find((p: { pass: string }) => p.pass === "bias-correction");
    expect(bc).toMatchObject({ mode: "empirical", runs: 9, skipped: [] }); // the float run, then 8 waves (layer2 and layer3 correct conv1 and the shortcut together)
    expect(bc.corrected).toHaveLength(10);
    expect(bc.corrected.every((c: { maxAbsDelta: number }) => c.maxAbsDelta > 0)).toBe(true);
    const t = fixq(...args);
    expect(t.status).toBe(0);
    expect(t.stderr).toMatch(/bias correction \(empirical\) {2}10 layers in 9 runs over the calibration data/);
    expect(t.stderr).toMatch(/max \|Δb\| per layer:\n\s+\d\.\d\de-\d {2}\/stem\/stem\.0\/Conv/);
  });

  it("refuses --data-free with --calib or empirical correction, and unknown modes and ranges, as usage errors", () => {
    const out = join(tmp, "u.onnx");
    oneErrorLine(fixq("quantize", "models/resnet.bn.onnx", "-o", out, "--data-free", "--calib", "models/data/calib.npy"), 2, /--data-free reads no data: drop --calib/);
    oneErrorLine(fixq("quantize", "models/resnet.bn.onnx", "-o", out, "--data-free", "--bias-correction", "empirical"), 2, /empirical needs calibration data/);
    oneErrorLine(fixq("quantize", "models/resnet.bn.onnx", "-o", out, "--bias-correction", "always"), 2, /--bias-correction must be one of none, empirical, analytic, got 'always'/);
    oneErrorLine(fixq("quantize", "models/resnet.bn.onnx", "-o", out, "--data-free", "--input-range", "0"), 2, /--input-range must be LO,HI/);
    expect(existsSync(out)).toBe(false);
  });
});
