import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { unzipSync, zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { encodeNpy, NPY_DTYPES, type NpyArray, NpyFormatError, parseNpy } from "../../src/io/npy.js";
import { encodeNpz, parseNpz, readNpz, readTensorFile, writeNpz } from "../../src/io/npz.js";
import {
  atOffset,
  type ExpectedArray,
  expectMatches,
  expectNpyError,
  expectSameArray,
  fixture,
  loadManifest,
  npyArrayArb,
  sampleArray,
} from "./npy-helpers.js";

const manifest = loadManifest();
const tmp = mkdtempSync(join(tmpdir(), "fixq-npz-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function allDtypes(): Map<string, NpyArray> {
  const m = new Map<string, NpyArray>();
  for (const dt of NPY_DTYPES) m.set(dt, sampleArray(dt, [2, 3]));
  m.set("scalar", sampleArray("f8", []));
  m.set("empty", sampleArray("f4", [0, 3]));
  m.set("nested/dir/w", sampleArray("i8", [4]));
  m.set("ünïcödé", sampleArray("u1", [2]));
  return m;
}

function expectSameMap(a: Map<string, NpyArray>, b: Map<string, NpyArray>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, v] of a) expectSameArray(v, b.get(k)!);
}

/** Offsets of every occurrence of a 4-byte little-endian zip signature. */
function findSig(bytes: Uint8Array, sig: number): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i++) if (dv.getUint32(i, true) === sig) out.push(i);
  return out;
}

describe("golden archives written by numpy", () => {
  for (const name of Object.keys(manifest).filter((k) => k.endsWith(".npz"))) {
    it(`parses ${name}`, () => {
      const want = manifest[name] as Record<string, ExpectedArray>;
      const got = parseNpz(fixture(name), name);
      expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
      for (const [k, w] of Object.entries(want)) expectMatches(got.get(k)!, w);
    });

    it(`re-encodes every entry of ${name} byte-identically`, () => {
      const entries = unzipSync(fixture(name));
      const parsed = parseNpz(fixture(name), name);
      for (const [entry, bytes] of Object.entries(entries)) {
        const arr = parsed.get(entry.replace(/\.npy$/, ""))!;
        expect(Buffer.from(encodeNpy(arr)).equals(Buffer.from(bytes)), entry).toBe(true);
      }
    });

    it(`round-trips ${name} through encodeNpz (stored and deflated)`, () => {
      const parsed = parseNpz(fixture(name), name);
      for (const compress of [false, true]) expectSameMap(parseNpz(encodeNpz(parsed, { compress })), parsed);
    });
  }

  it("uses numpy's compression methods", () => {
    const methods = (b: Uint8Array) => findSig(b, 0x02014b50).map((o) => b[o + 10]);
    expect(new Set(methods(fixture("stored.npz")))).toEqual(new Set([0]));
    expect(new Set(methods(fixture("deflated.npz")))).toEqual(new Set([8]));
  });
});

describe("encodeNpz / parseNpz", () => {
  it("round-trips every dtype, stored and deflated, from a Map or a Record", () => {
    const arrays = allDtypes();
    for (const compress of [false, true]) {
      const enc = encodeNpz(arrays, { compress });
      expectSameMap(parseNpz(enc), arrays);
      expectSameMap(parseNpz(encodeNpz(Object.fromEntries(arrays), { compress })), arrays);
      expectSameMap(parseNpz(atOffset(enc, 3)), arrays);
    }
  });

  it("stores by default and deflates when asked", () => {
    const arrays = new Map([["z", { dtype: "f8", shape: [1000], data: new Float64Array(1000) } as NpyArray]]);
    const stored = encodeNpz(arrays);
    const deflated = encodeNpz(arrays, { compress: true });
    expect(stored.length).toBeGreaterThan(8000);
    expect(deflated.length).toBeLessThan(400);
    expect(Object.keys(unzipSync(stored))).toEqual(["z.npy"]);
  });

  it("is deterministic", () => {
    const a = encodeNpz(allDtypes(), { compress: true });
    const b = encodeNpz(allDtypes(), { compress: true });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it("handles empty archives", () => {
    expect(parseNpz(encodeNpz(new Map())).size).toBe(0);
    expect(parseNpz(encodeNpz({}, { compress: true })).size).toBe(0);
  });

  it("keeps names of entries without .npy and skips directory entries", () => {
    const npy = encodeNpy(sampleArray("i2", [3]));
    const zip = zipSync({ plain: npy, "dir/": new Uint8Array(0), "dir/x.npy": npy });
    const m = parseNpz(zip);
    expect([...m.keys()]).toEqual(["plain", "dir/x"]);
  });

  it("writes and reads files atomically; readTensorFile dispatches on the extension", () => {
    const dir = mkdtempSync(join(tmp, "files-"));
    const arrays = allDtypes();
    writeNpz(join(dir, "a.npz"), arrays);
    writeNpz(join(dir, "a.npz"), arrays, { compress: true });
    writeNpz(join(dir, "B.NPZ"), { only: sampleArray("u4", [2]) });
    writeFileSync(join(dir, "one.npy"), encodeNpy(sampleArray("f2", [2, 2])));
    expect(readdirSync(dir).sort()).toEqual(["B.NPZ", "a.npz", "one.npy"]);
    expectSameMap(readNpz(join(dir, "a.npz")), arrays);
    expectSameMap(readTensorFile(join(dir, "a.npz")), arrays);
    expect([...readTensorFile(join(dir, "B.NPZ")).keys()]).toEqual(["only"]);
    const single = readTensorFile(join(dir, "one.npy"));
    expect([...single.keys()]).toEqual([""]);
    expectSameArray(single.get("")!, sampleArray("f2", [2, 2]));
    writeFileSync(join(dir, "t.bin"), "x");
    expectNpyError(() => readTensorFile(join(dir, "t.bin")), "t.bin: unsupported tensor file extension \".bin\" (expected .npy or .npz)");
    expectNpyError(() => writeNpz(join(dir, "bad.npz"), { w: { ...sampleArray("f4", [2]), shape: [3] } }), "bad.npz:w.npy: shape [3] has 3 elements but data has 2");
    expect(readdirSync(dir).sort()).toEqual(["B.NPZ", "a.npz", "one.npy", "t.bin"]);
  });

  it("property: parseNpz(encodeNpz(m)) == m", () => {
    const mapArb = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes("\0") && !s.endsWith("/")), npyArrayArb), {
      maxLength: 5,
      selector: ([k]) => k,
    });
    fc.assert(
      fc.property(mapArb, fc.boolean(), (entries, compress) => {
        const m = new Map(entries);
        expectSameMap(parseNpz(encodeNpz(m, { compress })), m);
      }),
      { numRuns: 150 },
    );
  });

  it("property: damaged archives only ever raise NpyFormatError", () => {
    fc.assert(
      fc.property(npyArrayArb, fc.boolean(), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (arr, compress, cut, pos, val) => {
        const enc = encodeNpz({ a: arr, b: arr }, { compress });
        expect(() => parseNpz(enc.subarray(0, cut % enc.length), "t.npz")).toThrow(NpyFormatError);
        const flipped = enc.slice();
        const p = pos % enc.length;
        if (flipped[p] === val) return;
        flipped[p] = val;
        try {
          parseNpz(flipped, "f.npz");
        } catch (e) {
          expect(e).toBeInstanceOf(NpyFormatError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("rejections", () => {
  const one = () => encodeNpz({ w: sampleArray("f4", [2, 3]) });

  it("rejects data that is not a zip archive", () => {
    expectNpyError(() => parseNpz(new Uint8Array(10), "x.npz"), "x.npz: not a zip archive");
    expectNpyError(() => parseNpz(new TextEncoder().encode("hello world ".repeat(20)), "x.npz"), "x.npz: not a zip archive");
    expectNpyError(() => parseNpz(fixture("f4.npy"), "x.npz"), "x.npz: not a .npz archive (this looks like a .npy file)");
  });

  it("rejects truncated archives", () => {
    const z = fixture("deflated.npz");
    expectNpyError(() => parseNpz(z.subarray(0, z.length >> 1), "t.npz"), "t.npz: truncated zip archive");
    for (let n = 0; n < z.length; n += 7) expect(() => parseNpz(z.subarray(0, n), "t.npz")).toThrow(NpyFormatError);
  });

  it("detects corrupted stored data with the CRC", () => {
    const z = one();
    z[z.length - 200] ^= 1; // inside the data of the single entry
    expectNpyError(() => parseNpz(z, "c.npz"), 'c.npz: entry "w.npy": CRC-32 mismatch');
  });

  it("detects corrupted deflate data", () => {
    const z = fixture("deflated.npz").slice();
    const local = findSig(z, 0x04034b50)[0]!;
    const dataStart = local + 30 + z[local + 26]! + z[local + 28]!;
    z.fill(0xff, dataStart, dataStart + 8);
    expectNpyError(() => parseNpz(z, "c.npz"), 'c.npz: entry "weight.npy": corrupt deflate data');
  });

  it("rejects impossible declared sizes before allocating", () => {
    const z = encodeNpz({ w: sampleArray("f4", [2, 3]) }, { compress: true });
    const central = findSig(z, 0x02014b50)[0]!;
    new DataView(z.buffer).setUint32(central + 24, 0xfffffff0, true);
    expectNpyError(() => parseNpz(z, "s.npz"), 'entry "w.npy": declared size 4294967280 is impossible');
  });

  it("rejects an entry that inflates to a different size than declared", () => {
    const z = encodeNpz({ w: sampleArray("f4", [2, 3]) }, { compress: true });
    const central = findSig(z, 0x02014b50)[0]!;
    const dv = new DataView(z.buffer);
    dv.setUint32(central + 24, dv.getUint32(central + 24, true) - 1, true);
    expectNpyError(() => parseNpz(z, "s.npz"), 'entry "w.npy": inflates to more than the', "bytes the zip header declares");
    dv.setUint32(central + 24, dv.getUint32(central + 24, true) + 5, true);
    expectNpyError(() => parseNpz(z, "s.npz"), 'entry "w.npy": inflates to', "bytes, but the zip header declares");
  });

  it("rejects unsupported compression methods and encryption", () => {
    const z = one();
    const central = findSig(z, 0x02014b50)[0]!;
    const m = z.slice();
    m[central + 10] = 12;
    expectNpyError(() => parseNpz(m, "m.npz"), 'entry "w.npy": unsupported compression method 12');
    const e = z.slice();
    e[central + 8]! |= 1;
    expectNpyError(() => parseNpz(e, "e.npz"), 'entry "w.npy": encrypted entries are not supported');
  });

  it("rejects entries whose .npy content is invalid, naming the entry", () => {
    const bad = encodeNpy(sampleArray("f4", [2, 3])).subarray(0, 140);
    const z = zipSync({ "w.npy": bad });
    expectNpyError(() => parseNpz(z, "m.npz"), "m.npz:w.npy: data is 12 bytes, shape [2,3] of <f4 needs 24");
  });

  it("rejects duplicate array names", () => {
    const npy = encodeNpy(sampleArray("u1", [1]));
    expectNpyError(() => parseNpz(zipSync({ "a.npy": npy, a: npy }), "d.npz"), 'd.npz: duplicate array name "a"');
  });

  it("rejects invalid array names and arrays when writing", () => {
    expectNpyError(() => encodeNpz({ "x/": sampleArray("u1", [1]) }), 'invalid array name "x/"');
    expectNpyError(
      () => encodeNpz({ w: { dtype: "i4", shape: [2], data: new Float32Array(2) } }),
      "<npz>:w.npy: dtype i4 needs Int32Array data, got Float32Array",
    );
  });

  it("decodes stored entries exactly like their .npy bytes", () => {
    const z = one();
    const arr = parseNpz(z).get("w")!;
    const entry = unzipSync(z)["w.npy"]!;
    expectSameArray(arr, parseNpy(entry));
  });
});
