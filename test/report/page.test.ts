/**
 * The page builder over hand-written --json documents: each section appears
 * exactly when its data is in the run, names are escaped, cross-links point
 * at rows that exist, nothing can fetch from the network, and the page stays
 * small.
 */
import { describe, expect, it } from "vitest";
import { asRun, type Json } from "../../src/report/doc.js";
import { anchor, esc } from "../../src/report/html.js";
import { buildReport, SECTIONS } from "../../src/report/page.js";

const quantizeDoc = (extra: Json = {}): Json => ({
  command: "quantize",
  output: "/tmp/m.q.onnx",
  input: { path: "m.onnx", bytes: 4000 },
  outputBytes: 1000,
  recipe: { weights: "int8", granularity: "per-channel", acts: "uint8", calibration: "minmax", cle: false, biasCorrection: "none" },
  quantized: 3,
  float: [],
  formats: [
    { tensor: "x", role: "activation", format: "uint8" },
    { tensor: "w", role: "weight", format: "int8" },
  ],
  passes: [],
  ...extra,
});

const act = (tensor: string, node: string, sqnrDb: number | string, graphIndex: number, extra: Json = {}) => ({
  tensor,
  candidateTensor: tensor,
  node: { opType: "Relu", name: node },
  sqnrDb,
  localSqnrDb: sqnrDb,
  cosine: 0.99,
  maxAbsError: 0.1,
  elements: 100,
  graphIndex,
  ...extra,
});

const evalDoc = (activations: Json[], extra: Json = {}): Json => ({
  command: "eval",
  inputs: { reference: "m.onnx", candidate: "m.q.onnx", data: "d.npy", samples: 10 },
  metrics: { reference: { accuracy: { top1: 0.9 } }, candidate: { all: { accuracy: { top1: 0.88 }, agreement: 0.97, sqnrDb: 30 }, disabled: { accuracy: { top1: 0.89 }, agreement: 0.98, sqnrDb: 31 } }, top1DropPoints: 2 },
  perLayer: { activations, weights: [{ tensor: "w", candidateTensor: "w__dq", node: { opType: "Conv", name: "conv" }, sqnrDb: 40, localSqnrDb: 40, cosine: 1, maxAbsError: 0.01, elements: 9 }], unmapped: [] },
  passed: true,
  checks: [{ id: "max-deployment-gap", requirement: "integer-kernel top-1 within 2.00 points of fake-quant", passed: true, measured: "1.00 points", value: 1 }],
  divergence: null,
  ...extra,
});

const histograms = {
  pass: { ms: 12, samples: 8, tensors: 1, bins: 2048 },
  activations: [{ tensor: "x", node: "relu", format: "uint8", chosen: "minmax", min: 0, max: 4, lo: 0, width: 1, counts: [5, 3, 0, 1], ranges: { minmax: [0, 4], "percentile:99.99": [0, 3.5], mse: [0, 3], entropy: [0, 2.5] } }],
  weights: [{ tensor: "w", node: "conv", min: -1, max: 1, lo: -1, width: 0.5, counts: [1, 4, 4, 1], channels: { axis: 0, min: [-1, -0.5], max: [1, 0.25] } }],
};

const compileDoc: Json = {
  command: "compile",
  model: "m.q.onnx",
  target: null,
  ops: 4,
  certificate: {
    ok: true,
    multiplierBits: 31,
    rows: [
      { source: "Conv 'conv'", kind: "conv", value: "c_acc", range: { lo: -1000, hi: 900 }, width: 11, signed: true, storage: 32, headroom: 21, accumulator: true },
      { source: "Conv 'conv'", kind: "requant", value: "x_q", range: { lo: 0, hi: 255 }, width: 8, signed: false, storage: 8, headroom: 0, accumulator: false },
    ],
    problems: [],
  },
  requant: [{ source: "Conv 'conv'", kind: "requant", input: "c_acc", output: "x_q", count: 2, minMultiplier: 1 << 30, maxMultiplier: 2 ** 31 - 1, minShift: 38, maxShift: 39, minScale: 0.002, maxScale: 0.004, clamp: [0, 255] }],
};

/** The sections a page shows, by key, in order. */
const sectionsOf = (html: string) => [...html.matchAll(/<section id="[^"]+" class="report-section" data-section="([^"]+)"/g)].map((m) => m[1]);
/** The inner HTML of one section. */
const sectionHtml = (html: string, key: string) => html.match(new RegExp(`data-section="${key}">([\\s\\S]*?)</section>`))?.[1] ?? "";

const page = (...docs: Json[]) => buildReport(docs.map((d, i) => asRun(d, `run${i + 1}.json`)));

describe("buildReport", () => {
  it("shows the summary card alone when the run has no per-layer data", async () => {
    const html = await page(quantizeDoc());
    expect(sectionsOf(html)).toEqual([]);
    expect(html).toContain('class="card"');
    expect(html).toContain("3.9 KiB → 1.0 KiB (4.00× smaller)");
    expect(html).not.toContain("<svg");
  });

  it("shows each section exactly when its data is present, each with a non-empty chart", async () => {
    const cases: [string, Json][] = [
      ["per-layer", evalDoc([act("x", "relu", 20, 0)])],
      ["activation-ranges", quantizeDoc({ histograms: { ...histograms, weights: [] } })],
      ["weight-ranges", quantizeDoc({ histograms: { pass: null, activations: [], weights: histograms.weights } })],
      ["equalization", quantizeDoc({ passes: [{ pass: "equalize", layers: [{ layer: "conv", before: 40, after: 3 }] }] })],
      ["bias-correction", quantizeDoc({ passes: [{ pass: "bias-correction", mode: "empirical", corrected: [{ layer: "conv", maxAbsDelta: 0.02 }] }] })],
      ["lowering", compileDoc],
      ["rounding", quantizeDoc({ rounding: { layers: [{ node: "conv", lossBefore: 2, lossAfter: 1 }] } })],
      ["mixed-precision", quantizeDoc({ mixedPrecision: { pareto: [{ budget: 1, metric: 0.8 }, { budget: 2, metric: 0.9, chosen: true }], layers: [{ layer: "conv", format: "int4" }] } })],
      ["resources", compileDoc && { command: "compile", resources: { layers: [{ layer: "conv", dsp: 4, bram: 2 }] } }],
    ];
    for (const [key, doc] of cases) {
      const html = await page(doc);
      expect(sectionsOf(html), key).toEqual([key]);
      const body = sectionHtml(html, key);
      if (key !== "resources") expect(body, key).toMatch(/<svg[^>]*><rect[^>]*\/>.*<path d="M/s);
      expect(body, key).toContain("<table");
      // quantize's JSON names a rounding layer `node`: it links like any layer name.
      if (key === "rounding") expect(body).toMatch(/<tr id="[^"]*rounding-conv"><td[^>]*><span class="layer">conv<\/span>/);
    }
    expect(SECTIONS.map((s) => s.key)).toEqual(cases.map(([k]) => k));
  });

  it("reads the keys quantize --mixed and compile --target hls write themselves", async () => {
    const mixed = {
      candidates: ["int4", "int8"],
      layers: [{ node: "conv", group: "conv", costs: {}, chosen: "int4" }, { node: "fc", group: "fc", costs: {}, chosen: "int8" }],
      budgets: { size: { limit: 200, used: 180 } },
    };
    const pareto = { kind: "size", front: [{ limit: 100, measured: 0.8 }, { limit: 200, measured: 0.9 }, { limit: 300, measured: 0.91 }] };
    const html = await page(quantizeDoc({ mixed, pareto }));
    expect(sectionsOf(html)).toEqual(["mixed-precision"]);
    const body = sectionHtml(html, "mixed-precision");
    expect(body).toMatch(/<svg[^>]*><rect[^>]*\/>.*<path d="M/s);
    expect(body).toMatch(/<span class="layer">conv<\/span>.*<td[^>]*>int4<\/td>/s);
    expect(body).toMatch(/<span class="layer">fc<\/span>.*<td[^>]*>int8<\/td>/s);
    expect(body).toContain(">chosen<"); // the legend: the point at the run's own limit (200) is marked
    const hls = await page({ command: "compile", resources: [{ source: "Conv 'conv'", operandBits: [9, 8], dsp: 4, multipliers: 4 }] });
    expect(sectionsOf(hls)).toEqual(["resources"]);
    expect(sectionHtml(hls, "resources")).toMatch(/<tr id="[^"]*resources-conv"><td[^>]*><span class="layer">conv<\/span>.*>9×8<.*data-sort="4"/s);
  });

  it("puts every section of several runs on one page, in order, with distinct anchors", async () => {
    const html = await page(quantizeDoc({ histograms }), evalDoc([act("x", "relu", 20, 0)]), compileDoc);
    expect(sectionsOf(html)).toEqual(["activation-ranges", "weight-ranges", "per-layer", "lowering"]);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("links a layer's rows across sections and runs, to ids that exist", async () => {
    const html = await page(quantizeDoc({ histograms }), evalDoc([act("x", "relu", 20, 0)]), compileDoc);
    const ids = new Set([...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]));
    const links = [...html.matchAll(/<a href="#([^"]+)">/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(ids.has(l), l).toBe(true);
    // The eval table's row of x links to x's range row of the quantize run and to the lowering row of the compile run.
    const row = html.match(/<tr id="r2-per-layer-x">.*?<\/tr>/s)?.[0] ?? "";
    expect(row).toContain('href="#r1-activation-ranges-x"');
    expect(row).toContain('href="#r3-lowering-x"');
  });

  it("links a layer's CLE row to its weight and lowering rows through the node name", async () => {
    const html = await page(quantizeDoc({ histograms, passes: [{ pass: "equalize", layers: [{ layer: "conv", before: 40, after: 3 }] }] }), compileDoc);
    const row = html.match(/<tr id="r1-equalization-conv">.*?<\/tr>/s)?.[0] ?? "";
    expect(row).toContain('href="#r1-weight-ranges-w"');
    expect(row).toContain('href="#r2-lowering-x"');
  });

  it("draws bars in graph order and names the worst layers", async () => {
    const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const sqnr = [30, 25.5, "inf", 12.25, 40, 11.5, 18, 33];
    // Written worst first (as eval writes them), drawn in graph order.
    const acts = names.map((n, i) => act(n, `node_${n}`, sqnr[i]!, i)).reverse();
    const body = sectionHtml(await page(evalDoc(acts)), "per-layer");
    expect(body).toMatch(/Worst 2 layers: <a href="#r1-per-layer-f">f<\/a> \(11\.50 dB\), <a href="#r1-per-layer-d">d<\/a> \(12\.25 dB\)\./);
    const order = [...body.matchAll(/<tr id="r1-per-layer-([a-h])">/g)].map((m) => m[1]);
    expect(order).toEqual(names);
    const yLabels = [...body.matchAll(/<text text-anchor="end"[^>]*>([a-h])<\/text>/g)].map((m) => m[1]);
    expect(yLabels).toEqual(names);
    // The worst two bars are vermillion, the others blue.
    expect(body.match(/fill="#D55E00"\/>/g)?.length).toBeGreaterThanOrEqual(2);
    expect(body).toContain("∞");
  });

  it("overlays integer-kernel SQNR only when the run measured it", async () => {
    const without = sectionHtml(await page(evalDoc([act("x", "relu", 20, 0)])), "per-layer");
    const withIk = sectionHtml(await page(evalDoc([act("x", "relu", 20, 0, { integerKernelSqnrDb: 12.5 })])), "per-layer");
    expect(without).not.toContain("integer-kernel dB");
    expect(withIk).toContain("integer-kernel dB");
    expect(withIk).toContain("12.50");
    expect(withIk).toContain("cumulative SQNR, integer kernels");
  });

  it("escapes names from the model everywhere", async () => {
    const evil = `<script>alert("x")</script>&'`;
    const html = await page(evalDoc([act(evil, evil, 20, 0)]), quantizeDoc({ histograms: { ...histograms, activations: [{ ...histograms.activations[0], tensor: evil }] } }));
    expect(html.match(/<script/g)).toHaveLength(1); // the page's own sort script
    expect(html).not.toContain(evil);
    expect(html).toContain(esc(evil));
    expect(html).toContain(`id="${anchor("r1-per-layer", evil)}"`);
  });

  it("states the gate's failure and the divergence", async () => {
    const html = await page(
      evalDoc([act("x", "relu", 20, 0)], {
        passed: false,
        checks: [{ id: "max-deployment-gap", requirement: "integer-kernel top-1 within 2.00 points of fake-quant", passed: false, measured: "9.00 points", value: 9 }],
        divergence: { tensor: "x", node: { opType: "Conv", name: "conv" }, rmsSteps: 7.5, candidates: 3, checked: 2 },
      }),
    );
    expect(html).toContain('class="verdict fail"');
    expect(html).toContain("first divergence at x (Conv 'conv'), 7.50 quantization steps RMS");
    expect(html).toContain("measured 9.00 points");
  });

  it("forbids every fetch and keeps scripts inline", async () => {
    const html = await page(quantizeDoc({ histograms }));
    expect(html).toContain(`content="default-src 'none';`);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(html).not.toContain("@import");
    expect(html).not.toContain("url(");
  });

  it("stays small for a large model: 200 layers, histograms capped", async () => {
    const acts = Array.from({ length: 200 }, (_, i) => act(`t${i}`, `n${i}`, 20 + (i % 17), i));
    const hist = Array.from({ length: 200 }, (_, i) => ({ ...histograms.activations[0], tensor: `t${i}`, counts: Array.from({ length: 64 }, (_, j) => (j * 37 + i) % 101) }));
    const html = await page(evalDoc(acts), quantizeDoc({ histograms: { ...histograms, activations: hist } }));
    expect(html.length).toBeLessThan(1_000_000);
    expect(sectionHtml(html, "activation-ranges")).toContain("32 of 200 tensors charted");
  });
});
