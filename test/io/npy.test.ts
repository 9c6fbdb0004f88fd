import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { unzipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import {
  encodeNpy,
  NPY_DTYPES,
  type NpyArray,
  type NpyDtype,
  NpyFormatError,
  npyItemSize,
  parseNpy,
  readNpy,
  writeNpy,
} from "../../src/io/npy.js";
import {
  atOffset,
  bytesOf,
  type ExpectedArray,
  expectMatches,
  expectNpyError,
  expectSameArray,
  fixture,
  loadManifest,
  npyArrayArb,
  rawNpy,
  sampleArray,
} from "./npy-helpers.js";

const manifest = loadManifest();
const npyFixtures = Object.keys(manifest).filter((k) => k.endsWith(".npy"));

const tmp = mkdtempSync(join(tmpdir(), "fixq-npy-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Header dict text (without padding) of an encoded .npy file. */
function headerText(bytes: Uint8Array): string {
  const len = bytes[6] === 1 ? bytes[8]! | (bytes[9]! << 8) : new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const start = bytes[6] === 1 ? 10 : 12;
  return Buffer.from(bytes.subarray(start, start + len)).toString("latin1");
}

const f4Dict = (shape: string, extra = "") => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, ${extra}}`;

describe("golden files written by numpy", () => {
  it("has fixtures for every dtype", () => {
    for (const dt of NPY_DTYPES) expect(npyFixtures).toContain(`${dt}.npy`);
  });

  it.each(npyFixtures)("parses %s", (name) => {
    expectMatches(parseNpy(fixture(name), name), manifest[name] as ExpectedArray);
  });

  // Native little-endian C-order version 1.0 files: our encoder must reproduce them exactly.
  const canonical = npyFixtures.filter((n) => !/^(be_|fortran_|v2_|v3_)/.test(n));
  it.each(canonical)("re-encodes %s byte-identically", (name) => {
    const bytes = fixture(name);
    expect(Buffer.from(encodeNpy(parseNpy(bytes, name))).equals(Buffer.from(bytes))).toBe(true);
  });

  // Big-endian, Fortran-order and v2/v3 files decode to the same array as their canonical twin.
  it.each([
    ["be_i4_2x3x4.npy", "c_i4_2x3x4.npy"],
    ["fortran_i4_2x3x4.npy", "c_i4_2x3x4.npy"],
    ["fortran_be_i4_2x3x4.npy", "c_i4_2x3x4.npy"],
    ["v2_i4_2x3x4.npy", "c_i4_2x3x4.npy"],
    ["v3_i4_2x3x4.npy", "c_i4_2x3x4.npy"],
    ["be_f8.npy", "f8.npy"],
    ["be_f2.npy", "f2.npy"],
    ["be_u8.npy", "u8.npy"],
  ])("%s encodes like numpy's native C-order %s", (variant, twin) => {
    const want = fixture(twin);
    const got = encodeNpy(parseNpy(fixture(variant), variant));
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
  });

  it("matches numpy's padding for headers at a 64-byte boundary", () => {
    const entries = unzipSync(fixture("header_boundaries.npz"));
    expect(Object.keys(entries).sort()).toEqual(["rem0.npy", "rem1.npy", "rem63.npy"]);
    for (const [name, bytes] of Object.entries(entries)) {
      const arr = parseNpy(bytes, name);
      expect(Buffer.from(encodeNpy(arr)).equals(Buffer.from(bytes)), name).toBe(true);
    }
    // Already aligned before padding: numpy adds a whole extra block of spaces.
    const headerLen = (b: Uint8Array) => 10 + (b[8]! | (b[9]! << 8));
    expect(headerLen(entries["rem0.npy"]!)).toBe(192);
    expect(headerLen(entries["rem63.npy"]!)).toBe(128);
    expect(headerLen(entries["rem1.npy"]!)).toBe(192);
  });

  it("reads the format version from the file", () => {
    expect(fixture("v2_i4_2x3x4.npy")[6]).toBe(2);
    expect(fixture("v3_i4_2x3x4.npy")[6]).toBe(3);
    expect(headerText(fixture("fortran_i4_2x3x4.npy"))).toContain("'fortran_order': True");
  });
});

describe("zero-copy and copies", () => {
  it("returns a view on the input when the data is aligned", () => {
    const bytes = fixture("f8.npy");
    const arr = parseNpy(bytes);
    expect(arr.data.buffer).toBe(bytes.buffer);
    expect(arr.data.byteOffset).toBe(bytes.byteOffset + 128);
  });

  it.each(NPY_DTYPES)("copies unaligned %s data and keeps the values", (dt) => {
    const enc = encodeNpy(sampleArray(dt, [3, 2]));
    for (const off of [1, 2, 3, 5]) {
      const input = atOffset(enc, off);
      const arr = parseNpy(input);
      expectSameArray(arr, sampleArray(dt, [3, 2]));
      if (npyItemSize(dt) > 1 && off % npyItemSize(dt) !== 0) expect(arr.data.buffer).not.toBe(input.buffer);
    }
  });

  it("does not modify the input when byte-swapping or transposing", () => {
    for (const name of ["be_i4_2x3x4.npy", "fortran_be_i4_2x3x4.npy", "fortran_i4_2x3x4.npy", "be_f2.npy"]) {
      const bytes = fixture(name);
      const before = Buffer.from(bytes);
      const arr = parseNpy(bytes, name);
      expect(Buffer.from(bytes).equals(before)).toBe(true);
      expect(arr.data.buffer).not.toBe(bytes.buffer);
    }
  });
});

describe("round trips", () => {
  const shapes: number[][] = [[], [0], [0, 3], [3, 0, 2], [5], [2, 3], [2, 1, 3, 2]];
  for (const dt of NPY_DTYPES) {
    it(`round-trips ${dt} in every shape`, () => {
      for (const shape of shapes) {
        const arr = sampleArray(dt, shape);
        const enc = encodeNpy(arr);
        expect((enc.length - arr.data.byteLength) % 64).toBe(0);
        expectSameArray(parseNpy(enc), arr);
      }
    });
  }

  it("round-trips 0-d arrays", () => {
    const arr: NpyArray = { dtype: "f8", shape: [], data: new Float64Array([-2.5]) };
    const enc = encodeNpy(arr);
    expect(headerText(enc)).toMatch(/^\{'descr': '<f8', 'fortran_order': False, 'shape': \(\), \} *\n$/);
    const back = parseNpy(enc);
    expect(back.shape).toEqual([]);
    expect(Array.from(back.data as Float64Array)).toEqual([-2.5]);
  });

  it("round-trips empty arrays", () => {
    const arr: NpyArray = { dtype: "f4", shape: [0, 3], data: new Float32Array(0) };
    const enc = encodeNpy(arr);
    expect(enc.length).toBe(128);
    expect(Buffer.from(enc).equals(Buffer.from(fixture("empty_f4_0x3.npy")))).toBe(true);
    const back = parseNpy(enc);
    expect(back.shape).toEqual([0, 3]);
    expect(back.data).toBeInstanceOf(Float32Array);
    expect(back.data.length).toBe(0);
    // Unaligned empty data must not trip the typed-array offset check.
    expect(parseNpy(atOffset(enc, 1)).data.length).toBe(0);
  });

  it("writes the header exactly as numpy does", () => {
    const enc = encodeNpy({ dtype: "f4", shape: [2, 3], data: new Float32Array(6) });
    const text = headerText(enc);
    expect(text.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")).toBe(true);
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1).trimEnd().length).toBe(text.indexOf("}") + 1);
    expect((10 + text.length) % 64).toBe(0);
    expect(headerText(encodeNpy({ dtype: "u1", shape: [3], data: new Uint8Array(3) }))).toContain(
      "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }",
    );
    expect(headerText(encodeNpy({ dtype: "b1", shape: [1], data: new Uint8Array(1) }))).toContain("'descr': '|b1'");
  });

  it("pads to a 64-byte multiple even when the dict fills a block exactly", () => {
    // Dims chosen so that magic+len+dict+growth padding+'\n' lands on several block boundaries.
    for (let k = 1; k <= 40; k++) {
      const shape = [1, ...Array.from({ length: k }, () => 1)];
      const enc = encodeNpy({ dtype: "i1", shape, data: new Int8Array(1) });
      expect((enc.length - 1) % 64).toBe(0);
      expect(enc[enc.length - 2]).toBe(0x0a);
      expect(parseNpy(enc).shape).toEqual(shape);
    }
  });

  it("switches to format 2.0 when the header does not fit in 64 KiB", () => {
    const shape = Array.from({ length: 23_000 }, () => 1);
    const enc = encodeNpy({ dtype: "u2", shape, data: new Uint16Array([0xbeef]) });
    expect(enc[6]).toBe(2);
    expect(enc[7]).toBe(0);
    expect((enc.length - 2) % 64).toBe(0);
    const back = parseNpy(enc);
    expect(back.shape.length).toBe(23_000);
    expect(Array.from(back.data as Uint16Array)).toEqual([0xbeef]);
  });

  it("writes and reads files atomically", () => {
    const dir = mkdtempSync(join(tmp, "atomic-"));
    const path = join(dir, "a.npy");
    const arr = sampleArray("i8", [2, 2]);
    writeNpy(path, arr);
    writeNpy(path, arr); // overwrite
    expect(readdirSync(dir)).toEqual(["a.npy"]);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(encodeNpy(arr)))).toBe(true);
    expectSameArray(readNpy(path), arr);
    expect(() => writeNpy(join(dir, "missing-dir", "b.npy"), arr)).toThrow();
    expectNpyError(() => writeNpy(join(dir, "c.npy"), { ...arr, shape: [3] }), "c.npy: ");
    expect(readdirSync(dir)).toEqual(["a.npy"]);
  });

  it("property: parse(encode(a)) == a, aligned or not", () => {
    fc.assert(
      fc.property(npyArrayArb, fc.integer({ min: 0, max: 7 }), (arr, off) => {
        const enc = encodeNpy(arr);
        expectSameArray(parseNpy(enc), arr);
        expectSameArray(parseNpy(atOffset(enc, off)), arr);
        expect(Buffer.from(encodeNpy(parseNpy(enc))).equals(Buffer.from(enc))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("property: damaged files only ever raise NpyFormatError", () => {
    fc.assert(
      fc.property(npyArrayArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (arr, cut, pos, val) => {
        const enc = encodeNpy(arr);
        const truncated = enc.subarray(0, cut % enc.length);
        expect(() => parseNpy(truncated, "t.npy")).toThrow(NpyFormatError);
        const flipped = enc.slice();
        flipped[pos % Math.min(enc.length, 128)] = val;
        try {
          parseNpy(flipped, "f.npy");
        } catch (e) {
          expect(e).toBeInstanceOf(NpyFormatError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Fortran-order (first axis fastest) copy of C-order values. */
function toFortran<T>(values: T[], shape: number[]): T[] {
  const out: T[] = new Array(values.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < values.length; c++) {
    // idx is the multi-index of C position c; F offset = sum idx[k] * prod(shape[0..k-1]).
    let f = 0;
    for (let k = shape.length - 1; k >= 0; k--) f = f * shape[k]! + idx[k]!;
    out[f] = values[c]!;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

describe("header and layout variants", () => {
  it.each(["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u8", "b1"] as NpyDtype[])(
    "transposes Fortran-order %s data to C order",
    (dt) => {
      for (const shape of [[2, 3], [2, 3, 4], [3, 1, 2, 2], [4], [1, 5], [0, 2]]) {
        const c = sampleArray(dt, shape);
        const size = npyItemSize(dt);
        const n = c.data.length;
        const order = toFortran(
          Array.from({ length: n }, (_, i) => i),
          shape,
        );
        const src = bytesOf(c.data);
        const fBytes = new Uint8Array(src.length);
        order.forEach((ci, fi) => {
          fBytes.set(src.subarray(ci * size, ci * size + size), fi * size);
        });
        const descr = size === 1 ? `|${dt}` : `<${dt}`;
        const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
        const file = rawNpy(`{'descr': '${descr}', 'fortran_order': True, 'shape': ${dims}, }`, fBytes);
        expectSameArray(parseNpy(file), c);
        expectSameArray(parseNpy(atOffset(file, 1)), c);
      }
    },
  );

  it("byte-swaps big-endian data of every multi-byte dtype", () => {
    for (const dt of NPY_DTYPES) {
      const size = npyItemSize(dt);
      const c = sampleArray(dt, [5]);
      const be = bytesOf(c.data).slice();
      for (let i = 0; i < be.length; i += size) be.subarray(i, i + size).reverse();
      const order = size === 1 ? "|" : ">";
      expectSameArray(parseNpy(rawNpy(`{'descr': '${order}${dt}', 'fortran_order': False, 'shape': (5,), }`, be)), c);
    }
  });

  it("accepts any key order, quote style, spacing and trailing commas", () => {
    const data = bytesOf(new Float32Array([1, 2, 3, 4, 5, 6]));
    const variants = [
      `{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}`,
      `{"descr":"<f4","fortran_order":False,"shape":(2,3)}`,
      `{ 'descr' :'<f4' ,\n\t'fortran_order':False,'shape':( 2 ,3 , ) , }`,
      `{'descr': '<' 'f4', 'fortran_order': False, 'shape': (2, 3)}  # comment`,
      `{u'descr': u'<f4', 'fortran_order': False, 'shape': (2L, 3L), }`,
      `{'descr': '=f4', 'fortran_order': False, 'shape': (0x2, 3)}`,
      `{'descr': 'f4', 'fortran_order': False, 'shape': (+2, 3)}`,
      `{'descr': '''<f4''', 'fortran_order': False, 'shape': (2, 3)}`,
      `{'descr': '\\x3cf4', 'fortran_order': False, 'shape': (2, 3)}`,
    ];
    for (const dict of variants) {
      const arr = parseNpy(rawNpy(dict, data), "v.npy");
      expect(arr.dtype).toBe("f4");
      expect(arr.shape).toEqual([2, 3]);
      expect(Array.from(arr.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it("accepts unpadded headers and a UTF-8 version 3.0 header", () => {
    const data = bytesOf(new Int16Array([7, -7]));
    expect(parseNpy(rawNpy(f4Dict("(0,)"), [], 1, false)).data.length).toBe(0);
    const v3 = rawNpy(`{'descr': '<i2', 'fortran_order': False, 'shape': (2,)} # é`, data, 3);
    expect(Array.from(parseNpy(v3).data as Int16Array)).toEqual([7, -7]);
    const v2 = rawNpy(`{'descr': '<i2', 'fortran_order': False, 'shape': (2,)}`, data, 2);
    expect(Array.from(parseNpy(v2).data as Int16Array)).toEqual([7, -7]);
  });

  it("parses tuples like (3,) and ()", () => {
    expect(parseNpy(rawNpy(f4Dict("(3,)"), new Uint8Array(12))).shape).toEqual([3]);
    expect(parseNpy(rawNpy(f4Dict("()"), new Uint8Array(4))).shape).toEqual([]);
    expect(parseNpy(rawNpy(f4Dict("((1), 2)"), new Uint8Array(8))).shape).toEqual([1, 2]);
  });
});

describe("rejections", () => {
  const good = () => fixture("f4.npy");

  it("reports a short data section with the file name, shape and dtype", () => {
    const file = rawNpy(f4Dict("(2, 3)"), new Uint8Array(12));
    const err = expectNpyError(() => parseNpy(file, "bad.npy"));
    expect(err.message).toBe("bad.npy: data is 12 bytes, shape [2,3] of <f4 needs 24");
    expect(err.where).toBe("bad.npy");
    expect(err.name).toBe("NpyFormatError");
  });

  it("rejects extra bytes after the data", () => {
    expectNpyError(() => parseNpy(rawNpy(f4Dict("(2, 3)"), new Uint8Array(25)), "x.npy"), "x.npy: data is 25 bytes", "needs 24");
  });

  it("rejects truncated files at every length", () => {
    const bytes = good();
    for (let n = 0; n < bytes.length; n++) {
      expectNpyError(() => parseNpy(bytes.subarray(0, n), "t.npy"), "t.npy: ");
    }
    expectNpyError(() => parseNpy(bytes.subarray(0, 4), "t.npy"), "truncated", "magic");
    expectNpyError(() => parseNpy(bytes.subarray(0, 9), "t.npy"), "truncated", "header length");
    expectNpyError(() => parseNpy(bytes.subarray(0, 60), "t.npy"), "truncated: header length 118 runs past the end");
    expectNpyError(() => parseNpy(bytes.subarray(0, 140), "t.npy"), "data is 12 bytes, shape [2,4] of <f4 needs 32");
  });

  it("rejects a bad magic string or version", () => {
    const b = good().slice();
    b[1] = 0x6e;
    expectNpyError(() => parseNpy(b, "m.npy"), "m.npy: not a .npy file (bad magic 93 6e 55 4d 50 59");
    expectNpyError(() => parseNpy(new TextEncoder().encode("PK\x03\x04 something"), "z.npy"), "bad magic 50 4b 03 04");
    const v = good().slice();
    v[6] = 4;
    expectNpyError(() => parseNpy(v, "v.npy"), "unsupported .npy format version 4.0");
    v[6] = 1;
    v[7] = 1;
    expectNpyError(() => parseNpy(v, "v.npy"), "unsupported .npy format version 1.1");
  });

  it.each([
    [`{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}`, "cannot parse header", "expected ',' or '}'"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,)`, "cannot parse header", "end of input"],
    [`{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}`, "cannot parse header"],
    [`{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}`, "cannot parse header", "unexpected name 'false'"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x`, "cannot parse header", "after the value"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (,)}`, "cannot parse header"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}`, "cannot parse header", "leading zeros"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2__0,)}`, "cannot parse header", "malformed number"],
    [`${"(".repeat(200)}`, "cannot parse header", "nested too deeply"],
    [`['descr', 'fortran_order', 'shape']`, "header is not a dict"],
    [`{'descr': '<f4', 'shape': (2,)}`, "header is missing key 'fortran_order'"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}`, "unexpected key 'extra'"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}`, "duplicate key 'shape'"],
    [`{1: '<f4', 'fortran_order': False, 'shape': (2,)}`, "header keys must be strings"],
    [`{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}`, "fortran_order must be True or False, got 0"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': [2]}`, "shape must be a tuple of ints, got list [2]"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2)}`, "shape must be a tuple of ints, got int 2"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}`, "shape must be a tuple of ints"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}`, "shape must be a tuple of ints"],
    [`{'descr': 4, 'fortran_order': False, 'shape': (2,)}`, "descr must be a str, got int 4"],
  ])("rejects bad header dict %s", (dict, ...fragments) => {
    expectNpyError(() => parseNpy(rawNpy(dict, new Uint8Array(8)), "h.npy"), "h.npy: ", ...fragments);
  });

  it("rejects a header that is not valid UTF-8 in version 3.0", () => {
    const f = rawNpy(f4Dict("(0,)"), [], 3);
    f[20] = 0xff;
    expectNpyError(() => parseNpy(f, "u.npy"), "u.npy: header is not valid UTF-8");
  });

  it("rejects negative and overflowing shapes without allocating", () => {
    const data = new Uint8Array(16);
    expectNpyError(() => parseNpy(rawNpy(f4Dict("(2, -2)"), data), "s.npy"), "s.npy: negative dimension -2 in shape [2,-2]");
    expectNpyError(
      () => parseNpy(rawNpy(f4Dict("(4294967296, 4294967296, 4294967296)"), data), "s.npy"),
      "shape [4294967296,4294967296,4294967296] has more than 2^53-1 elements",
    );
    expectNpyError(
      () => parseNpy(rawNpy(f4Dict("(18446744073709551616,)"), data), "s.npy"),
      "dimension 18446744073709551616 in shape [18446744073709551616] exceeds 2^53-1",
    );
    // Huge but representable: caught by the size check before anything is allocated.
    expectNpyError(
      () => parseNpy(rawNpy(`{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1024)}`, data), "s.npy"),
      "data is 16 bytes, shape [1099511627776,1024] of <f8 needs 9007199254740992",
    );
    // A zero dimension makes the array empty regardless of the others.
    expect(parseNpy(rawNpy(f4Dict("(0, 9007199254740991)"))).data.length).toBe(0);
  });

  it.each([
    ["|O", "object arrays are not supported (descr '|O')"],
    ["<U5", "unicode string dtypes are not supported"],
    ["|S3", "byte-string dtypes are not supported"],
    ["|V8", "void/structured dtypes are not supported"],
    ["<c8", "complex dtypes are not supported"],
    ["<M8[ns]", "datetime dtypes are not supported"],
    ["<m8[s]", "timedelta dtypes are not supported"],
    ["<f16", "unsupported dtype descr '<f16' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)"],
    ["<i16", "unsupported dtype descr '<i16'"],
    ["float32", "unsupported dtype descr 'float32'"],
    ["<f", "unsupported dtype descr '<f'"],
    ["", "unsupported dtype descr ''"],
  ])("rejects unsupported dtype %s", (descr, message) => {
    const f = rawNpy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,)}`, new Uint8Array(8));
    expectNpyError(() => parseNpy(f, "d.npy"), `d.npy: ${message}`);
  });

  it("rejects structured dtypes", () => {
    const f = rawNpy(`{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}`, new Uint8Array(8));
    expectNpyError(() => parseNpy(f, "d.npy"), "d.npy: structured dtypes are not supported", "('a', '<f4')");
  });

  it("rejects invalid arrays given to the encoder", () => {
    const f32 = new Float32Array(6);
    expectNpyError(() => encodeNpy({ dtype: "f8", shape: [6], data: f32 }), "dtype f8 needs Float64Array data, got Float32Array");
    expectNpyError(() => encodeNpy({ dtype: "f2", shape: [6], data: f32 }), "dtype f2 needs Uint16Array data");
    expectNpyError(() => encodeNpy({ dtype: "f4", shape: [2, 2], data: f32 }), "shape [2,2] has 4 elements but data has 6");
    expectNpyError(() => encodeNpy({ dtype: "f4", shape: [-2, -3], data: f32 }), "bad dimension -2 in shape [-2,-3]");
    expectNpyError(() => encodeNpy({ dtype: "f4", shape: [2.5, 2], data: f32 }), "bad dimension 2.5");
    expectNpyError(() => encodeNpy({ dtype: "c8" as NpyDtype, shape: [6], data: f32 }), 'unsupported dtype "c8"');
    expectNpyError(() => encodeNpy({ dtype: "b1", shape: [3], data: new Uint8Array([0, 1, 2]) }), "b1 data must contain only 0 and 1, found 2 at index 2");
  });
});
