/**
 * The bundled ViT goes integer-only: quantized with the default recipe and
 * integerized, every LayerNormalization, Softmax, GELU (Div → Erf → Add → Mul
 * → Mul), attention MatMul and scale Mul becomes an integer op; the emulator's
 * top-1 stays within 0.5 points of ONNX Runtime running the fake-quant QDQ
 * model (optimizations off) on the first 1,000 eval images, every value stays
 * in its certified range on them, and the generated
 * JS and the integer-only ONNX model (run by ONNX Runtime) equal the emulator
 * bit for bit on them. The same holds for the torch-style export of the same weights.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { emitIntegerOnnx } from "../../src/backends/onnx-int/emit.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { verifyIntegerOnly } from "../../src/backends/onnx-int/verify.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { sampleSize } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { cleanupModules, importProgram } from "../backends/js/load-module.js";
import { evalX, evalY } from "../helpers/bundled-data.js";

afterAll(cleanupModules);

const N = 1000;
const FIXTURES = join(import.meta.dirname, "..", "fixtures", "corpus");

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function top1(logits: Float32Array, classes: number): number {
  let right = 0;
  for (let s = 0; s < N; s++) if (argmax(logits.subarray(s * classes, (s + 1) * classes)) === Number(evalY[s])) right++;
  return (100 * right) / N;
}

/**
 * The bundled ViT, and the same weights exported the way torch users' exports
 * look (test/fixtures/corpus/vit-export.onnx: reshape targets and the position
 * embedding's broadcast computed in the graph on int64, folded by
 * passes/fold-shapes before lowering). The export keeps its 4 attention-scale
 * Muls as tables: fold-affine does not take a Mul whose output Shape also reads.
 */
const CASES = [
  { name: "bundled ViT", path: join(MODELS_DIR, "vit.onnx"), tables: 4 },
  { name: "ViT, users' export", path: join(FIXTURES, "vit-export.onnx"), tables: 8 },
];

describe.each(CASES)("$name, integer-only", ({ path, tables }) => {
  it("lowers every transformer op, certifies, and matches fake-quant top-1 within 0.5 points; JS = integer ONNX = emulator", async () => {
    const float = loadModel(path);
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 256);
    const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 }).finally(() => source.close());
    const p = integerizeModel(model);
    const kinds = new Map<string, number>();
    for (const op of p.ops) kinds.set(op.kind, (kinds.get(op.kind) ?? 0) + 1);
    expect({ layernorm: kinds.get("layernorm"), softmax: kinds.get("softmax"), matmul: kinds.get("matmul"), table: kinds.get("table") }).toEqual({
      layernorm: 9,
      softmax: 4,
      matmul: 8,
      // one GELU table per block: affine folding (passes/fold-affine) moves each attention scale Mul into the q MatMul's weights
      table: tables,
    });
    const cert = certifyProgram(p);
    expect(cert.problems.filter((q) => q.level === "error")).toEqual([]);

    const input = p.inputs[0]!;
    const size = sampleSize(input.shape);
    const x = evalX.data.subarray(0, N * size);
    // the certificate holds on real data: every value of every op stays in its certified range
    const emu = runProgram(p, new Map([[input.name, x]]), N, { assertRanges: cert.ranges });
    const out = p.outputs[0]!.name;
    const classes = sampleSize(p.outputs[0]!.shape);

    const session = await OrtSession.create(model, { optimization: "disabled", threads: 1 });
    const ort = await session.run({ [input.name]: { dtype: DataType.FLOAT, dims: [N, ...input.shape], data: x } });
    const fq = ort[session.outputNames[0]!]!.data as Float32Array;
    const [emuTop1, fqTop1] = [top1(emu.outputs.get(out)!, classes), top1(fq, classes)];
    expect(Math.abs(emuTop1 - fqTop1), `emulator ${emuTop1}% vs fake-quant ${fqTop1}%`).toBeLessThanOrEqual(0.5);

    const { mod } = await importProgram(p);
    const js = mod.runAll({ [input.name]: x }, N);
    const r = resultMismatches(js, emu, [out]);
    expect({ floats: r.floats, ints: r.ints }).toEqual({ floats: 0, ints: 0 });

    expect(verifyIntegerOnly(emitIntegerOnnx(p))).toEqual([]);
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(new Map([[input.name, x]]), N).finally(() => runner.release());
    const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, [out]);
    expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });
  }, 120_000);
});
