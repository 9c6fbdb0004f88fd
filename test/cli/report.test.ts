/**
 * The HTML report end to end on the bundled CNN: `quantize --html` (with its
 * extra histogram pass), `eval --per-layer --html` (with the integer-kernel
 * SQNR per layer), `compile --html`, and `fixq report` over their --json
 * files. Expected values come from the data and weights read here, not from
 * the code under test.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-report-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const path = (name: string) => join(tmp, name);
const CALIB = 32;
const EVAL = 64;
/** A parsed --json document (untyped, as JSON.parse returns it). */
type Doc = ReturnType<typeof JSON.parse>;
const readJson = (p: string): Doc => JSON.parse(readFileSync(p, "utf8"));
const sections = (html: string) => [...html.matchAll(/data-section="([^"]+)"/g)].map((m) => m[1]);

describe("--html and fixq report on the bundled CNN", () => {
  let q: Doc;
  let e: Doc;
  let c: Doc;
  beforeAll(async () => {
    const data = readNpy("models/data/eval.npy");
    const per = data.shape.slice(1).reduce((a, b) => a * b, 1);
    writeNpy(path("eval64.npy"), { ...data, shape: [EVAL, ...data.shape.slice(1)], data: (data.data as Float32Array).slice(0, EVAL * per) });
    const rq = await fixqMain("quantize", "models/cnn.onnx", "-o", path("cnn.q.onnx"), "--calib-samples", String(CALIB), "--json", path("q.json"), "--html", path("q.html"));
    expect(rq.status, rq.stderr).toBe(0);
    const re = await fixqMain("eval", "models/cnn.onnx", path("cnn.q.onnx"), "--data", path("eval64.npy"), "--per-layer", "--json", path("e.json"), "--html", path("e.html"));
    expect(re.status, re.stderr).toBe(0);
    const rc = await fixqMain("compile", path("cnn.q.onnx"), "--json", path("c.json"), "--html", path("c.html"), "--report");
    expect(rc.status, rc.stderr).toBe(0);
    [q, e, c] = [readJson(path("q.json")), readJson(path("e.json")), readJson(path("c.json"))];
  }, 240_000);

  it("quantize --html: the input's histogram counts every calibration value, its minmax range is the data's", () => {
    const calib = readNpy("models/data/calib.npy");
    const per = calib.shape.slice(1).reduce((a, b) => a * b, 1);
    const values = (calib.data as Float32Array).slice(0, CALIB * per);
    const lo = values.reduce((a, b) => Math.min(a, b), Infinity);
    const hi = values.reduce((a, b) => Math.max(a, b), -Infinity);
    const input = q["histograms"].activations.find((a: Doc) => a.tensor === "input");
    expect(input.counts.reduce((a: number, b: number) => a + b, 0)).toBe(CALIB * per);
    expect(input.ranges.minmax[0]).toBeCloseTo(Math.min(lo, 0), 3);
    expect(input.ranges.minmax[1]).toBeCloseTo(hi, 3);
    expect(input.chosen).toBe("minmax");
    expect(Object.keys(input.ranges).sort()).toEqual(["entropy", "minmax", "mse", "percentile:99.99"]);
    // Every clipping range lies inside the data's (uint8: lo = 0 for non-negative data).
    for (const a of q["histograms"].activations) for (const [, [, h]] of Object.entries<number[]>(a.ranges)) expect(h).toBeLessThanOrEqual(a.max * (1 + 1e-3) + 1e-6);
    // Calibrated: the input, the four ReLU outputs and the logits (MaxPool/Flatten outputs share their input's range).
    expect(q["histograms"].pass).toMatchObject({ samples: CALIB, tensors: 6 });
    expect(q["histograms"].activations.map((a: Doc) => a.tensor).sort()).toEqual(["/features/features.1/Relu_output_0", "/features/features.4/Relu_output_0", "/features/features.7/Relu_output_0", "/relu/Relu_output_0", "input", "logits"]);
    expect(q["input"].bytes).toBe(readFileSync("models/cnn.onnx").length);
    expect(q["outputBytes"]).toBe(readFileSync(path("cnn.q.onnx")).length);
  });

  it("quantize --html: weight histograms and per-channel bands match the weights", () => {
    const w = tensorToFloat64(loadModel("models/cnn.onnx").graph!.initializers.find((t) => t.name === "features.0.weight")!);
    const h = q["histograms"].weights.find((x: Doc) => x.tensor === "features.0.weight");
    expect(h.counts.reduce((a: number, b: number) => a + b, 0)).toBe(w.length);
    const perChannel = w.length / 16;
    expect(h.channels.max).toHaveLength(16);
    for (let ch = 0; ch < 16; ch++) {
      const slice = w.slice(ch * perChannel, (ch + 1) * perChannel);
      expect(h.channels.max[ch]).toBeCloseTo(Math.max(...slice), 3);
      expect(h.channels.min[ch]).toBeCloseTo(Math.min(...slice), 3);
    }
  });

  it("eval --per-layer --html: graph order and the integer-kernel SQNR of every activation", () => {
    const acts = e["perLayer"].activations;
    expect(acts.map((a: Doc) => a.graphIndex).sort((x: number, y: number) => x - y)).toEqual(acts.map((_: Doc, i: number) => i));
    const byIndex = [...acts].sort((x: Doc, y: Doc) => x.graphIndex - y.graphIndex).map((a: Doc) => a.tensor);
    expect(byIndex[0]).toBe("input");
    expect(byIndex.indexOf("/features/features.1/Relu_output_0")).toBeLessThan(byIndex.indexOf("/features/features.4/Relu_output_0"));
    expect(e["perLayer"].integerKernelSamples).toBe(EVAL);
    // int8 weights in [-64, 64]: the integer kernels are exact on every CPU, so they track fake-quant within a few dB.
    for (const a of acts) {
      const ik = a.integerKernelSqnrDb === "inf" ? Infinity : a.integerKernelSqnrDb;
      const fq = a.sqnrDb === "inf" ? Infinity : a.sqnrDb;
      if (Number.isFinite(fq)) expect(Math.abs(ik - fq), a.tensor).toBeLessThan(3);
    }
  });

  it("compile --json: one requant row per Conv/Gemm, one multiplier per output channel", () => {
    expect(c["requant"].map((r: Doc) => [r.source, r.count])).toEqual([
      ["Conv '/features/features.0/Conv'", 16],
      ["Conv '/features/features.3/Conv'", 32],
      ["Conv '/features/features.6/Conv'", 64],
      ["Gemm '/fc1/Gemm'", 128],
      ["Gemm '/fc2/Gemm'", 10],
    ]);
    for (const r of c["requant"]) {
      expect(r.minMultiplier).toBeGreaterThanOrEqual(2 ** 30); // 31-bit multipliers: 2^30 ≤ m < 2^31
      expect(r.maxMultiplier).toBeLessThan(2 ** 31);
      expect(r.minScale).toBeLessThanOrEqual(r.maxScale);
      expect(r.minScale).toBeGreaterThanOrEqual(r.minMultiplier * 2 ** -r.maxShift);
      expect(r.maxScale).toBeLessThanOrEqual(r.maxMultiplier * 2 ** -r.minShift);
    }
  });

  it("each command's page shows its sections", () => {
    expect(sections(readFileSync(path("q.html"), "utf8"))).toEqual(["activation-ranges", "weight-ranges"]);
    expect(sections(readFileSync(path("e.html"), "utf8"))).toEqual(["per-layer"]);
    expect(sections(readFileSync(path("c.html"), "utf8"))).toEqual(["lowering"]);
  });

  it("fixq report puts the three runs on one page", async () => {
    const r = await fixqMain("report", path("q.json"), path("e.json"), path("c.json"), "-o", path("all.html"));
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(path("all.html"), "utf8");
    expect(sections(html)).toEqual(["activation-ranges", "weight-ranges", "per-layer", "lowering"]);
    expect(html).toContain('<article id="r3" class="run" data-command="compile">');
  });

  it("fixq report refuses bad input in one line, writing nothing", async () => {
    writeFileSync(path("bad.json"), "{ not json");
    writeFileSync(path("nocmd.json"), JSON.stringify({ perLayer: {} }));
    const cases: [string[], number, RegExp][] = [
      [[path("missing.json")], 1, /missing\.json: no such file/],
      [[path("bad.json")], 1, /bad\.json: not valid JSON/],
      [[path("nocmd.json")], 1, /nocmd\.json: not a fixq --json document: no 'command' field/],
      [[path("q.json"), path("bad.json")], 1, /bad\.json: not valid JSON/],
    ];
    for (const [inputs, code, message] of cases) {
      const r = await fixqMain("report", ...inputs, "-o", path("out.html"));
      expect(r.status).toBe(code);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(path("out.html"))).toBe(false);
    }
    const same = await fixqMain("report", path("q.json"), "-o", path("q.json"));
    expect(same.status).toBe(2);
    expect(readJson(path("q.json"))["command"]).toBe("quantize");
    const usage = await fixqMain("report", path("q.json"));
    expect(usage.status).toBe(2);
  });

  it("--html may not overwrite an input", async () => {
    const r = await fixqMain("compile", path("cnn.q.onnx"), "--report", "--html", path("cnn.q.onnx"));
    expect(r.status).toBe(2);
    expect(loadModel(path("cnn.q.onnx")).graph).toBeDefined();
  });
});
