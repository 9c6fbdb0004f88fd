/**
 * The torch 0.3 Conv1d exports of Debian's libonnx-testdata (IR 3, opset 6,
 * weights also listed as graph inputs), as a newcomer runs them: quantized
 * by `quantizeModel` (default recipe) on random inputs, then the shared
 * pipeline check (integer-pipeline.ts): certified, the emulator within one
 * output step of ONNX Runtime's fake-quant model, JS = integer ONNX =
 * emulator bit for bit, and the C back end accepts the program. Skips with a
 * notice without libonnx-testdata (fails instead with FIXQ_REQUIRE_DATA=1).
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ValueInfo } from "../../src/ir/graph.js";
import { tensorTypeOf } from "../../src/ir/types.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { Rng } from "../helpers/prng.js";
import { dataAvailable } from "../helpers/require-data.js";
import { value } from "../ir/builders.js";
import { checkIntegerPipeline } from "./integer-pipeline.js";

const ROOT = "/usr/share/libonnx-testdata/data/pytorch-converted";
const present = dataAvailable(ROOT, "libonnx-testdata (Debian package libonnx-testdata)");
afterAll(cleanupModules);

const N = 32;

describe.skipIf(!present).each(["test_Conv1d", "test_Conv1d_dilated", "test_Conv1d_groups", "test_Conv1d_pad2", "test_Conv1d_stride"])("libonnx %s", (name) => {
  it("quantizes and lowers to a conv of height 1; tracks fake-quant; JS = integer ONNX = emulator", async () => {
    const file = loadModel(join(ROOT, name, "model.onnx"));
    const g = file.graph!;
    const inits = new Set(g.initializers.map((t) => t.name));
    // the export fixes the batch (2 or 1): free it, as --input-shape would, to calibrate and compare on N samples
    const free = (v: ValueInfo) => (inits.has(v.name) ? v : value(v.name, 1, ["N", ...tensorTypeOf(v.type)!.shape!.slice(1)]));
    const model = { ...file, graph: { ...g, inputs: g.inputs.map(free), outputs: g.outputs.map(free), valueInfo: [] } };
    const input = g.inputs.find((v) => !inits.has(v.name))!;
    const dims = [N, ...(tensorTypeOf(input.type)!.shape!.slice(1) as number[])];
    const rng = new Rng(5);
    const x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.float() * 4 - 2);
    const { program: p, worstSteps } = await checkIntegerPipeline({ name, model, feeds: { [input.name]: x }, dims: { [input.name]: dims } }, N);
    expect(p.ops.filter((o) => o.kind === "conv").map((o) => (o as { weightShape: readonly number[] }).weightShape[2])).toEqual([1]);
    expect(worstSteps).toBeLessThanOrEqual(1);
  }, 60_000);
});
