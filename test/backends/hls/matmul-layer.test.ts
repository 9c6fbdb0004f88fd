/**
 * The activation × activation matmul of the HLS back end at a reuse factor
 * (matmul-layer.ts), on the bundled ViT's 8 attention matmuls ([4, 16, 16] ·
 * [4, 16, 16] per sample: K·N = 256 products per row, 4 heads × 16 rows):
 * the pragmas the code carries at R = 1, 4, 16, the resource and timing rows
 * computed by hand from the formulas (resources.ts, timing.ts), a recipe's
 * `layers` rule setting one matmul's R, the refusals (R not dividing K·N; a
 * partition over 4096, on hand-built matmuls), and one C simulation at R = 4
 * against the emulator (bit for bit; R = 1 is transformer.test.ts's ViT
 * build, R = 16 and the rest `npm run bench:hls`). The ViT is quantized once.
 * The build skips without g++/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planDesign } from "../../../src/backends/hls/design.js";
import { emitHls } from "../../../src/backends/hls/emit.js";
import { matmulLayer } from "../../../src/backends/hls/matmul-layer.js";
import { estimateResources, type LayerResources } from "../../../src/backends/hls/resources.js";
import { estimateTiming } from "../../../src/backends/hls/timing.js";
import { reuseFactorsOf } from "../../../src/cli/hls-reuse.js";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { type Certificate, certifyProgram } from "../../../src/integer/certify.js";
import { integerizeModel } from "../../../src/integer/integerize.js";
import type { MatMulOp, Program } from "../../../src/integer/program.js";
import type { Model } from "../../../src/ir/graph.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { npyFileSource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { tallyBuilt } from "../c/check-c.js";
import { feeds } from "../c/feeds-c.js";
import { push } from "../c/transformer-programs.js";
import { I32, I8, ProgramBuilder, U8 } from "../js/program-builder.js";
import { buildHls } from "./build-hls.js";

const tmp = tempDir("fixq-hls-matmul-");
afterAll(tmp.remove);

let vit: { model: Model; p: Program; cert: Certificate; matmuls: MatMulOp[] };
beforeAll(async () => {
  const float = loadModel(join(MODELS_DIR, "vit.onnx"));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 64); // bit-exactness, not accuracy
  try {
    const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
    const p = integerizeModel(model);
    vit = { model, p, cert: certifyProgram(p), matmuls: p.ops.filter((op): op is MatMulOp => op.kind === "matmul") };
  } finally {
    source.close();
  }
}, 120_000);

/** The fewest bits of a two's-complement integer holding lo … hi. */
const signedWidth = (lo: number, hi: number) => {
  let w = 1;
  while (lo < -(2 ** (w - 1)) || hi > 2 ** (w - 1) - 1) w++;
  return w;
};

/** The function text of layer i in fixq_layers.h. */
const fnOf = (layers: string, i: number) => {
  const at = layers.indexOf(`static int layer${i}(`);
  const end = layers.indexOf("\n}", at);
  return layers.slice(at, end);
};

/** A program of one matmul a [2, M, K] (uint8, zero 128) · b [2, K, N] (int8, zero 3), named '/big'. */
function oneMatMul(M: number, K: number, N: number): Program {
  const b = new ProgramBuilder();
  const a = b.input([2, M, K], U8, 0.1, 128);
  const c = b.input([2, K, N], I8, 0.1, 3);
  const acc = push(b, (out) => ({ kind: "matmul", source: "MatMul '/big'", inputs: [a, c], output: out, inputZeros: [128, 3] }), [2, M, N], I32);
  b.output(b.requant(acc, [{ m: 1518500250, s: 45 }], 0, U8, 128), 0.05);
  return b.build();
}

describe("the ViT's attention matmuls at reuse factors 1, 4, 16", () => {
  it("pragmas, resource rows and timing rows follow R (values by hand from the formulas)", () => {
    const { p, cert, matmuls } = vit;
    expect(matmuls).toHaveLength(8);
    for (const op of matmuls) {
      expect(p.values.get(op.inputs[0])!.shape).toEqual([4, 16, 16]);
      expect(p.values.get(op.inputs[1])!.shape).toEqual([4, 16, 16]);
      expect(op.inputs.map((v) => p.values.get(v)!.type)).toEqual([U8, U8]);
    }
    for (const R of [1, 4, 16]) {
      // R on the matmuls; the other layers at their default (fc1's 8192 weights refuse R = 1)
      const layers = estimateResources(p, cert, { byLayer: new Map(matmuls.map((op) => [op.source, R])) });
      const rows = layers.filter((l) => l.kind === "matmul");
      expect(rows.map((l) => l.source)).toEqual(matmuls.map((op) => op.source));
      for (const [k, l] of rows.entries()) {
        const op = matmuls[k]!;
        // the operand widths: x − z over x's certified range, signed
        const bits = op.inputs.map((v, j) => signedWidth(cert.ranges.get(v)!.lo - op.inputZeros[j]!, cert.ranges.get(v)!.hi - op.inputZeros[j]!));
        expect(bits.every((b) => b === 8 || b === 9)).toBe(true); // uint8 − z: 8 or 9 bits, one DSP48 each (≤ 27 × 18)
        expect(l).toEqual<LayerResources>({
          source: op.source,
          kind: "matmul",
          weights: 256, // K·N = 16·16 products per row
          rows: 64, // 4 heads · 16 rows
          macs: 64 * 256,
          reuseFactor: R,
          multipliers: 256 / R,
          operandBits: [bits[0]!, bits[1]!],
          dspPerMultiplier: 1, // ≤ 27 × 18
          dsp: 256 / R,
          weightBits: 256 * bits[1]!, // the local b block
          activationBits: 4 * 16 * 16 * 32, // the int32 output
          accumulatorBits: cert.rows.find((r) => r.accumulator && r.value === op.output)!.width,
          ii: R,
          cycles: 64 * R + 4 * 256, // the rows at II = R, then the 4 heads' loads of 256
        });
      }
      const timing = estimateTiming(p, cert, layers, "parallel").layers.filter((l) => l.kind === "matmul");
      // II raised to the memory bound: 16 taps of a read per row from a dual-port array, 16 sums written: 8
      const ii = Math.max(R, 8);
      for (const t of timing) {
        expect(t).toMatchObject({ iiRequested: R, ii, depth: ii + 5, trips: 4 * (256 + 16), cycles: 4 * (255 + 2 + 15 * ii + ii + 5) });
      }
      const design = planDesign(p, cert, layers, "ap");
      const code = matmuls.map((op) => matmulLayer(design, op, p.ops.indexOf(op))).join("\n");
      for (const op of matmuls) {
        const fn = fnOf(code, p.ops.indexOf(op));
        expect(fn).toContain(`#pragma HLS ARRAY_RESHAPE variable=bt block factor=${256 / R} dim=1`);
        expect(fn).toContain(`#pragma HLS PIPELINE II=${R}\n#pragma HLS ALLOCATION operation instances=mul limit=${256 / R}\n`);
        expect(fn).toContain(`Reuse: for (int ir = 0; ir < ${R}; ir++) {\n        Mac: for (int im = 0; im < ${256 / R}; im++) {\n#pragma HLS UNROLL`);
        expect(fn.match(/#pragma HLS PIPELINE/g)).toHaveLength(2); // the load (II=1) and the row (II=R)
      }
      // the accumulator typedef: the certified width
      const i0 = p.ops.indexOf(matmuls[0]!);
      const w0 = cert.rows.find((r) => r.accumulator && r.value === matmuls[0]!.output)!.width;
      expect(code).toContain(`typedef ap_int<${w0}> layer${i0}_acc_t;`);
    }
  }, 60_000);

  it("a recipe's layers rule sets one matmul's R over --reuse-factor; a factor not dividing K·N is refused naming the node", () => {
    const { model, p, cert } = vit;
    const recipe = join(tmp.dir, "reuse.json");
    writeFileSync(recipe, JSON.stringify({ layers: [{ match: { name: "/blocks/blocks.0/attn/MatMul" }, reuseFactor: 16 }] }));
    const layers = estimateResources(p, cert, { all: 4, byLayer: reuseFactorsOf(recipe, model) });
    const r = (source: string) => layers.find((l) => l.source === source)!.reuseFactor;
    expect(r("MatMul '/blocks/blocks.0/attn/MatMul'")).toBe(16);
    expect(r("MatMul '/blocks/blocks.0/attn/MatMul_1'")).toBe(4);
    expect(r("MatMul '/blocks/blocks.1/attn/MatMul'")).toBe(4);
    writeFileSync(recipe, JSON.stringify({ layers: [{ match: { name: "/blocks/blocks.0/attn/MatMul" }, reuseFactor: 3 }] }));
    expect(() => estimateResources(p, cert, { all: 4, byLayer: reuseFactorsOf(recipe, model) })).toThrow(
      /^MatMul '\/blocks\/blocks\.0\/attn\/MatMul': reuseFactor 3 does not divide its 256 products per row \(K·N\); valid factors: 1, 2, 4, 8, 16, 32, 64, 128, 256$/,
    );
  });
});

describe("matmul partitions over the 4096 limit are refused naming the node and the remedy", () => {
  it("K·N = 8192: R = 1 refused, the default takes R = 2; K = 8192 taps: no factor fits", () => {
    const p = oneMatMul(3, 128, 64);
    const cert = certifyProgram(p);
    expect(() => estimateResources(p, cert, 1)).toThrow(
      /^MatMul '\/big': reuse factor 1 partitions its 128x64 block of b in 8192 banks, over the 4096 limit of config_array_partition; use --reuse-factor 2 or larger/,
    );
    expect(() => estimateResources(p, cert, { byLayer: new Map([["MatMul '/big'", 1]]) })).toThrow(/; set reuseFactor 2 \(or a larger divisor of 8192\) for this layer in a recipe's layers rules$/);
    expect(() => emitHls(p, { reuse: { all: 1 } })).toThrow(/^MatMul '\/big': reuse factor 1 partitions/);
    expect(estimateResources(p, cert).map((l) => [l.reuseFactor, l.multipliers])).toEqual([[2, 4096]]);
    expect(() => estimateResources(p, cert, 5)).toThrow(/^MatMul '\/big': --reuse-factor 5 does not divide its 8192 products per row \(K·N\); valid factors: 2, 4, 8, /);
    const wide = oneMatMul(1, 8192, 1);
    expect(() => estimateResources(wide, certifyProgram(wide), 8)).toThrow(/^MatMul '\/big': reuse factor 8 partitions its 8192 input taps, over the 4096 limit of config_array_partition; no reuse factor fits this layer/);
  });
});

describe.skipIf(!(toolAvailable("gcc") && toolAvailable("g++") && toolAvailable("make")))("HLS C simulation at R = 4", () => {
  it("the ViT (every layer at R = 4) equals the emulator bit for bit: eval images, random floats, extreme integers", () => {
    const { p, cert } = vit;
    const d = join(tmp.dir, "vit-r4");
    mkdirSync(d, { recursive: true });
    const layers = estimateResources(p, cert, 4);
    expect(layers.filter((l) => l.kind === "matmul").map((l) => l.reuseFactor)).toEqual(Array(8).fill(4));
    const t = tallyBuilt(buildHls(p, d, { modelName: "vit", cert, layers }), feeds(p, 12, 5, 4, 2));
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((12 + 4 + 4 * 2) * 10);
  }, 240_000);
});
