/**
 * Row-wise .npz reading (openNpzRows): the rows of every array, stored or
 * deflated, read in batches forwards, backwards or at random, equal the
 * slices of the array parseNpz reads whole; size, CRC and deflate errors are
 * reported as NpyFormatError naming the entry.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { encodeNpy, NPY_DTYPES, type NpyArray, type NpyData, NpyFormatError } from "../../src/io/npy.js";
import { encodeNpz, parseNpz } from "../../src/io/npz.js";
import { openNpzRows } from "../../src/io/npz-rows.js";
import { Rng } from "../helpers/prng.js";
import { bytesOf, expectNpyError, fixture, loadManifest, sampleArray } from "./npy-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-npz-rows-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
function file(bytes: Uint8Array): string {
  const p = join(tmp, `a${fileNo++}.npz`);
  writeFileSync(p, bytes);
  return p;
}

function rowSlice(a: NpyArray, s: number, c: number): Uint8Array {
  const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
  return bytesOf(a.data.subarray(s * row, (s + c) * row) as NpyData);
}

/** Reads every array of `path` in batches of `batch` (in `order`) and compares with parseNpz. */
function expectRowsMatch(path: string, bytes: Uint8Array, batch: number, order: "forward" | "backward" | "random" = "forward"): void {
  const whole = parseNpz(bytes, path);
  const npz = openNpzRows(path);
  try {
    expect([...npz.arrays.keys()].sort()).toEqual([...whole.keys()].sort());
    for (const [name, want] of whole) {
      const rows = npz.arrays.get(name)!;
      expect(rows.dtype).toBe(want.dtype);
      expect(rows.shape).toEqual(want.shape);
      if (want.shape.length === 0) continue;
      const n = want.shape[0]!;
      const starts: number[] = [];
      for (let s = 0; s < n; s += batch) starts.push(s);
      if (order === "backward") starts.reverse();
      if (order === "random") {
        const rng = new Rng(n + batch);
        for (let i = starts.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [starts[i], starts[j]] = [starts[j]!, starts[i]!];
        }
      }
      for (const s of starts) {
        const c = Math.min(batch, n - s);
        const got = rows.read(s, c);
        expect(got.constructor).toBe(want.data.constructor);
        expect(Buffer.compare(bytesOf(got), rowSlice(want, s, c)), `${name} rows ${s}..${s + c}`).toBe(0);
      }
    }
  } finally {
    npz.close();
  }
}

describe("openNpzRows", () => {
  const manifest = loadManifest();
  for (const name of Object.keys(manifest).filter((k) => k.endsWith(".npz"))) {
    it(`reads the rows of numpy's ${name}`, () => {
      const bytes = fixture(name);
      const path = file(bytes);
      for (const batch of [1, 2, 5]) expectRowsMatch(path, bytes, batch);
    });
  }

  it("reads every dtype by rows, stored and deflated, in any order", () => {
    const arrays = new Map<string, NpyArray>();
    for (const dt of NPY_DTYPES) arrays.set(dt, sampleArray(dt, [7, 3]));
    arrays.set("scalar", sampleArray("f8", []));
    arrays.set("vector", sampleArray("i4", [9]));
    for (const compress of [false, true]) {
      const bytes = encodeNpz(arrays, { compress });
      const path = file(bytes);
      for (const order of ["forward", "backward", "random"] as const) for (const batch of [1, 3, 7]) expectRowsMatch(path, bytes, batch, order);
    }
  });

  it("streams a deflated array much larger than one inflate step", () => {
    const rng = new Rng(3);
    // 60,000 × 7 float32 of noise: ~1.7 MB, hardly compressible, so dozens of 64 KiB steps.
    const big: NpyArray = { dtype: "f4", shape: [60000, 7], data: Float32Array.from({ length: 420000 }, () => rng.float() - 0.5) };
    const smooth: NpyArray = { dtype: "f4", shape: [50000, 4], data: Float32Array.from({ length: 200000 }, (_, i) => Math.floor(i / 1000)) };
    const bytes = encodeNpz({ big, smooth }, { compress: true });
    const path = file(bytes);
    expectRowsMatch(path, bytes, 997);
    expectRowsMatch(path, bytes, 4096, "random");
  });

  it("reads an archive written by fflate directly (deflate level 9, no .npy suffix)", () => {
    const a = sampleArray("f4", [11, 2]);
    const bytes = zipSync({ "x.npy": [encodeNpy(a), { level: 9 }], raw: [encodeNpy(sampleArray("i8", [5])), { level: 0 }] });
    const path = file(bytes);
    expectRowsMatch(path, bytes, 4);
    expect([...openNpzRows(path).arrays.keys()]).toEqual(["x", "raw"]);
  });

  it("checks the CRC of a stored entry once every row has been read in order", () => {
    const z = encodeNpz({ w: sampleArray("f4", [16, 4]) });
    z[z.length - 200] ^= 1; // inside the data of the single entry
    const path = file(z);
    const npz = openNpzRows(path);
    const w = npz.arrays.get("w")!;
    w.read(0, 8);
    expectNpyError(() => w.read(8, 8), `${path}: entry "w.npy": CRC-32 mismatch`);
    npz.close();
    // Read out of order, nothing is checked (and the corrupt bytes come back as they are).
    const again = openNpzRows(path);
    expect(() => again.arrays.get("w")!.read(8, 8)).not.toThrow();
    again.close();
  });

  it("detects corrupted deflate data and a wrong declared size", () => {
    const z = encodeNpz({ w: { dtype: "f4", shape: [4000, 4], data: Float32Array.from({ length: 16000 }, (_, i) => Math.sin(i)) } }, { compress: true });
    const bad = z.slice();
    bad.fill(0xff, 2000, 2100); // well inside the deflate stream
    const path = file(bad);
    expect(() => {
      const npz = openNpzRows(path);
      const w = npz.arrays.get("w")!;
      for (let s = 0; s < 4000; s += 500) w.read(s, 500);
    }).toThrow(NpyFormatError);
    expectNpyError(() => openNpzRows(file(z.subarray(0, z.length >> 1))), "truncated zip archive");
    expectNpyError(() => openNpzRows(file(fixture("f4.npy"))), "not a .npz archive (this looks like a .npy file)");
  });

  it("rejects an entry whose data size disagrees with its shape, at open", () => {
    const npy = encodeNpy(sampleArray("f4", [4, 2]));
    const bytes = zipSync({ "w.npy": [npy.subarray(0, npy.length - 4), { level: 0 }] });
    expectNpyError(() => openNpzRows(file(bytes)), 'entry "w.npy": data is 28 bytes, shape [4,2] of <f4 needs 32');
  });

  it("rejects rows outside the array", () => {
    const npz = openNpzRows(file(encodeNpz({ w: sampleArray("f4", [4, 2]) })));
    expectNpyError(() => npz.arrays.get("w")!.read(3, 2), "rows 3..5 are outside the 4 rows");
    npz.close();
  });
});
