/**
 * Fashion-MNIST reader for the IDX files installed by Debian's
 * `dataset-fashion-mnist` package (gzip'd, `/usr/share/datasets/fashion-mnist`).
 *
 * Preprocessing is the one the bundled models in `models/` were trained with,
 * and the one `models/data/*.npy` were written with (scripts/fmnist_data.py):
 *
 *     x = float32(pixel / 255)      pixel: uint8 0..255, no mean/std normalisation
 *
 * i.e. the float64 quotient rounded once to float32. That equals numpy's
 * `pixel.astype(float32) / float32(255)` bit for bit: an IEEE division is
 * correctly rounded, and rounding float64 to float32 afterwards cannot
 * double-round a quotient because float64 has more than 2*24+2 significand bits.
 *
 * Images come out as NCHW float32 `[count, 1, 28, 28]`, C order.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** Where `apt-get install dataset-fashion-mnist` puts the files. */
export const FASHION_MNIST_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";

/** Optional override: a directory holding the IDX files (gzip'd or raw). */
export const FASHION_MNIST_DIR_ENV = "FIXQ_FASHION_MNIST_DIR";

export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

export type FashionMnistSplit = "train" | "test";

export interface FashionMnistOptions {
  /** Directory with the IDX files; default: `findFashionMnistDir()`. */
  dir?: string;
  /** Return only the first `limit` items (file order). */
  limit?: number;
}

export interface FashionMnistSet {
  /** Preprocessed pixels, float32 NCHW `[count, 1, 28, 28]`. */
  images: Float32Array;
  /** Class indices 0..9. */
  labels: Uint8Array;
  count: number;
  shape: [number, number, number, number];
}

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const IMAGE_MAGIC = 0x00000803; // unsigned byte, 3 dimensions
const LABEL_MAGIC = 0x00000801; // unsigned byte, 1 dimension

const STEMS: Record<FashionMnistSplit, { images: string; labels: string }> = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
};

/** pixel -> float32(pixel / 255), the whole preprocessing as a lookup table. */
const PIXEL_TO_FLOAT = Float32Array.from({ length: 256 }, (_, p) => p / 255);

/** Path of `stem.gz` or `stem` in `dir`, whichever exists (gzip preferred). */
function idxPath(dir: string, stem: string): string | undefined {
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function hasSplit(dir: string, split: FashionMnistSplit): boolean {
  return idxPath(dir, STEMS[split].images) !== undefined && idxPath(dir, STEMS[split].labels) !== undefined;
}

/**
 * The directory holding the Fashion-MNIST test files, or undefined.
 * Looks at `$FIXQ_FASHION_MNIST_DIR` first, then the Debian package location.
 */
export function findFashionMnistDir(): string | undefined {
  const candidates: string[] = [];
  const fromEnv = process.env[FASHION_MNIST_DIR_ENV];
  if (fromEnv) candidates.push(fromEnv);
  candidates.push(FASHION_MNIST_DEBIAN_DIR);
  return candidates.find((d) => hasSplit(d, "test"));
}

/** Reads a file, gunzipping it when it starts with the gzip magic (whatever its name). */
function readIdx(path: string): Buffer {
  const raw = readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (e) {
      throw new Error(`${path}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return raw;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function parseImages(path: string, buf: Buffer): { count: number; pixels: Uint8Array } {
  if (buf.length < 16) throw new Error(`${path}: ${buf.length} bytes, too short for an IDX image header (16 bytes)`);
  const magic = buf.readUInt32BE(0);
  if (magic !== IMAGE_MAGIC) {
    throw new Error(`${path}: bad IDX magic ${hex(magic)}, expected ${hex(IMAGE_MAGIC)} (uint8 images, 3 dimensions)`);
  }
  const count = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
  if (rows !== ROWS || cols !== COLS) throw new Error(`${path}: images are ${rows}x${cols}, expected ${ROWS}x${COLS}`);
  const expected = 16 + count * PIXELS;
  if (buf.length !== expected) {
    throw new Error(`${path}: ${buf.length} bytes, expected ${expected} for ${count} images of ${ROWS}x${COLS}`);
  }
  return { count, pixels: new Uint8Array(buf.buffer, buf.byteOffset + 16, count * PIXELS) };
}

function parseLabels(path: string, buf: Buffer): { count: number; labels: Uint8Array } {
  if (buf.length < 8) throw new Error(`${path}: ${buf.length} bytes, too short for an IDX label header (8 bytes)`);
  const magic = buf.readUInt32BE(0);
  if (magic !== LABEL_MAGIC) {
    throw new Error(`${path}: bad IDX magic ${hex(magic)}, expected ${hex(LABEL_MAGIC)} (uint8 labels, 1 dimension)`);
  }
  const count = buf.readUInt32BE(4);
  if (buf.length !== 8 + count) {
    throw new Error(`${path}: ${buf.length} bytes, expected ${8 + count} for ${count} labels`);
  }
  const labels = new Uint8Array(buf.buffer, buf.byteOffset + 8, count);
  const bad = labels.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${path}: label ${labels[bad]} at index ${bad} is outside 0..9`);
  return { count, labels };
}

/**
 * Loads one split of Fashion-MNIST from IDX files (gzip'd or raw), preprocessed as
 * `x = float32(pixel / 255)`, NCHW `[count, 1, 28, 28]`.
 */
export function loadFashionMnist(split: FashionMnistSplit, opts: FashionMnistOptions = {}): FashionMnistSet {
  const dir = opts.dir ?? findFashionMnistDir();
  if (dir === undefined) {
    throw new Error(
      `Fashion-MNIST not found in ${FASHION_MNIST_DEBIAN_DIR} (install the Debian package dataset-fashion-mnist) ` +
        `or $${FASHION_MNIST_DIR_ENV}`,
    );
  }
  const { limit } = opts;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new Error(`Fashion-MNIST limit must be a non-negative integer, got ${limit}`);
  }
  const stems = STEMS[split];
  const imagesPath = idxPath(dir, stems.images);
  const labelsPath = idxPath(dir, stems.labels);
  if (imagesPath === undefined) throw new Error(`${join(dir, stems.images)}(.gz): file not found`);
  if (labelsPath === undefined) throw new Error(`${join(dir, stems.labels)}(.gz): file not found`);

  const img = parseImages(imagesPath, readIdx(imagesPath));
  const lbl = parseLabels(labelsPath, readIdx(labelsPath));
  if (img.count !== lbl.count) {
    throw new Error(`${imagesPath} holds ${img.count} images but ${labelsPath} holds ${lbl.count} labels`);
  }
  const count = limit === undefined ? img.count : Math.min(limit, img.count);

  const images = new Float32Array(count * PIXELS);
  for (let i = 0; i < images.length; i++) images[i] = PIXEL_TO_FLOAT[img.pixels[i]!]!;
  const labels = lbl.labels.slice(0, count);
  return { images, labels, count, shape: [count, 1, ROWS, COLS] };
}

/**
 * The Fashion-MNIST test set (10,000 images in file order; the first 2,000 are
 * `models/data/eval.npy`), preprocessed as `x = float32(pixel / 255)`, float32
 * NCHW `[count, 1, 28, 28]`. Throws an Error naming the file when an IDX file
 * is missing, has a bad magic number or the wrong size.
 */
export function loadFashionMnistTest(opts: FashionMnistOptions = {}): FashionMnistSet {
  return loadFashionMnist("test", opts);
}
