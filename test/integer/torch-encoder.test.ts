/**
 * torch nn.TransformerEncoderLayer exports (test/fixtures/torch-encoder:
 * seq-first with the batch on axis 1, batch-first, norm-first, dynamic and
 * fixed batch; norm-first and batch-first, whose LayerNorm output passes a
 * Transpose before it is quantized: integer/activation-tail.ts) lower to integer-only programs: torch's attention head split
 * moves the batch off the leading axis and merges it with the heads, and the
 * dynamic exports compute the split's reshape targets and the attention scale
 * in the graph (Shape, Gather, Slice, Mod, Div, Concat, Sqrt); a dynamic
 * sequence length is pinned as `--input-shape x=5x1x32` pins it. Each program is
 * one sample of the model (passes/sample-axis.ts); the emulator agrees with
 * ONNX Runtime running the fake-quant QDQ model at batch N, and the generated
 * JS and the integer-only ONNX equal the emulator bit for bit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import type { Program } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { cleanupModules, importProgram } from "../backends/js/load-module.js";
import { cosine } from "../helpers/cosine.js";
import { D, ENCODERS, encoderInputs, encoderProgram, FIXED_BATCH, modelTensor, NORM_FIRST_BATCH_FIRST, programLayout, SEQ } from "../helpers/torch-encoder-fixture.js";

const N = 24;
afterAll(() => cleanupModules());

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

/** The model in ONNX Runtime (no graph optimizations); the fixed-batch export runs once per program sample. */
async function ortRun(model: Model, x: ReturnType<typeof modelTensor>, runs: number): Promise<Float32Array> {
  const s = await OrtSession.create(model, { optimization: "disabled", threads: 1 });
  try {
    const data = x.data as Float32Array;
    const per = data.length / runs;
    const out = new Float32Array(data.length);
    for (let r = 0; r < runs; r++) {
      const part = { ...x, dims: [x.dims[0]! / runs, ...x.dims.slice(1)], data: data.subarray(r * per, (r + 1) * per) };
      out.set((await s.run({ x: runs === 1 ? x : part }))["y"]!.data as Float32Array, r * per);
    }
    return out;
  } finally {
    await s.release();
  }
}

describe.each([...ENCODERS, NORM_FIRST_BATCH_FIRST])("torch TransformerEncoderLayer $file, integer-only", (f) => {
  let qdq: Model;
  let float: Model;
  let p: Program;
  beforeAll(async () => {
    ({ float, qdq, program: p } = await encoderProgram(f));
  }, 120_000);

  it("lowers to one sample of the model, with attention, Softmax and LayerNorm in integers, and certifies", () => {
    const sample = f.batchAxis === null ? [SEQ, FIXED_BATCH, D] : [SEQ, D];
    // seq-first: the model runs its samples along axis 1, the program samples first
    const axis = f.batchAxis === 1 ? { batchAxis: 1 } : {};
    expect(p.inputs).toEqual([{ name: "x", shape: sample, ...axis }]);
    expect(p.outputs).toEqual([{ name: "y", shape: sample, ...axis }]);
    const kinds = new Map<string, number>();
    for (const op of p.ops) kinds.set(op.kind, (kinds.get(op.kind) ?? 0) + 1);
    expect({ matmul: kinds.get("matmul"), softmax: kinds.get("softmax"), layernorm: kinds.get("layernorm"), dense: kinds.get("dense") }).toEqual({ matmul: 2, softmax: 1, layernorm: 2, dense: 4 });
    expect(certifyProgram(p).problems.filter((q) => q.level === "error")).toEqual([]);
  });

  it("the emulator agrees with the fake-quant model in ONNX Runtime; JS and the integer ONNX equal it bit for bit", async () => {
    const x = encoderInputs(f, N, 2);
    const emu = runProgram(p, new Map([["x", x]]), N, { assertRanges: certifyProgram(p).ranges });
    const y = emu.outputs.get("y")!;
    const runs = f.batchAxis === null ? N : 1;
    const fq = programLayout(f, await ortRun(qdq, modelTensor(f, x, N), runs), N);
    const fl = programLayout(f, await ortRun(float, modelTensor(f, x, N), runs), N);
    // Tolerance: the integer Softmax, LayerNorm and requants round where ONNX Runtime computes the fake-quant graph's
    // float ops, so a few 8-bit codes differ by one step; one such step before the last LayerNorm moves an output by
    // about γ/σ·S (measured: cosine ≥ 0.999997 and max |Δ| ≤ 0.077 on all four exports). The fake-quant model itself is
    // about 0.9997 from float, so the integer arithmetic may add at most a small fraction of quantization's own error.
    expect(cosine(y, fq)).toBeGreaterThan(0.9999);
    expect(maxAbs(y, fq)).toBeLessThan(0.15);
    expect(cosine(y, fl)).toBeGreaterThan(cosine(fq, fl) - 1e-4);

    const { mod, files } = await importProgram(p);
    // the generated module takes samples first and says where the ONNX model has them
    if (f.batchAxis === 1) expect(files.get("README.txt")).toMatch(/x \[batch, 5, 32\] \(batch first here; the ONNX model has it on axis 1\)/);
    const js = mod.runAll({ x }, N);
    expect(resultMismatches(js, emu, ["y"])).toMatchObject({ floats: 0, ints: 0 });
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(new Map([["x", x]]), N).finally(() => runner.release());
    const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, ["y"]);
    expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });
  }, 120_000);
});
