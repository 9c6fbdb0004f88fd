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

  it("a requested reuse factor must divide the layer: refused with one line naming the node and the valid factors", () => {
    const w0 = count(layers[0]!);
    const bad = [2, 3, 5, 7, 11, 13].find((r) => w0 % r !== 0)!;
    expect(() => estimateResources(p, cert, { byLayer: new Map([[layers[0]!.source, bad]]) })).toThrow(
      new RegExp(`^${layers[0]!.source.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: reuseFactor ${bad} does not divide its ${w0} weights; valid factors: \\d`),
    );
    // a valid per-layer factor is taken as given; the others keep their automatic factor
    const good = [2, 3, 4, 6, 8].find((r) => w0 % r === 0 && w0 / r <= PARTITION_LIMIT) ?? estimateResources(p, cert)[0]!.reuseFactor;
    const est = estimateResources(p, cert, { byLayer: new Map([[layers[0]!.source, good]]) });
    expect(est[0]!.reuseFactor).toBe(good);
    expect(est[0]!.multipliers).toBe(w0 / good);
    expect(est.slice(1).map((l) => l.reuseFactor)).toEqual(estimateResources(p, cert).slice(1).map((l) => l.reuseFactor));
  });

  it("refuses a reuse factor partitioning over 4096 elements, naming the layer and a factor that fits", () => {
    const big = layers.find((op) => count(op) > PARTITION_LIMIT)!;
    expect(big).toBeDefined();
    let message = "";
    try {
      estimateResources(p, cert, 1);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^(Conv|Gemm|MatMul) '[^']+': reuse factor 1 partitions its weights in \d+ banks, over the 4096 limit of config_array_partition; /);
    const layer = layers.find((op) => message.startsWith(`${op.source}:`))!;
    expect(count(layer)).toBeGreaterThan(PARTITION_LIMIT);
    const all = /use --reuse-factor (\d+) or larger/.exec(message);
    if (all) {
      expect(estimateResources(p, cert, Number(all[1])).every((l) => l.multipliers <= PARTITION_LIMIT)).toBe(true);
    } else {
      // no one factor divides every layer: the remedy is this layer's own least fitting factor
      const r = Number(/set reuseFactor (\d+) \(or a larger divisor of (\d+)\) for this layer in a recipe's layers rules$/.exec(message)![1]);
      expect(count(layer) % r).toBe(0);
      expect(count(layer) / r).toBeLessThanOrEqual(PARTITION_LIMIT);
      for (let q = 1; q < r; q++) expect(count(layer) % q !== 0 || count(layer) / q > PARTITION_LIMIT).toBe(true);
    }
  });
});
