/**
 * `fixq eval`: the CI accuracy gate, run as a subprocess on the bundled CNN and
 * a subset of its eval set, plus the report formats in-process.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixq } from "../helpers/fixq-cli.js";
import { bindEvalData, bindLabels } from "../../src/eval/eval-data.js";
import { type CompareResult, compareModels } from "../../src/eval/compare.js";
import { checkGate } from "../../src/eval/gate.js";
import { escapeXml, type EvalReport, jsonReport, junitReport, markdownReport } from "../../src/eval/reports.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { makeFloatTensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { quantizedCnn, ternaryWeight } from "../helpers/qdq-models.js";
import { graph, model, node, value } from "../ir/builders.js";

const CNN = "models/cnn.onnx";
const N = 256;
const tmp = mkdtempSync(join(tmpdir(), "fixq-eval-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const path = (name: string) => join(tmp, name);

/** models/cnn.onnx with every Conv/Gemm weight made ternary: sign·{0,1}·scale, threshold 0.7·mean|w|. */
function writeDegraded(out: string): void {
  const m = loadModel(CNN);
  const g = m.graph!;
  const weights = new Set(g.nodes.filter((n) => n.opType === "Conv" || n.opType === "Gemm").map((n) => n.inputs[1]));
  const initializers = g.initializers.map((t) => {
    if (!t.name || !weights.has(t.name)) return t;
    const w = tensorToFloat64(t);
    const threshold = (0.7 * w.reduce((a, x) => a + Math.abs(x), 0)) / w.length;
    const kept = w.filter((x) => Math.abs(x) > threshold);
    const scale = kept.reduce((a, x) => a + Math.abs(x), 0) / kept.length;
    return makeFloatTensor(t.name!, t.dims, w.map((x) => (Math.abs(x) > threshold ? Math.sign(x) * scale : 0)));
  });
  saveModel({ ...m, graph: { ...g, initializers } }, out);
}

const X = path("x.npy");
const Y = path("y.npy");
const DEGRADED = path("degraded.onnx");

beforeAll(() => {
  const x = readNpy("models/data/eval.npy");
  const y = readNpy("models/data/eval_labels.npy");
  writeNpy(X, { dtype: "f4", shape: [N, 1, 28, 28], data: (x.data as Float32Array).slice(0, N * 784) });
  writeNpy(Y, { dtype: "i8", shape: [N], data: (y.data as BigInt64Array).slice(0, N) });
  writeNpy(path("y-short.npy"), { dtype: "i8", shape: [N - 6], data: (y.data as BigInt64Array).slice(0, N - 6) });
  writeNpy(path("rgb.npy"), { dtype: "f4", shape: [10, 3, 28, 28], data: new Float32Array(10 * 3 * 784) });
  writeNpy(path("f64.npy"), { dtype: "f8", shape: [4, 1, 28, 28], data: new Float64Array(4 * 784) });
  const nan = (x.data as Float32Array).slice(0, 8 * 784);
  nan[3 * 784 + 5] = Number.NaN;
  writeNpy(path("nan.npy"), { dtype: "f4", shape: [8, 1, 28, 28], data: nan });
  writeDegraded(DEGRADED);
});

/** Checks tags nest properly and returns the elements, in order, with their attributes. */
function parseXml(xml: string): { name: string; attrs: Record<string, string> }[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  const elements: { name: string; attrs: Record<string, string> }[] = [];
  for (const m of body.matchAll(/<(\/?)([\w-]+)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      expect(stack.pop()).toBe(name);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    elements.push({ name: name!, attrs });
    if (!selfClose) stack.push(name!);
  }
  expect(stack).toEqual([]);
  // Nothing but tags and escaped text: no stray '<' or unescaped '&'.
  expect(body.replace(/<[^>]*>/g, "")).not.toMatch(/[<]|&(?!(amp|lt|gt|quot|apos|#\d+);)/);
  return elements;
}

function noLeftovers(dir: string) {
  expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
}

describe("fixq eval", () => {
  it("REF against itself: agreement 1, infinite SQNR, every threshold passes", () => {
    const json = path("self.json");
    const junit = path("self.xml");
    const r = fixq("eval", CNN, CNN, "--data", X, "--labels", Y, "--max-drop", "0", "--min-agreement", "1", "--min-sqnr", "100", "--json", json, "--junit", junit);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/SQNR dB\s+inf/);
    const rep = JSON.parse(readFileSync(json, "utf8"));
    expect(rep.schemaVersion).toBe(1);
    expect(rep.inputs).toMatchObject({ reference: CNN, candidate: CNN, data: X, labels: Y, samples: N });
    expect(rep.metrics.candidate.all.agreement).toBe(1);
    expect(rep.metrics.candidate.all.sqnrDb).toBe("inf");
    expect(rep.metrics.candidate.all.maxAbsError).toBe(0);
    expect(rep.metrics.reference.accuracy.top1).toBe(rep.metrics.candidate.all.accuracy.top1);
    expect(rep.metrics.top1DropPoints).toBe(0);
    expect(rep.passed).toBe(true);
    expect(rep.failures).toEqual([]);
    expect(rep.perLayer).toBeNull();
    const xml = parseXml(readFileSync(junit, "utf8"));
    expect(xml.filter((e) => e.name === "testsuite").map((e) => e.attrs["name"])).toEqual(["fixq eval"]);
    // The three thresholds given, and the default deployment gate (integer kernels vs fake-quant, 2 points).
    expect(xml.filter((e) => e.name === "testcase")).toHaveLength(4);
    expect(rep.checks.map((c: { id: string }) => c.id)).toContain("max-deployment-gap");
    expect(xml.some((e) => e.name === "failure")).toBe(false);
  });

  it("a ternary-weight CNN fails --max-drop 1 with one error line, and every report records it", () => {
    const json = path("deg.json");
    const junit = path("deg.xml");
    const md = path("deg.md");
    const r = fixq("eval", CNN, DEGRADED, "--data", X, "--labels", Y, "--max-drop", "1", "--min-agreement", "0.5", "--json", json, "--junit", junit, "--markdown", md);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: eval gate failed: top-1 drop \d+\.\d\d points > 1\.00$/);
    expect(r.stdout).toMatch(/top-1\s+\d+\.\d\d%/);
    expect(r.stdout).toMatch(/FAIL {2}top-1 drop/);
    expect(r.stdout).toMatch(/PASS {2}agreement/);

    const rep = JSON.parse(readFileSync(json, "utf8"));
    expect(rep.passed).toBe(false);
    expect(rep.metrics.top1DropPoints).toBeGreaterThan(1);
    expect(rep.failures).toHaveLength(1);
    expect(rep.failures[0]).toMatch(/^top-1 drop \d+\.\d\d points > 1\.00$/);
    expect(rep.checks.map((c: { id: string; passed: boolean }) => [c.id, c.passed])).toEqual([
      ["max-drop", false],
      ["min-agreement", true],
      ["max-deployment-gap", true],
    ]);
    expect(typeof rep.metrics.candidate.all.sqnrDb).toBe("number");
    expect(typeof rep.metrics.candidate.disabled.sqnrDb).toBe("number");

    const xml = parseXml(readFileSync(junit, "utf8"));
    const suite = xml.find((e) => e.name === "testsuite")!;
    expect(suite.attrs).toMatchObject({ name: "fixq eval", tests: "3", failures: "1" });
    const failures = xml.filter((e) => e.name === "failure");
    expect(failures).toHaveLength(1);
    expect(failures[0]!.attrs["message"]).toMatch(/^top-1 drop \d+\.\d\d points &gt; 1\.00$/);

    const mdText = readFileSync(md, "utf8");
    expect(mdText).toMatch(/❌ failed/);
    expect(mdText).toMatch(/\| top-1 drop \\<= 1\.00 points \| \d+\.\d\d points \| ❌ fail \|/);
    noLeftovers(tmp);
  });

  it("passes lenient thresholds (exit 0)", () => {
    const r = fixq("eval", CNN, DEGRADED, "--data", X, "--labels", Y, "--max-drop", "50", "--min-agreement", "0.5", "--min-sqnr", "0", "--batch-size", "100");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/batch 100/);
  });

  it("defaults to the bundled eval set and labels when REF is a bundled model", () => {
    const r = fixq("eval", "models/mlp.onnx", "models/mlp.onnx", "--min-agreement", "1");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/2000 samples from models\/data\/eval\.npy, labels models\/data\/eval_labels\.npy/);
    expect(r.stdout).toMatch(/top-1\s+89\.\d\d%/);
  });

  const bad: [string, () => string[], number, RegExp][] = [
    ["a data shape the input does not take", () => ["--data", path("rgb.npy")], 1, /^error: data .*rgb\.npy: shape \[10,3,28,28\] does not match input 'input' \[batch,1,28,28\]$/],
    ["a data dtype the input does not take", () => ["--data", path("f64.npy")], 1, /^error: data .*f64\.npy: dtype f64 does not match input 'input' f32: save the array as f32 \(NumPy: a\.astype\(np\.float32\)\)$/],
    ["fewer labels than samples", () => ["--data", X, "--labels", path("y-short.npy")], 1, /^error: labels .*y-short\.npy: 250 labels for 256 data samples$/],
    ["NaN in the data", () => ["--data", path("nan.npy")], 1, /^error: data .*nan\.npy: contains NaN or Inf \(element 2357, sample 3\)$/],
    ["a missing data file", () => ["--data", path("nope.npy")], 1, /^error: data .*nope\.npy: no such file$/],
    ["a missing labels file", () => ["--data", X, "--labels", path("nope.npy")], 1, /^error: labels .*nope\.npy: no such file$/],
    ["--max-drop without labels", () => ["--data", X, "--max-drop", "1"], 2, /^error: --max-drop needs --labels$/],
    ["--min-agreement out of range", () => ["--data", X, "--min-agreement", "1.5"], 2, /^error: --min-agreement expects a fraction in 0\.\.1, got '1\.5'$/],
  ];
  for (const [what, args, code, message] of bad) {
    it(`${what}: one error line, exit ${code}, only the JUnit file, carrying that line`, () => {
      const dir = mkdtempSync(join(tmp, "bad-"));
      const reports = ["--json", join(dir, "r.json"), "--junit", join(dir, "r.xml"), "--markdown", join(dir, "r.md")];
      const r = fixq("eval", CNN, CNN, ...args(), ...reports);
      expect(r.status).toBe(code);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stdout).toBe("");
      // CI must see why the gate did not run: the JUnit file holds one failing case with the error line.
      expect(readdirSync(dir)).toEqual(["r.xml"]);
      const xml = readFileSync(join(dir, "r.xml"), "utf8");
      expect(xml).toMatch(/tests="1" failures="1"/);
      const carried = /<failure message="([^"]*)" type="error">/.exec(xml)?.[1]?.replace(/&(quot|apos|lt|gt|amp);/g, (_m, e: string) => ({ quot: '"', apos: "'", lt: "<", gt: ">", amp: "&" })[e]!);
      expect(`error: ${carried}`).toBe(lines[0]);
    });
  }

  it("needs --data for a REF that is not bundled (usage, exit 2)", () => {
    const r = fixq("eval", DEGRADED, CNN);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: --data is required/);
  });

  it("reports a missing model file as one line, exit 1", () => {
    const r = fixq("eval", CNN, path("missing.onnx"), "--data", X);
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/missing\.onnx/);
    expect(existsSync(path("missing.onnx"))).toBe(false);
  });
});

describe("fixq eval --per-layer", () => {
  const QUANT = path("cnn.q.onnx");
  const WRECKED = path("cnn.q.wrecked.onnx");
  const RELU4 = "/features/features.4/Relu_output_0";
  const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  beforeAll(async () => {
    const { quantized } = await quantizedCnn();
    saveModel(quantized, QUANT);
    saveModel(ternaryWeight(quantized, "/features/features.3/Conv"), WRECKED);
  });
  const db = (x: number | string) => (x === "inf" ? Number.POSITIVE_INFINITY : x === "-inf" ? Number.NEGATIVE_INFINITY : x === "nan" ? Number.NaN : (x as number));

  it("prints, and writes to JSON and Markdown, each quantized tensor's SQNR worst first, naming the wrecked layer", () => {
    const json = path("pl.json");
    const md = path("pl.md");
    const r = fixq("eval", CNN, WRECKED, "--data", X, "--labels", Y, "--per-layer", "--json", json, "--markdown", md);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    const title = lines.findIndex((l) => l.startsWith("per-layer SQNR"));
    expect(title).toBeGreaterThan(0);
    expect(lines[title + 1]).toMatch(/^\s+#\s+SQNR dB\s+local dB\s+max \|err\|\s+node\s+tensor$/);
    expect(lines[title + 2]).toMatch(new RegExp(`^\\s+1\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d\\s+\\S+\\s+Relu '/features/features\\.4/Relu'\\s+${reEscape(RELU4)}$`));
    expect(r.stdout).toContain(`most noise added: '${RELU4}' (Relu '/features/features.4/Relu')`);
    const weights = lines.findIndex((l) => l.startsWith("quantized weights and biases"));
    expect(lines[weights + 2]).toMatch(/^\s+1\s+\d+\.\d\d\s+\S+\s+Conv '\/features\/features\.3\/Conv'\s+features\.3\.weight \(CAND 'features\.3\.weight__dq'\)$/);

    const rep = JSON.parse(readFileSync(json, "utf8"));
    expect(rep.schemaVersion).toBe(1);
    const pl = rep.perLayer;
    expect(pl).toMatchObject({ optimization: "disabled", samples: N, noisiest: RELU4, unmapped: [] });
    expect(pl.activations.length).toBeGreaterThan(5);
    expect(pl.activations[0]).toMatchObject({ tensor: RELU4, candidateTensor: RELU4, node: { opType: "Relu", name: "/features/features.4/Relu" } });
    const sqnrs: number[] = pl.activations.map((a: { sqnrDb: number | string }) => db(a.sqnrDb));
    expect(sqnrs).toEqual([...sqnrs].sort((a, b) => a - b));
    expect(sqnrs[0]).toBeLessThan(15);
    expect(sqnrs[sqnrs.length - 1]).toBeGreaterThan(30);
    expect(pl.activations.find((a: { tensor: string }) => a.tensor === "input")).toMatchObject({ candidateTensor: "input__dq", node: null });
    expect(pl.weights[0]).toMatchObject({ tensor: "features.3.weight", node: { opType: "Conv", name: "/features/features.3/Conv" } });

    const mdText = readFileSync(md, "utf8");
    expect(mdText).toContain("#### Per-layer SQNR (worst first)");
    expect(mdText).toMatch(/\n\| 1 \| \d+\.\d\d \| \d+\.\d\d \| \S+ \| Relu '\/features\/features\.4\/Relu' \| \/features\/features\.4\/Relu\\_output\\_0 \|\n/);
  });

  it("gives a quantized model against itself infinite SQNR on every tensor", () => {
    const json = path("pl-self.json");
    const r = fixq("eval", QUANT, QUANT, "--data", X, "--per-layer", "--json", json);
    expect(r.status).toBe(0);
    const pl = JSON.parse(readFileSync(json, "utf8")).perLayer;
    expect(pl.activations.length).toBeGreaterThan(5);
    expect(pl.unmapped).toEqual([]);
    expect(pl.noisiest).toBeNull();
    expect(r.stdout).not.toContain("most noise added");
    for (const a of [...pl.activations, ...pl.weights]) expect([a.sqnrDb, a.maxAbsError]).toEqual(["inf", 0]);
  });
});

describe("gate and reports", () => {
  const accuracy = (correct1: number, correct5: number | null) => ({
    count: 200,
    correct1,
    top1: correct1 / 200,
    correct5,
    top5: correct5 === null ? null : correct5 / 200,
  });
  const output = (agreement: number, sqnrDb: number) => ({ name: "y|<&>", candidateName: "y", agreement, sqnrDb, cosine: 0.99, maxAbsError: 0.5 });
  const result: CompareResult = {
    samples: 200,
    batchSize: 64,
    reference: { accuracy: accuracy(180, 199) },
    candidate: {
      all: { optimization: "all", accuracy: accuracy(173, 198), outputs: [output(0.95, 12.5)] },
      disabled: { optimization: "disabled", accuracy: accuracy(178, 199), outputs: [output(0.97, 15)] },
    },
  };

  it("checks each threshold against the optimized (integer-kernel) run", () => {
    const gate = checkGate(result, { maxDrop: 1, minAgreement: 0.9, minSqnrDb: 20 });
    expect(gate.passed).toBe(false);
    expect(gate.checks.map((c) => c.message)).toEqual(["top-1 drop 3.50 points > 1.00", "agreement 0.9500 >= 0.9000", "SQNR 12.50 dB < 20.00 dB"]);
    expect(checkGate(result, { maxDrop: 3.5 }).passed).toBe(true);
    expect(checkGate(result, {}).checks).toEqual([]);
  });

  it("fails a threshold it cannot measure", () => {
    const noLabels: CompareResult = { ...result, reference: { accuracy: null } };
    const gate = checkGate(noLabels, { maxDrop: 1 });
    expect(gate.passed).toBe(false);
    expect(gate.checks[0]!.message).toBe("top-1 drop <= 1.00 points: not measured");
    const nan: CompareResult = { ...result, candidate: { ...result.candidate, all: { ...result.candidate.all, outputs: [output(0.95, Number.NaN)] } } };
    expect(checkGate(nan, { minSqnrDb: -100 }).checks[0]!.message).toBe("SQNR nan dB < -100.00 dB");
  });

  const report = (gateThresholds = { maxDrop: 1, minAgreement: 0.9 }): EvalReport => ({
    reference: 'ref "a"&<b>.onnx',
    candidate: "cand|`x`.onnx",
    data: "data\u0001.npy",
    labels: null,
    thresholds: gateThresholds,
    result,
    gate: checkGate(result, gateThresholds),
    seconds: 1.5,
  });

  it("escapes XML text and attributes, replacing characters XML cannot hold", () => {
    expect(escapeXml(`a<b>&"c'`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;");
    expect(escapeXml("x\ny\u0000\uD800z", true)).toBe("x&#10;y\uFFFD\uFFFDz");
    expect(escapeXml("x\ny")).toBe("x\ny");
    const xml = junitReport(report());
    const elements = parseXml(xml);
    expect(elements.find((e) => e.name === "property" && e.attrs["name"] === "reference")!.attrs["value"]).toBe("ref &quot;a&quot;&amp;&lt;b&gt;.onnx");
    expect(xml).not.toMatch(/\u0001/);
  });

  it("writes the deployment gap and the gate into JSON and Markdown", () => {
    const json = JSON.parse(jsonReport(report()));
    expect(json.metrics.deploymentGap.top1Points).toBeCloseTo(2.5, 12);
    expect(json.metrics.deploymentGap.agreementPoints).toBeCloseTo(2, 12);
    expect(json.metrics.deploymentGap.sqnrDb).toBe(2.5);
    expect(json.thresholds).toMatchObject({ maxDropPoints: 1, minAgreement: 0.9, minSqnrDb: null });
    expect(json.failures).toEqual(["top-1 drop 3.50 points > 1.00"]);
    const md = markdownReport(report());
    expect(md).toMatch(/deployment risk/);
    expect(md).toContain("| top-1 | 90.00% | 86.50% | 89.00% | +2.50 pts |");
    expect(md).toContain("CAND ``cand|`x`.onnx`` on 200 samples from `data\\x01.npy`");
    // Every table row has the same number of unescaped cell separators.
    const rows = md.split("\n").filter((l) => l.startsWith("| ") && l.includes("%"));
    for (const row of rows) expect(row.replace(/\\\|/g, "").split("|")).toHaveLength(7);
  });
});

describe("compareModels in-process", () => {
  // y = x·w (scores), z = relu(x) (a second output); CAND perturbs w.
  const tiny = (w: number[]) =>
    model(
      graph(
        [node("MatMul", ["x", "w"], ["y"]), node("Relu", ["x"], ["z"])],
        [value("x", 1, ["N", "F"])],
        [value("y", 1, ["N", 3]), value("z", 1, ["N", "F"])],
        [makeFloatTensor("w", [2, 3], w)],
      ),
    );
  const ref = tiny([1, 0, 0, 0, 1, 0]);
  const cand = tiny([1, 0, 0, 0, 1, 0.5]);
  const x = Float32Array.from([1, 0, 0, 1, 2, 1, 0, 3]);

  it("binds a .npz by input name and reports every output", async () => {
    const data = bindEvalData(ref, new Map([["x", { dtype: "f4", shape: [4, 2], data: x }]]), "d.npz");
    const labels = bindLabels({ dtype: "u1", shape: [4, 1], data: Uint8Array.from([0, 1, 0, 2]) }, 4, "l.npy");
    const r = await compareModels(ref, cand, data, labels, { batchSize: 3, threads: 1 });
    // ref scores: [1,0,0] [0,1,0] [2,1,0] [0,3,0] -> 0,1,0,1; cand adds 0.5·x1 to class 2: [1,0,0] [0,1,.5] [2,1,.5] [0,3,1.5] -> same
    expect(r.reference.accuracy).toMatchObject({ count: 4, correct1: 3, correct5: null });
    expect(r.candidate.all.accuracy).toMatchObject({ correct1: 3 });
    const [y, z] = r.candidate.all.outputs;
    expect(y).toMatchObject({ name: "y", agreement: 1, maxAbsError: 1.5 });
    // Σref² = 1+1+5+9 = 16, Σerr² = .25+.25+2.25 = 2.75
    expect(y!.sqnrDb).toBeCloseTo(10 * Math.log10(16 / 2.75), 5);
    expect(z).toMatchObject({ name: "z", agreement: 1, sqnrDb: Number.POSITIVE_INFINITY, cosine: 1 });
    expect(r.candidate.disabled.outputs[0]!.sqnrDb).toBeCloseTo(y!.sqnrDb, 5);
  });

  it("rejects unknown .npz keys, bad label values and labels that are not integers", () => {
    const arr = { dtype: "f4" as const, shape: [4, 2], data: x };
    expect(() => bindEvalData(ref, new Map([["x", arr], ["q", arr]]), "d.npz")).toThrow("data d.npz: array 'q' matches no model input (inputs: 'x')");
    // A file of one array feeds a model's one input whatever the array's name (numpy.savez names it arr_0).
    expect(bindEvalData(ref, new Map([["arr_0", arr]]), "d.npz").inputs["x"]?.dims).toEqual([4, 2]);
    expect(() => bindLabels({ dtype: "f4", shape: [4], data: new Float32Array(4) }, 4, "l.npy")).toThrow("labels l.npy: labels must be integers, got f32");
    expect(() => bindLabels({ dtype: "i4", shape: [4], data: Int32Array.from([0, -1, 0, 0]) }, 4, "l.npy")).toThrow("label -1 (sample 1)");
  });

  it("rejects a label beyond the output's classes", async () => {
    const data = bindEvalData(ref, new Map([["", { dtype: "f4", shape: [4, 2], data: x }]]), "d.npy");
    const labels = Int32Array.from([0, 1, 3, 0]);
    await expect(compareModels(ref, cand, data, labels)).rejects.toThrow("label 3 (sample 2) is out of range for output 'y' with 3 classes");
  });

  it("checks named dims across inputs and fixed batch sizes", () => {
    const two = model(
      graph(
        [node("Add", ["a", "b"], ["c"])],
        [value("a", 1, [2, "S"]), value("b", 1, ["N", "S"])],
        [value("c", 1, ["N", "S"])],
      ),
    );
    const t = (shape: number[]) => ({ dtype: "f4" as const, shape, data: new Float32Array(shape[0]! * shape[1]!) });
    expect(() => bindEvalData(two, new Map([["a", t([4, 3])], ["b", t([4, 5])]]), "d.npz")).toThrow(
      "data d.npz: shape [4,5] does not match input 'b' [N,S]: 'S' is 5 here but 3 in input 'a'",
    );
    expect(() => bindEvalData(two, new Map([["a", t([3, 3])], ["b", t([3, 3])]]), "d.npz")).toThrow("3 samples is not a multiple of the fixed batch 2");
    expect(bindEvalData(two, new Map([["a", t([4, 3])], ["b", t([4, 3])]]), "d.npz").samples).toBe(4);
  });
});
