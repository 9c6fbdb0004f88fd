/**
 * Locating where a QDQ model's integer-kernel run parts from its fake-quant
 * run (the layer a "deployment risk" names).
 *
 * The search is tested on the real quantized CNN with the divergence injected
 * at a chosen layer (the fused runner adds an error there and everywhere it
 * flows), so it does not depend on the CPU. The real thing, ORT's u8×s8
 * kernels saturating with full 8-bit weights, is tested where the CPU is
 * detected to saturate (AVX2 without VNNI), and the gate's silence where it is
 * detected to accumulate exactly.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { findDivergence, quantizedActivations } from "../../src/eval/divergence.js";
import { readNpy } from "../../src/io/npy.js";
import type { Model } from "../../src/ir/graph.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { detectCpu } from "../../src/runtime/cpu-features.js";
import { fixq } from "../helpers/fixq-cli.js";
import { quantizedCnn } from "../helpers/qdq-models.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-divergence-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let quantized: Model;
let fake: Map<string, Float32Array>;
let acts: ReturnType<typeof quantizedActivations>;

beforeAll(async () => {
  ({ quantized } = await quantizedCnn());
  acts = quantizedActivations(quantized.graph!);
  const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
  const feeds = { input: { dtype: 1, dims: [8, 1, 28, 28], data: (x.data as Float32Array).slice(0, 8 * 784) } };
  const s = await OrtSession.create(quantized, { optimization: "disabled", extraOutputs: acts.map((a) => a.tensor) });
  const out = await s.run(feeds);
  await s.release();
  fake = new Map(acts.map((a) => [a.tensor, out[a.tensor]!.data as Float32Array]));
});

/** Activations at or downstream of index k (by the recorded quantized inputs). */
function downstreamOf(k: number): Set<number> {
  const hit = new Set([k]);
  for (let i = k + 1; i < acts.length; i++) if (acts[i]!.inputs.some((u) => hit.has(u))) hit.add(i);
  return hit;
}

/** A fused runner that equals fake-quant except where the injected fault flows: there, off by 5 steps. */
function injected(k: number, calls: string[]) {
  const bad = downstreamOf(k);
  return async (tensor: string) => {
    calls.push(tensor);
    const i = acts.findIndex((a) => a.tensor === tensor);
    const v = Float32Array.from(fake.get(tensor)!);
    if (bad.has(i)) for (let j = 0; j < v.length; j++) v[j] += 5 * acts[i]!.scale * (j % 2 ? 1 : -1);
    return v;
  };
}

describe("quantized activations of a fixq QDQ model", () => {
  it("lists every run-time DequantizeLinear output in graph order, with its scale, layer and quantized inputs", () => {
    const g = quantized.graph!;
    const dq = g.nodes.filter((n) => n.opType === "DequantizeLinear" && acts.some((a) => a.tensor === n.outputs[0]));
    expect(acts.map((a) => a.tensor)).toEqual(dq.map((n) => n.outputs[0]));
    expect(acts.length).toBeGreaterThan(4);
    expect(acts[0]!.node).toBeNull(); // the graph input
    for (const a of acts) expect(a.scale).toBeGreaterThan(0);
    for (const [i, a] of acts.entries()) for (const u of a.inputs) expect(u).toBeLessThan(i);
    // Conv → Relu → QuantizeLinear is named as the layer with its fused activation.
    expect(acts.some((a) => a.node?.opType === "Conv+Relu")).toBe(true);
  });
});

describe("findDivergence (injected fault, any CPU)", () => {
  it("returns null when the runs agree, after checking only the last tensor", async () => {
    const calls: string[] = [];
    expect(await findDivergence(acts, fake, injected(acts.length + 5, calls))).toBeNull();
    expect(calls).toHaveLength(1);
  });

  for (const at of [1, 2, 4]) {
    it(`finds the layer where the fault enters (activation #${at}), in about log2(N) sessions`, async () => {
      const calls: string[] = [];
      const d = await findDivergence(acts, fake, injected(at, calls));
      expect(d?.tensor).toBe(acts[at]!.tensor);
      expect(d?.rmsSteps).toBeCloseTo(5, 5);
      expect(d?.candidates).toBe(acts.length);
      expect(new Set(calls).size).toBe(d?.checked);
      expect(d!.checked).toBeLessThanOrEqual(Math.ceil(Math.log2(acts.length)) + 4);
    });
  }

  it("a one-step rounding difference everywhere is not a divergence", async () => {
    const d = await findDivergence(acts, fake, async (tensor) => {
      const a = acts.find((x) => x.tensor === tensor)!;
      return Float32Array.from(fake.get(tensor)!, (v, j) => (j % 3 === 0 ? v + a.scale : v));
    });
    expect(d).toBeNull();
  });
});

const cpu = detectCpu();

describe(`the deployment gate on ORT's kernels (${cpu.summary})`, () => {
  it("default recipe (7-bit weights): no deployment risk on any CPU", () => {
    const r = fixq("quantize", "models/resnet.onnx", "-o", join(tmp, "r7.onnx"), "--calib-samples", "128", "--eval");
    expect(r.stderr).not.toMatch(/deployment risk/);
    expect(r.status).toBe(0);
  });

  it.runIf(cpu.u8s8 === "saturating-int16-pairs")("full 8-bit weights where u8×s8 pairs saturate: quantize --eval and eval say 'deployment risk', name the stem, exit 1", () => {
    const out = join(tmp, "r8.onnx");
    const q = fixq("quantize", "models/resnet.onnx", "-o", out, "--weight-bits", "8", "--eval", "--json");
    expect(q.status).toBe(1);
    const risk = JSON.parse(q.stdout).eval.deploymentRisk;
    expect(risk).toMatchObject({ maxGapPoints: 2, divergence: { tensor: "/stem/stem.2/Relu_output_0" } });
    expect(risk.gapPoints).toBeGreaterThan(2);
    expect(q.stderr).toMatch(/^error: deployment risk: (agreement|top-1) in ORT integer kernels is \d+\.\d\d points below fake-quant \(> 2\.00\); first divergence at '\/stem\/stem\.2\/Relu_output_0' \(Conv\+Relu '\/stem\/stem\.\d\/Conv'\)/m);
    const e = fixq("eval", "models/resnet.onnx", out);
    expect(e.status).toBe(1);
    expect(e.stdout).toMatch(/deployment risk/);
    expect(e.stdout).toMatch(/the runs part first at '\/stem\/stem\.2\/Relu_output_0'/);
    // A looser gate lets it pass.
    expect(fixq("eval", "models/resnet.onnx", out, "--max-deployment-gap", "50").status).toBe(0);
  });

  it.runIf(cpu.u8s8 === "exact-int32")("full 8-bit weights where u8×s8 accumulates exactly: no deployment risk", () => {
    const out = join(tmp, "r8.onnx");
    const q = fixq("quantize", "models/resnet.onnx", "-o", out, "--weight-bits", "8", "--eval");
    expect(q.stderr).not.toMatch(/deployment risk/);
    expect(q.status).toBe(0);
  });
});
