/**
 * The torch encoder export called with src_key_padding_mask
 * (test/fixtures/torch-encoder/padmask.onnx: x [5, batch, 32], mask bool
 * [batch, 5], True = padding; scripts/make_torch_encoder_fixtures.py):
 * generated padded batches, the model quantized with the default recipe on
 * 48 of them (x fed along axis 1, the mask along axis 0, as `--calib` binds an
 * .npz of both), and its integer program.
 */
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import type { DataSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { sliceAxis } from "../../src/quant/signature.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";
import { Rng } from "./prng.js";
import { D, encoderInputs, encoderPath, modelTensor, SEQ } from "./torch-encoder-fixture.js";

export const PADMASK = { file: "padmask.onnx", batchAxis: 1 } as const;

/** n padded samples in the program's layout: x [n, SEQ, D] standard normal, mask [n, SEQ] of 0/1 (1 = padding). Sample k keeps its first SEQ − (k mod SEQ) tokens, so every padding length 0…4 occurs; with `allPadded`, the last sample is all padding. */
export function padmaskInputs(n: number, seed: number, allPadded = false): { x: Float32Array; mask: Float32Array } {
  const x = encoderInputs(PADMASK, n, seed);
  const mask = new Float32Array(n * SEQ);
  const rng = new Rng(seed + 1);
  for (let k = 0; k < n; k++) {
    const keep = allPadded && k === n - 1 ? 0 : SEQ - ((k + Math.floor(rng.float() * 2)) % SEQ);
    for (let j = keep; j < SEQ; j++) mask[k * SEQ + j] = 1;
  }
  return { x, mask };
}

/** The model's feeds for program-layout samples: x [SEQ, n, D], mask bool [n, SEQ]. */
export function padmaskFeeds(s: { x: Float32Array; mask: Float32Array }, n: number): Record<string, HostTensor> {
  return { x: modelTensor(PADMASK, s.x, n), mask: { dtype: DataType.BOOL, dims: [n, SEQ], data: Uint8Array.from(s.mask) } };
}

/** The fixture quantized (default recipe, 48 padded samples) and its integer program. */
export async function padmaskProgram(): Promise<{ float: Model; qdq: Model; program: Program }> {
  const float = loadModel(encoderPath(PADMASK.file));
  const qdq = await padmaskQdq(float);
  return { float, qdq, program: integerizeModel(qdq) };
}

/** `float` (the fixture, or an edit of it) quantized with the default recipe on n padded samples. */
export async function padmaskQdq(float: Model, n = 48): Promise<Model> {
  const t = padmaskFeeds(padmaskInputs(n, 1), n);
  const source: DataSource = {
    count: n,
    sampleAxes: new Map([
      ["x", 1],
      ["mask", 0],
    ]),
    batch: (start, count) => ({ x: sliceAxis(t.x!, 1, start, count), mask: sliceAxis(t.mask!, 0, start, count) }),
    close() {},
  };
  const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
  return model;
}

export { D, SEQ };
