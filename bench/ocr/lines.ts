/**
 * The rendered OCR text-line set (models/data/ocr/, made by
 * scripts/make_ocr_testset.py) and PaddleOCR's input preprocessing for its
 * recognizer (rec) and direction classifier (cls).
 *
 * PaddleOCR's preprocessing for both models (tools/infer/predict_rec.py and
 * predict_cls.py, resize_norm_img):
 * - resize the line to height H = 48 keeping its aspect ratio: width
 *   w' = min(W, ⌈48·w/h⌉), bilinear (OpenCV INTER_LINEAR);
 * - x = (pixel/255 − 0.5)/0.5, i.e. pixel/127.5 − 1, in [−1, 1], NCHW;
 * - pad on the right with 0 (the normalized value, mid grey) up to width W.
 * W is 320 for rec (PaddleOCR widens it to the batch's widest line; every line
 * of this set has w/h ≤ 320/48, so 320 is the batch width) and 192 for cls.
 * PaddleOCR reads images with OpenCV (BGR); the set is grey-level, so the one
 * grey value goes to all three channels and channel order does not matter.
 *
 * The cls set is every line as stored (label 0, "0°") and rotated by 180°
 * (label 1, "180°"), the two classes of ch_ppocr_mobile_v2.0_cls.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import { readNpz } from "../../src/io/npz.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";

export const OCR_DIR = join(MODELS_DIR, "data/ocr");
export const REC_HEIGHT = 48;
export const REC_WIDTH = 320;
export const CLS_WIDTH = 192;

/** A grey-level image, row-major. */
export interface GreyImage {
  readonly height: number;
  readonly width: number;
  readonly data: Uint8Array;
}

export type Split = "clean" | "calib" | "test";

export interface TextLine {
  readonly key: string;
  readonly split: Split;
  readonly text: string;
  readonly image: GreyImage;
}

/** Every line of the set, in file order. */
export function loadTextLines(dir = OCR_DIR): TextLine[] {
  const labels = JSON.parse(readFileSync(join(dir, "labels.json"), "utf8")) as { lines: { key: string; split: Split; text: string }[] };
  const arrays = readNpz(join(dir, "lines.npz"));
  return labels.lines.map((l) => {
    const a = arrays.get(l.key);
    if (a?.dtype !== "u1" || a.shape.length !== 2) throw new Error(`${dir}/lines.npz: ${l.key} is missing or not a uint8 [height, width] array`);
    return { key: l.key, split: l.split, text: l.text, image: { height: a.shape[0]!, width: a.shape[1]!, data: a.data as Uint8Array } };
  });
}

/** The image turned by 180°: pixel (y, x) goes to (h−1−y, w−1−x), i.e. the row-major data reversed. */
export function rotate180(img: GreyImage): GreyImage {
  return { height: img.height, width: img.width, data: img.data.slice().reverse() };
}

/**
 * Bilinear resize with OpenCV's INTER_LINEAR pixel-centre mapping: output
 * pixel d samples source coordinate s = (d + 0.5)·(in/out) − 0.5, clamped to
 * [0, in − 1]; the value is the bilinear blend of the 4 neighbours. Float
 * result (OpenCV rounds uint8 output to 11-bit weights; a difference below one
 * grey level).
 */
export function resizeBilinear(img: GreyImage, outH: number, outW: number): Float32Array {
  const out = new Float32Array(outH * outW);
  const xs = taps(img.width, outW);
  const ys = taps(img.height, outH);
  for (let y = 0; y < outH; y++) {
    const r0 = ys.i0[y]! * img.width;
    const r1 = ys.i1[y]! * img.width;
    const fy = ys.f[y]!;
    for (let x = 0; x < outW; x++) {
      const x0 = xs.i0[x]!;
      const x1 = xs.i1[x]!;
      const fx = xs.f[x]!;
      const top = img.data[r0 + x0]! * (1 - fx) + img.data[r0 + x1]! * fx;
      const bottom = img.data[r1 + x0]! * (1 - fx) + img.data[r1 + x1]! * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

function taps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), inSize - 1);
    i0[d] = Math.floor(s);
    i1[d] = Math.min(i0[d]! + 1, inSize - 1);
    f[d] = s - i0[d]!;
  }
  return { i0, i1, f };
}

/** The resized width PaddleOCR gives a line: min(W, ⌈H·w/h⌉). */
export function resizedWidth(img: GreyImage, height: number, maxWidth: number): number {
  return Math.min(maxWidth, Math.ceil((height * img.width) / img.height));
}

/**
 * A batch [N, 3, 48, width] of lines preprocessed as PaddleOCR does (see the
 * file comment): resized, pixel/127.5 − 1 in all three channels, zero-padded
 * on the right.
 */
export function paddleBatch(images: readonly GreyImage[], width: number): HostTensor {
  const h = REC_HEIGHT;
  const plane = h * width;
  const data = new Float32Array(images.length * 3 * plane);
  images.forEach((img, n) => {
    const w = resizedWidth(img, h, width);
    const px = resizeBilinear(img, h, w);
    const base = n * 3 * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = px[y * w + x]! / 127.5 - 1;
        for (let c = 0; c < 3; c++) data[base + c * plane + y * width + x] = v;
      }
    }
  });
  return { dtype: DataType.FLOAT, dims: [images.length, 3, h, width], data };
}

/** The cls set of `lines`: each as stored (label 0) then rotated by 180° (label 1). */
export function orientationSet(lines: readonly TextLine[]): { images: GreyImage[]; labels: Int32Array } {
  const images = lines.flatMap((l) => [l.image, rotate180(l.image)]);
  const labels = Int32Array.from(images, (_, i) => i % 2);
  return { images, labels };
}
