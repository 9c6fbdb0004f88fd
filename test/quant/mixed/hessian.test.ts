/**
 * The Hessian proxy's finite differences on a model whose loss is exactly
 * quadratic in the weight: y = x·w (one weight), relative MSE
 * L(w') = Σ(x·w' − x·w)² / Σ(x·w)² = (w' − w)²/w², so d²L/dw² = 2/w²; with
 * one element, every Rademacher probe gives the trace exactly.
 */
import { describe, expect, it } from "vitest";
import { arraySource } from "../../../src/quant/feeds.js";
import { hessianPairs, hessianSensitivity, traceOf } from "../../../src/quant/mixed/hessian.js";
import { measureSensitivities } from "../../../src/quant/mixed/measure.js";
import { graph, model, node, value } from "../../ir/builders.js";
import { tensor } from "../../passes/float-helpers.js";

describe("Hessian proxy", () => {
  it("recovers d²L/dw² = 2/w² of a quadratic loss, and scales ‖W − Q(W)‖² by ½·Tr(H)/n", async () => {
    const w = 0.5;
    const m = model(graph([node("MatMul", ["x", "w"], ["y"], [], "mm")], [value("x", 1, ["n", 1])], [value("y", 1, ["n", 1])], [tensor("w", [1, 1], [w])]));
    const x = Float32Array.from({ length: 16 }, (_, i) => (i - 7.5) / 4);
    const source = arraySource({ x: { dtype: 1, dims: [16, 1], data: x } });
    const W = Float32Array.of(w);
    const pairs = hessianPairs("mm", "w", W);
    const r = await measureSensitivities(m, new Set(["w"]), pairs, source, { samples: 16, batchSize: 8, threads: 1 });
    expect(r.metric).toBe("relative-mse");
    const trace = traceOf(r.values, "mm", W)!;
    expect(trace).toBeCloseTo(2 / w ** 2, 3);
    expect(hessianSensitivity(trace, W, Float32Array.of(0.25))).toBeCloseTo(0.5 * (2 / w ** 2) * 0.0625, 3); // = L(0.25) = (0.25/0.5)² = 0.25
  });
});
