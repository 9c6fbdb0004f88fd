import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import {
  FASHION_MNIST_DEBIAN_DIR,
  type FashionMnistSet,
  findFashionMnistDir,
  loadFashionMnist,
  loadFashionMnistTest,
} from "../../src/data/fashion-mnist.js";
import { dataAvailable } from "../helpers/require-data.js";

const DATA = new URL("../../models/data/", import.meta.url);

interface Npy {
  descr: string;
  shape: number[];
  body: Uint8Array;
}

/** Just enough of the .npy v1.0 format to read the bundled data files. */
function readNpy(name: string): Npy {
  const buf = readFileSync(new URL(name, DATA));
  const magic = buf.subarray(0, 6).toString("latin1");
  if (magic !== "\x93NUMPY") throw new Error(`${name}: not a .npy file`);
  if (buf[6] !== 1 || buf[7] !== 0) throw new Error(`${name}: npy version ${buf[6]}.${buf[7]}, expected 1.0`);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) {
    throw new Error(`${name}: cannot parse header ${header}`);
  }
  if (fortran !== "False") throw new Error(`${name}: Fortran order`);
  return {
    descr,
    shape: shape
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map(Number),
    // Copy so the typed-array views below are aligned.
    body: new Uint8Array(buf.subarray(10 + headerLen)),
  };
}

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Bitwise equality of two float32 arrays; reports the first differing element. */
function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const i = firstMismatch(a, e);
  expect(i, i < 0 ? "" : `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`).toBe(-1);
}

const dir = findFashionMnistDir();
const haveData =
  dir !== undefined ||
  dataAvailable(join(FASHION_MNIST_DEBIAN_DIR, "t10k-images-idx3-ubyte.gz"), "Fashion-MNIST (Debian dataset-fashion-mnist)");

describe.skipIf(!haveData)("Fashion-MNIST from the Debian package", () => {
  // Loaded on first use: the describe body also runs when the suite is skipped.
  let cached: FashionMnistSet | undefined;
  const testSet = (): FashionMnistSet => {
    cached ??= loadFashionMnistTest({ dir });
    return cached;
  };

  it("loads the 10k test set as float32 NCHW in [0, 1]", () => {
    const test = testSet();
    expect(test.count).toBe(10000);
    expect(test.shape).toEqual([10000, 1, 28, 28]);
    expect(test.images.length).toBe(10000 * 784);
    expect(test.labels.length).toBe(10000);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of test.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    const perClass = new Array<number>(10).fill(0);
    for (const l of test.labels) perClass[l]!++;
    expect(perClass).toEqual(new Array(10).fill(1000));
  });

  it("first 2000 test images equal models/data/eval.npy bit for bit", () => {
    const npy = readNpy("eval.npy");
    expect(npy.descr).toBe("<f4");
    expect(npy.shape).toEqual([2000, 1, 28, 28]);
    const expected = new Float32Array(npy.body.buffer, 0, 2000 * 784);
    expectSameBits(testSet().images.subarray(0, 2000 * 784), expected, "eval.npy");
  });

  it("first 2000 test labels equal models/data/eval_labels.npy", () => {
    const npy = readNpy("eval_labels.npy");
    expect(npy.descr).toBe("<i8");
    expect(npy.shape).toEqual([2000]);
    const expected = Array.from(new BigInt64Array(npy.body.buffer, 0, 2000), Number);
    expect(Array.from(testSet().labels.subarray(0, 2000))).toEqual(expected);
  });

  it("limit returns the leading items", () => {
    const test = testSet();
    const few = loadFashionMnistTest({ dir, limit: 3 });
    expect(few.count).toBe(3);
    expect(few.shape).toEqual([3, 1, 28, 28]);
    expectSameBits(few.images, test.images.subarray(0, 3 * 784), "limit 3");
    expect(Array.from(few.labels)).toEqual(Array.from(test.labels.subarray(0, 3)));
  });

  it("first 512 training images equal models/data/calib.npy bit for bit", () => {
    const train = loadFashionMnist("train", { dir, limit: 512 });
    const npy = readNpy("calib.npy");
    expect(npy.descr).toBe("<f4");
    expect(npy.shape).toEqual([512, 1, 28, 28]);
    expectSameBits(train.images, new Float32Array(npy.body.buffer, 0, 512 * 784), "calib.npy");
  });
});

describe("Fashion-MNIST IDX parsing (synthetic files)", () => {
  const tmp = mkdtempSync(join(tmpdir(), "fixq-fmnist-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function idxImages(count: number, fill: (i: number) => number, magic = 0x803, rows = 28): Buffer {
    const b = Buffer.alloc(16 + count * rows * 28);
    b.writeUInt32BE(magic, 0);
    b.writeUInt32BE(count, 4);
    b.writeUInt32BE(rows, 8);
    b.writeUInt32BE(28, 12);
    for (let i = 16; i < b.length; i++) b[i] = fill(i - 16);
    return b;
  }
  function idxLabels(labels: number[], magic = 0x801): Buffer {
    const b = Buffer.alloc(8 + labels.length);
    b.writeUInt32BE(magic, 0);
    b.writeUInt32BE(labels.length, 4);
    labels.forEach((l, i) => {
      b[8 + i] = l;
    });
    return b;
  }
  function makeDir(name: string, images: Buffer, labels: Buffer, gzip: boolean): string {
    const out = mkdtempSync(join(tmp, `${name}-`));
    const suffix = gzip ? ".gz" : "";
    writeFileSync(join(out, `t10k-images-idx3-ubyte${suffix}`), gzip ? gzipSync(images) : images);
    writeFileSync(join(out, `t10k-labels-idx1-ubyte${suffix}`), gzip ? gzipSync(labels) : labels);
    return out;
  }

  for (const gzip of [true, false]) {
    it(`reads ${gzip ? "gzip'd" : "raw"} IDX files and divides by 255`, () => {
      const d = makeDir("ok", idxImages(2, (i) => i % 256), idxLabels([3, 9]), gzip);
      const s = loadFashionMnistTest({ dir: d });
      expect(s.count).toBe(2);
      expect(s.shape).toEqual([2, 1, 28, 28]);
      expect(Array.from(s.labels)).toEqual([3, 9]);
      for (let i = 0; i < s.images.length; i++) expect(s.images[i]).toBe(Math.fround((i % 256) / 255));
    });
  }

  it("rejects a bad image magic, naming the file", () => {
    const d = makeDir("magic", idxImages(1, () => 0, 0x801), idxLabels([0]), true);
    expect(() => loadFashionMnistTest({ dir: d })).toThrow(/t10k-images-idx3-ubyte\.gz: bad IDX magic 0x00000801/);
  });

  it("rejects a bad label magic, naming the file", () => {
    const d = makeDir("lmagic", idxImages(1, () => 0), idxLabels([0], 0x803), false);
    expect(() => loadFashionMnistTest({ dir: d })).toThrow(/t10k-labels-idx1-ubyte: bad IDX magic 0x00000803/);
  });

  it("rejects truncated files and wrong image sizes", () => {
    const full = idxImages(2, () => 1);
    const d1 = makeDir("trunc", full.subarray(0, full.length - 5), idxLabels([0, 1]), true);
    expect(() => loadFashionMnistTest({ dir: d1 })).toThrow(/t10k-images-idx3-ubyte\.gz: 1579 bytes, expected 1584/);
    const d2 = makeDir("rows", idxImages(1, () => 0, 0x803, 27), idxLabels([0]), true);
    expect(() => loadFashionMnistTest({ dir: d2 })).toThrow(/images are 27x28, expected 28x28/);
    const d3 = makeDir("short", Buffer.from([0, 0, 8]), idxLabels([0]), false);
    expect(() => loadFashionMnistTest({ dir: d3 })).toThrow(/t10k-images-idx3-ubyte: 3 bytes, too short/);
  });

  it("rejects mismatched counts and out-of-range labels", () => {
    const d1 = makeDir("count", idxImages(2, () => 0), idxLabels([0]), true);
    expect(() => loadFashionMnistTest({ dir: d1 })).toThrow(/holds 2 images but .* holds 1 labels/);
    const d2 = makeDir("label", idxImages(1, () => 0), idxLabels([10]), true);
    expect(() => loadFashionMnistTest({ dir: d2 })).toThrow(/label 10 at index 0 is outside 0\.\.9/);
  });

  it("reports missing files and bad limits", () => {
    const empty = mkdtempSync(join(tmp, "empty-"));
    expect(() => loadFashionMnistTest({ dir: empty })).toThrow(/t10k-images-idx3-ubyte\(\.gz\): file not found/);
    const d = makeDir("limit", idxImages(1, () => 0), idxLabels([0]), true);
    expect(() => loadFashionMnistTest({ dir: d, limit: -1 })).toThrow(/limit must be a non-negative integer/);
    expect(loadFashionMnistTest({ dir: d, limit: 5 }).count).toBe(1);
  });
});
