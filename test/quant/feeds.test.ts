/**
 * File-backed calibration sources: npzFileSource reads a .npz a batch of rows
 * at a time (stored or deflated, one array per input), checks it as feedsFor
 * does, and calibrates to the same hash and the same model as the .npy path.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { bundledModels, MODELS_DIR } from "../../src/data/manifest.js";
import { encodeNpy, readNpy, writeNpy } from "../../src/io/npy.js";
import { writeNpz } from "../../src/io/npz.js";
import { FixqError } from "../../src/ir/errors.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { arraySource, feedsFor, npyFileSource, npzFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { graph, model, node, value } from "../ir/builders.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-feeds-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Two inputs, a [n, 3] and b [n, 2]. */
const twoInputs = model(
  graph([node("Concat", ["a", "b"], ["y"], [{ name: "axis", type: 2, i: 1 }])], [value("a", 1, ["n", 3]), value("b", 1, ["n", 2])], [value("y", 1, ["n", 5])]),
  13,
);
const N = 10;
const a = Float32Array.from({ length: N * 3 }, (_, i) => i * 0.5 - 3);
const b = Float32Array.from({ length: N * 2 }, (_, i) => 100 - i);

/** The same two arrays written by fflate itself: a deflated, b stored. */
function fflateNpz(path: string, aData = a): string {
  const zip = zipSync({
    "a.npy": [encodeNpy({ dtype: "f4", shape: [N, 3], data: aData }), { level: 6 }],
    "b.npy": [encodeNpy({ dtype: "f4", shape: [N, 2], data: b }), { level: 0 }],
  });
  writeFileSync(path, zip);
  return path;
}

describe("npzFileSource", () => {
  it("serves a multi-input .npz (one deflated, one stored entry) batch by batch", () => {
    const src = npzFileSource(twoInputs.graph!, fflateNpz(join(tmp, "two.npz")));
    try {
      expect(src.count).toBe(N);
      for (const [start, count] of [
        [0, 4],
        [4, 4],
        [8, 2],
        [1, 3], // backwards: the deflated stream restarts
      ] as const) {
        const f = src.batch(start, count);
        expect(Object.keys(f).sort()).toEqual(["a", "b"]);
        expect(f.a!.dims).toEqual([count, 3]);
        expect(f.b!.dims).toEqual([count, 2]);
        expect(Array.from(f.a!.data as Float32Array)).toEqual(Array.from(a.subarray(start * 3, (start + count) * 3)));
        expect(Array.from(f.b!.data as Float32Array)).toEqual(Array.from(b.subarray(start * 2, (start + count) * 2)));
      }
    } finally {
      src.close();
    }
  });

  it("gives the same batches as feedsFor over the whole file, and honours the limit", () => {
    const path = join(tmp, "two-written.npz");
    writeNpz(path, { a: { dtype: "f4", shape: [N, 3], data: a }, b: { dtype: "f4", shape: [N, 2], data: b } }, { compress: true });
    const whole = arraySource(feedsFor(twoInputs.graph!, new Map([["a", { dtype: "f4", shape: [N, 3], data: a }], ["b", { dtype: "f4", shape: [N, 2], data: b }]]), path, 7));
    const src = npzFileSource(twoInputs.graph!, path, 7);
    expect(src.count).toBe(7);
    for (const [s, c] of [
      [0, 3],
      [3, 3],
      [6, 1],
    ] as const) {
      const x = src.batch(s, c);
      const y = whole.batch(s, c);
      for (const k of ["a", "b"]) expect(Array.from(x[k]!.data as Float32Array)).toEqual(Array.from(y[k]!.data as Float32Array));
    }
    src.close();
  });

  it("rejects missing inputs, mismatched sample counts, wrong dtypes and non-finite values", () => {
    const only = join(tmp, "only-a.npz");
    writeNpz(only, { a: { dtype: "f4", shape: [N, 3], data: a } });
    expect(() => npzFileSource(twoInputs.graph!, only)).toThrow(/no data for model input 'b' \[n,2\] \(found: a\): add an array 'b' to the .npz or give --input-value b=VALUE/);
    const uneven = join(tmp, "uneven.npz");
    writeNpz(uneven, { a: { dtype: "f4", shape: [N, 3], data: a }, b: { dtype: "f4", shape: [N - 1, 2], data: b.subarray(0, (N - 1) * 2) } });
    expect(() => npzFileSource(twoInputs.graph!, uneven)).toThrow(/different sample counts \(10 and 9: input 'b'\)/);
    const f8 = join(tmp, "f8.npz");
    writeNpz(f8, { a: { dtype: "f8", shape: [N, 3], data: Float64Array.from(a) }, b: { dtype: "f4", shape: [N, 2], data: b } });
    expect(() => npzFileSource(twoInputs.graph!, f8)).toThrow(/dtype f64 does not match input 'a' f32/);
    const withNan = a.slice();
    withNan[13] = Number.NaN;
    const src = npzFileSource(twoInputs.graph!, fflateNpz(join(tmp, "nan.npz"), withNan));
    expect(src.batch(0, 4)).toBeDefined();
    expect(() => src.batch(4, 4)).toThrow(/non-finite value NaN at flat index 13 of input 'a'/);
    src.close();
    expect(() => npzFileSource(twoInputs.graph!, join(tmp, "missing.npz"))).toThrow(FixqError);
    const notZip = join(tmp, "not-zip.npz");
    writeFileSync(notZip, "hello");
    expect(() => npzFileSource(twoInputs.graph!, notZip)).toThrow(/not a zip archive/);
  });

  it("calibrates to the same hash and the same model as the .npy path (stored and deflated)", async () => {
    const m = bundledModels().find((x) => x.key === "cnn")!;
    const float = loadModel(join(MODELS_DIR, m.file));
    const x = readNpy(join(MODELS_DIR, "data/calib.npy"));
    const rows = 200;
    const data = { dtype: "f4" as const, shape: [rows, 1, 28, 28], data: (x.data as Float32Array).slice(0, rows * 784) };
    const npy = join(tmp, "calib.npy");
    writeNpy(npy, data);
    const recipe = buildRecipe({ batchSize: 48 });
    const run = async (source: ReturnType<typeof npyFileSource>) => {
      try {
        return await quantizeModel(float, source, recipe, { threads: 1 });
      } finally {
        source.close();
      }
    };
    const ref = await run(npyFileSource(float.graph!, npy));
    for (const compress of [false, true]) {
      const npz = join(tmp, `calib-${compress}.npz`);
      writeNpz(npz, { [m.input.name]: data }, { compress });
      const q = await run(npzFileSource(float.graph!, npz));
      expect(q.calibrationHash).toBe(ref.calibrationHash);
      expect(q.calibrationSamples).toBe(rows);
      expect(Buffer.compare(encodeModel(q.model), encodeModel(ref.model))).toBe(0);
    }
    // A single array under another name goes to the only input, as with feedsFor.
    const other = join(tmp, "calib-other.npz");
    writeNpz(other, { images: data }, { compress: true });
    expect((await run(npzFileSource(float.graph!, other))).calibrationHash).toBe(ref.calibrationHash);
  });
});
