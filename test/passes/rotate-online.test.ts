/**
 * passes/rotate-online.ts (`--rotate online`): on the bundled ViT, after the 4
 * folded value → output pairs, one Hadamard MatMul goes before each block's
 * Q/K/V projections (shared), fc1, fc2 (after GELU, width 128) and the head
 * Gemm, and the float output is unchanged (≤ 1e-4 of the largest logit) in
 * ONNX Runtime; the MLP's Gemms (transB = 1) likewise. Quantized with the
 * default recipe (the inserted MatMuls' weights int8 per tensor), the model
 * lowers to integers, the inserted MatMuls' integer weights are exactly ±q,
 * the certificate holds, and the generated JS and the integer-only ONNX equal
 * the emulator bit for bit. A model with no rotatable layer is refused with
 * the reason; `--rotate online` with `--smooth` smooths first, so the
 * inserted weights stay exactly ±q; an unknown mode is a usage error.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { emitIntegerOnnx } from "../../src/backends/onnx-int/emit.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { verifyIntegerOnly } from "../../src/backends/onnx-int/verify.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { DenseOp } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { ONLINE_HADAMARD_RULE, rotateFoldedAndOnline } from "../../src/passes/rotate-online.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { resultMismatches } from "../backends/js/compare.js";
import { cleanupModules, importProgram } from "../backends/js/load-module.js";
import { evalX } from "../helpers/bundled-data.js";
import { fixqMain } from "../helpers/fixq-main.js";
import { relErr, run, tensor } from "./float-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-rotate-online-"));
afterAll(() => {
  cleanupModules();
  rmSync(tmp, { recursive: true, force: true });
});

const VIT = join(MODELS_DIR, "vit.onnx");
const MLP = join(MODELS_DIR, "mlp.onnx");
const N = 64;
const images = (n: number) => ({ input: { dtype: DataType.FLOAT, dims: [n, 1, 28, 28], data: evalX.data.subarray(0, n * 784) } });

async function floatChange(before: Model, after: Model, feeds: ReturnType<typeof images>): Promise<number> {
  const [a, b] = [await run(before, feeds), await run(after, feeds)];
  const out = before.graph!.outputs[0]!.name;
  return relErr(a[out]!, b[out]!);
}

describe("online Hadamard", () => {
  it("on the ViT: folded pairs, then one H before Q/K/V, fc1, fc2 and the head; float output unchanged", async () => {
    const float = loadModel(VIT);
    const { model, pairs, rotations } = rotateFoldedAndOnline(float);
    expect(pairs.length).toBe(4);
    expect(rotations.length).toBe(13);
    const qkv = rotations.filter((r) => r.node.includes("norm1"));
    expect(qkv.map((r) => r.readers.length)).toEqual([3, 3, 3, 3]);
    expect(rotations.filter((r) => r.node.includes("act/")).every((r) => r.width === 128 && r.block === 128)).toBe(true);
    // the folded pairs' second layers (the output projections) read an already rotated input: no online H there
    expect(rotations.some((r) => r.readers.some((x) => x.includes("proj")))).toBe(false);
    expect(await floatChange(float, model, images(N))).toBeLessThanOrEqual(1e-4);
  }, 60_000);

  it("on the MLP's Gemms (transB = 1, no folded pair): float output unchanged", async () => {
    const float = loadModel(MLP);
    const { model, pairs, rotations } = rotateFoldedAndOnline(float);
    expect(pairs.length).toBe(0);
    expect(rotations.length).toBeGreaterThan(0);
    // fc1 reads the flattened 784 pixels (block 16), fc2 and fc3 the ReLU outputs
    expect(rotations.map((r) => [r.width, r.block])).toEqual([[784, 16], [256, 256], [128, 128]]);
    expect(await floatChange(float, model, images(N))).toBeLessThanOrEqual(1e-4);
  }, 60_000);

  it("refuses a model with nothing to rotate, with the reason", () => {
    const model: Model = {
      opsets: [{ domain: "", version: 17 }],
      functions: [],
      graph: {
        nodes: [{ name: "fc", opType: "Gemm", inputs: ["x", "w"], outputs: ["y"], attributes: [] }],
        inputs: [{ name: "x" }],
        outputs: [{ name: "y" }],
        valueInfo: [],
        initializers: [tensor("w", [6, 3], new Float32Array(18).fill(0.5))],
      },
    };
    expect(() => rotateFoldedAndOnline(model)).toThrow(/--rotate online: no linear layer to rotate: .*width K has a power-of-two block ≥ 4/);
  });

  it("quantized ViT lowers to integers: H weights exactly ±q, certified, JS = integer ONNX = emulator", async () => {
    const float = loadModel(VIT);
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 128);
    const recipe = buildRecipe({ layers: [{ ...ONLINE_HADAMARD_RULE, match: { ...ONLINE_HADAMARD_RULE.match } }] });
    const { model } = await quantizeModel(rotateFoldedAndOnline(float).model, source, recipe, { threads: 1 }).finally(() => source.close());
    const p = integerizeModel(model);
    const h = p.ops.filter((o): o is DenseOp => o.kind === "dense" && o.source.includes("online_hadamard"));
    expect(h.length).toBe(13);
    for (const op of h) {
      const w = Array.from(op.weight);
      const q = Math.abs(w[0]!);
      expect(q).toBeGreaterThan(0);
      // blockwise Hadamard: every entry on the blocks is ±q (here the blocks are the full width)
      expect(w.every((v) => Math.abs(v) === q)).toBe(true);
    }
    const cert = certifyProgram(p);
    expect(cert.problems.filter((x) => x.level === "error")).toEqual([]);
    const n = 200;
    const input = p.inputs[0]!;
    const x = evalX.data.subarray(0, n * 784);
    const emu = runProgram(p, new Map([[input.name, x]]), n, { assertRanges: cert.ranges });
    const out = p.outputs[0]!.name;
    const { mod } = await importProgram(p);
    const js = resultMismatches(mod.runAll({ [input.name]: x }, n), emu, [out]);
    expect({ floats: js.floats, ints: js.ints }).toEqual({ floats: 0, ints: 0 });
    expect(verifyIntegerOnly(emitIntegerOnnx(p))).toEqual([]);
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(new Map([[input.name, x]]), n).finally(() => runner.release());
    const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, [out]);
    expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });
  }, 180_000);

  it("fixq quantize --rotate online writes a model ORT loads; with --smooth it smooths first (H weights still exactly ±q); an unknown mode is a usage error", async () => {
    const out = join(tmp, "vit.rot.onnx");
    const r = await fixqMain("quantize", VIT, "-o", out, "--rotate", "online", "--calib-samples", "32");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/online Hadamard: 13 MatMuls inserted/);
    expect(loadModel(out).graph!.nodes.filter((n) => n.name?.endsWith("/online_hadamard")).length).toBe(13);
    const both = join(tmp, "vit.smooth.rot.onnx");
    const s = await fixqMain("quantize", VIT, "-o", both, "--rotate", "online", "--smooth", "0.5", "--calib-samples", "32");
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/smooth {2}α 0\.5, 8 LayerNorms/);
    const g = loadModel(both).graph!;
    const hs = g.nodes.filter((n) => n.name?.endsWith("/online_hadamard"));
    expect(hs.length).toBe(13);
    // each inserted MatMul's int8 weight (behind its DequantizeLinear) holds only 0 and ±q for one q: smoothing did not scale it
    for (const h of hs) {
      const dq = g.nodes.find((n) => n.outputs[0] === h.inputs[1])!;
      const codes = new Set(Array.from(tensorToFloat64(g.initializers.find((t) => t.name === dq.inputs[0])!), Math.abs));
      codes.delete(0);
      expect(codes.size, h.name).toBe(1);
    }
    const [f, q] = [await run(loadModel(VIT), images(N)), await run(loadModel(both), images(N))];
    const name = g.outputs[0]!.name;
    expect(relErr(f[name]!, q[name]!)).toBeLessThan(0.2);
    const bad = join(tmp, "vit.bad.onnx");
    const unknown = await fixqMain("quantize", VIT, "-o", bad, "--rotate", "sideways");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--rotate takes no value, "folded" or "online", got 'sideways'/);
    expect(existsSync(bad)).toBe(false);
  }, 120_000);
});
