/**
 * The HLS resource estimates on the quantized bundled CNN: per conv/dense
 * layer the weight count (from the op's own shape), multipliers = W / R,
 * DSP48 per multiplier by the stated operand-width rule, the automatic
 * reuse factor (least divisor of W with W / R ≤ 4096), a requested factor
 * rounded up to a divisor, and the refusal of more than 4096 weights in
 * parallel, naming the layer.
 */
import { describe, expect, it } from "vitest";
import { dspPerMultiplier, estimateResources, formatResources, PARTITION_LIMIT } from "../../../src/backends/hls/resources.js";
import { certifyProgram } from "../../../src/integer/certify.js";
import { integerizeModel } from "../../../src/integer/integerize.js";
import type { ConvOp, DenseOp } from "../../../src/integer/program.js";
import { quantizedCnn } from "../../helpers/qdq-models.js";

describe("dspPerMultiplier: DSP48E2 27 × 18, LUTs at ≤ 4 bits", () => {
  it.each([
    [8, 8, 1],
    [9, 8, 1],
    [4, 8, 0],
    [8, 2, 0],
    [27, 18, 1],
    [28, 18, 2],
    [18, 27, 1],
    [32, 16, 2],
    [32, 32, 4],
  ])("%i × %i bits → %i", (a, w, want) => expect(dspPerMultiplier(a, w)).toBe(want));
});

describe("estimateResources on the bundled CNN", async () => {
  const p = integerizeModel((await quantizedCnn()).quantized);
  const cert = certifyProgram(p);
  const layers = p.ops.filter((op): op is ConvOp | DenseOp => op.kind === "conv" || op.kind === "dense");
  const count = (op: ConvOp | DenseOp) => (op.kind === "conv" ? op.weightShape.reduce((a, b) => a * b, 1) : op.inFeatures * op.outFeatures);

  it("automatic reuse factor: the least divisor of W keeping W / R within the limit", () => {
    const est = estimateResources(p, cert);
    expect(est.map((l) => l.source)).toEqual(layers.map((op) => op.source));
    est.forEach((l, k) => {
      const w = count(layers[k]!);
      expect(l.weights).toBe(w);
      expect(w % l.reuseFactor).toBe(0);
      expect(l.multipliers * l.reuseFactor).toBe(w);
      expect(l.multipliers).toBeLessThanOrEqual(PARTITION_LIMIT);
      for (let r = 1; r < l.reuseFactor; r++) expect(w % r !== 0 || w / r > PARTITION_LIMIT).toBe(true);
      expect(l.dsp).toBe(l.multipliers * dspPerMultiplier(...l.operandBits));
      expect(l.ii).toBe(l.reuseFactor);
      expect(l.weightBits).toBe(w * l.operandBits[1]);
    });
    expect(formatResources(est)).toMatch(/^HLS resource ESTIMATES/);
  });

  it("a requested reuse factor becomes, per layer, the least divisor of W at or above it", () => {
    const est = estimateResources(p, cert, 18);
    est.forEach((l, k) => {
      const w = count(layers[k]!);
      expect(w % l.reuseFactor).toBe(0);
      expect(l.reuseFactor).toBeGreaterThanOrEqual(18);
      for (let r = 18; r < l.reuseFactor; r++) expect(w % r).not.toBe(0);
    });
  });

  it("refuses a reuse factor leaving over 4096 weights in parallel, naming the layer", () => {
    const big = layers.find((op) => count(op) > PARTITION_LIMIT)!;
    expect(big).toBeDefined();
    expect(() => estimateResources(p, cert, 1)).toThrow(/over the 4096 limit of config_array_partition; use --reuse-factor \d+ or larger/);
    expect(() => estimateResources(p, cert, 1)).toThrow(big.source.slice(0, 20));
    // the remedy's factor fits every layer
    let message = "";
    try {
      estimateResources(p, cert, 1);
    } catch (e) {
      message = (e as Error).message;
    }
    const remedy = Number(/use --reuse-factor (\d+) or larger/.exec(message)![1]);
    expect(estimateResources(p, cert, remedy).every((l) => l.multipliers <= PARTITION_LIMIT)).toBe(true);
    expect(remedy).toBeGreaterThanOrEqual(Math.ceil(Math.max(...layers.map(count)) / PARTITION_LIMIT));
  });
});
