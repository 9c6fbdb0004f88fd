/**
 * The torch nn.TransformerEncoderLayer exports (test/fixtures/torch-encoder,
 * scripts/make_torch_encoder_fixtures.py) for the integer-only suites:
 * generated inputs, each fixture quantized with the default recipe on 48 of
 * them, and its integer program. Data moves between the model's layout (the
 * batch on axis 1 for seq-first exports) and the program's (samples first).
 */
import { join } from "node:path";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { pinSampleShapes } from "../../src/ir/pin-shapes.js";
import type { DataSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { sliceAxis } from "../../src/quant/signature.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";
import { Rng } from "./prng.js";

export const SEQ = 5;
export const D = 32;
/** The fixed-batch export's batch. */
export const FIXED_BATCH = 3;

export interface EncoderFixture {
  readonly file: string;
  /** Where the model's batch sits: 1 for seq-first, 0 for batch-first; null for the fixed batch (one program sample is the whole input). */
  readonly batchAxis: 0 | 1 | null;
  /** `--input-shape x=…` for the integer program (a dynamic sequence length pinned, the batch pinned to 1 stays free). */
  readonly pin?: readonly number[];
}

export const ENCODERS: readonly EncoderFixture[] = [
  { file: "seq-first.onnx", batchAxis: 1 },
  { file: "batch-first.onnx", batchAxis: 0 },
  { file: "norm-first.onnx", batchAxis: 1 },
  { file: "seq-first.fixed.onnx", batchAxis: null },
  { file: "seq-first.dynseq.onnx", batchAxis: 1, pin: [SEQ, 1, D] },
];

/** Batch-first and norm-first: the norm's output passes a Transpose before the in-projection (lowered by the integer suite only). */
export const NORM_FIRST_BATCH_FIRST: EncoderFixture = { file: "norm-first.batch-first.onnx", batchAxis: 0 };

export const encoderPath = (file: string) => join(import.meta.dirname, "..", "fixtures", "torch-encoder", file);

/** n program samples of standard-normal inputs, samples first: [n, SEQ, D], or [n, SEQ, 3, D] for the fixed batch. */
export function encoderInputs(f: EncoderFixture, n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const per = SEQ * D * (f.batchAxis === null ? FIXED_BATCH : 1);
  // standard normal by Box–Muller
  return Float32Array.from({ length: n * per }, () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float()));
}

/** Program-layout samples as the model's input tensor: [SEQ, n, D] for seq-first, [n, SEQ, D] batch-first, [n·SEQ, 3, D] fixed. */
export function modelTensor(f: EncoderFixture, x: Float32Array, n: number): HostTensor {
  if (f.batchAxis === 0) return { dtype: DataType.FLOAT, dims: [n, SEQ, D], data: x };
  if (f.batchAxis === null) return { dtype: DataType.FLOAT, dims: [n * SEQ, FIXED_BATCH, D], data: x };
  return { dtype: DataType.FLOAT, dims: [SEQ, n, D], data: swap01(x, n, SEQ, D) };
}

/** The model's output in the program's layout (samples first). */
export function programLayout(f: EncoderFixture, y: Float32Array, n: number): Float32Array {
  return f.batchAxis === 1 ? swap01(y, SEQ, n, D) : y;
}

/** [a, b, c] → [b, a, c]. */
function swap01(x: Float32Array, a: number, b: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(x.subarray((i * b + j) * c, (i * b + j + 1) * c), (j * a + i) * c);
  return out;
}

/** One run over the whole calibration tensor (the fixed export needs runs of exactly SEQ rows along axis 0: one per sample). */
function source(f: EncoderFixture, t: HostTensor, n: number): DataSource {
  if (f.batchAxis === null) {
    const per = SEQ * FIXED_BATCH * D;
    return {
      count: n * SEQ,
      fixedBatch: SEQ,
      batch: (start, count) => ({ x: { ...t, dims: [count, FIXED_BATCH, D], data: (t.data as Float32Array).subarray((start / SEQ) * per, ((start + count) / SEQ) * per) } }),
      close() {},
    };
  }
  return { count: n, sampleAxes: new Map([["x", f.batchAxis]]), batch: (start, count) => ({ x: sliceAxis(t, f.batchAxis!, start, count) }), close() {} };
}

/** The fixture quantized (default recipe, 48 samples) and its integer program. */
export async function encoderProgram(f: EncoderFixture): Promise<{ float: Model; qdq: Model; program: Program }> {
  const float = loadModel(encoderPath(f.file));
  const n = 48;
  const { model } = await quantizeModel(float, source(f, modelTensor(f, encoderInputs(f, n, 1), n), n), buildRecipe({}), { threads: 1 });
  return { float, qdq: model, program: integerizeModel(f.pin ? pinSampleShapes(model, new Map([["x", [...f.pin]]])) : model) };
}
