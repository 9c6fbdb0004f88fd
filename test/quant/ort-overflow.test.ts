/**
 * The default weight range keeps ORT's integer kernels exact on every CPU: the
 * adversarial input, every activation at its maximum code against every weight
 * at its maximum, gives the same output fused (integer kernels) and unfused
 * (fake-quant).
 *
 * Full 8-bit weights depend on the CPU (runtime/cpu-features.ts): on x86 with
 * AVX2 (or AVX512-BW) and no VNNI, u8×s8 products are added in pairs into a
 * saturating int16 and the two runs disagree, which also shows the first test
 * can fail; with AVX512-VNNI, AVX-VNNI or AMX they accumulate in int32 and
 * agree. The test asserts what the detected CPU must do and names it.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { detectCpu } from "../../src/runtime/cpu-features.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { graph, model, node, value } from "../ir/builders.js";

const K = 64;
const N = 8;

/** x[n, K] → MatMul(W = all ones) → y[n, N]: every product is max activation × max weight. */
function allOnesMatMul(): Model {
  return model(
    graph(
      [node("MatMul", ["x", "W"], ["y"], [], "mm")],
      [value("x", DataType.FLOAT, ["n", K])],
      [value("y", DataType.FLOAT, ["n", N])],
      [makeFloatTensor("W", [K, N], new Array(K * N).fill(1))],
    ),
  );
}

async function fusedAndUnfused(flags: RecipeInput): Promise<[Float32Array, Float32Array]> {
  // Calibration spans [0, 1] for x (so x = 1 is the top uint8 code 255), and its first row of ones gives y its full range.
  const calib = Float32Array.from({ length: 16 * K }, (_, i) => (i < K ? 1 : (i % 17) / 16));
  const q = await quantizeModel(allOnesMatMul(), arraySource({ x: { dtype: 1, dims: [16, K], data: calib } }), buildRecipe(flags), { threads: 1 });
  const feeds = { x: { dtype: 1, dims: [1, K], data: new Float32Array(K).fill(1) } };
  const out: Float32Array[] = [];
  for (const optimization of ["all", "disabled"] as const) {
    const s = await OrtSession.create(q.model, { optimization, threads: 1 });
    try {
      out.push((await s.run(feeds))["y"]!.data as Float32Array);
    } finally {
      await s.release();
    }
  }
  return [out[0]!, out[1]!];
}

const cpu = detectCpu();
const cpuName = `${cpu.arch} ${cpu.features.join("+") || "(no features detected)"}`;

describe(`ORT integer kernels on the adversarial input (${cpu.summary})`, () => {
  it("default weights (|w| ≤ 64): integer kernels equal fake-quant on any CPU", async () => {
    const [fused, unfused] = await fusedAndUnfused({});
    expect(unfused[0]).toBeCloseTo(K, 0);
    for (let i = 0; i < N; i++) expect(fused[i]).toBeCloseTo(unfused[i]!, 3);
  });

  it.runIf(cpu.u8s8 === "saturating-int16-pairs")(`full 8-bit weights (|w| = 127) on ${cpuName}, no VNNI: the int16 pair sums saturate and the kernels disagree`, async () => {
    const [fused, unfused] = await fusedAndUnfused({ weightBits: 8 });
    expect(unfused[0]).toBeCloseTo(K, 0);
    expect(Math.abs(fused[0]! - unfused[0]!)).toBeGreaterThan(1);
  });

  it.runIf(cpu.u8s8 === "exact-int32")(`full 8-bit weights (|w| = 127) on ${cpuName}, int32 accumulation (VNNI/AMX/SSE widening/Arm): the kernels equal fake-quant`, async () => {
    const [fused, unfused] = await fusedAndUnfused({ weightBits: 8 });
    expect(unfused[0]).toBeCloseTo(K, 0);
    for (let i = 0; i < N; i++) expect(fused[i]).toBeCloseTo(unfused[i]!, 3);
  });

  it.runIf(cpu.u8s8 === "unknown")(`full 8-bit weights on an undetected CPU (${cpuName}): nothing asserted about the kernels`, () => {
    console.warn(`ort-overflow: CPU features unknown (${cpu.summary}); the 8-bit weight kernel behaviour is not asserted`);
    expect(cpu.u8s8).toBe("unknown");
  });
});
