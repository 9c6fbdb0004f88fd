/** Shared helpers for the .npy/.npz tests. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { expect } from "vitest";
import { NPY_DTYPES, type NpyArray, type NpyData, type NpyDtype, NpyFormatError } from "../../src/io/npy.js";

export const FIXTURES = join(import.meta.dirname, "..", "fixtures", "npy");

export interface ExpectedArray {
  dtype: NpyDtype;
  shape: number[];
  /** Values in C order as numpy printed them (f2 as raw uint16 bits). */
  values: string[];
}

export type Manifest = Record<string, ExpectedArray | Record<string, ExpectedArray>>;

export function loadManifest(): Manifest {
  return JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as Manifest;
}

export function fixture(name: string): Uint8Array {
  return readFileSync(join(FIXTURES, name));
}

function pyFloat(s: string): number {
  if (s === "inf") return Number.POSITIVE_INFINITY;
  if (s === "-inf") return Number.NEGATIVE_INFINITY;
  if (s === "nan") return Number.NaN;
  return Number(s);
}

/** Asserts that `arr` holds exactly what the manifest says numpy saved. */
export function expectMatches(arr: NpyArray, want: ExpectedArray): void {
  expect(arr.dtype).toBe(want.dtype);
  expect(arr.shape).toEqual(want.shape);
  expect(arr.data.length).toBe(want.values.length);
  const got = Array.from(arr.data as ArrayLike<number | bigint>);
  want.values.forEach((s, i) => {
    const v = got[i]!;
    if (want.dtype === "f4" || want.dtype === "f8") {
      expect(Object.is(v, pyFloat(s)), `element ${i}: ${String(v)} vs ${s}`).toBe(true);
    } else {
      expect(BigInt(v), `element ${i}`).toBe(BigInt(s));
    }
  });
}

export function bytesOf(data: NpyData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Asserts two arrays have the same dtype, shape and exact element bytes. */
export function expectSameArray(a: NpyArray, b: NpyArray): void {
  expect(a.dtype).toBe(b.dtype);
  expect(a.shape).toEqual(b.shape);
  expect(a.data.constructor).toBe(b.data.constructor);
  expect(Buffer.from(bytesOf(a.data)).equals(Buffer.from(bytesOf(b.data)))).toBe(true);
}

/** Copies `bytes` into a fresh buffer at byte offset `offset` (to test unaligned input). */
export function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const buf = new Uint8Array(bytes.length + offset);
  buf.set(bytes, offset);
  return buf.subarray(offset);
}

/** Builds a raw .npy file from a header dict string (padded like numpy) and data bytes. */
export function rawNpy(dict: string, data: Uint8Array | number[] = [], version = 1, pad = true): Uint8Array {
  const enc = version === 3 ? new TextEncoder().encode(dict) : Buffer.from(dict, "latin1");
  const prefix = version === 1 ? 10 : 12;
  let hlen = enc.length + (pad ? 1 : 0);
  if (pad) hlen += (64 - ((prefix + hlen) % 64)) % 64;
  const out = new Uint8Array(prefix + hlen + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, hlen, true);
  else dv.setUint32(8, hlen, true);
  out.fill(0x20, prefix, prefix + hlen);
  out.set(enc, prefix);
  if (pad) out[prefix + hlen - 1] = 0x0a;
  out.set(data, prefix + hlen);
  return out;
}

/** Runs `fn`, expects an NpyFormatError whose one-line message contains every fragment. */
export function expectNpyError(fn: () => unknown, ...fragments: string[]): NpyFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected an NpyFormatError").toBeInstanceOf(NpyFormatError);
  const err = caught as NpyFormatError;
  expect(err.message).not.toMatch(/[\r\n]/);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

/** Makes a typed array of the right class for `dtype` from plain values. */
export function typedFor(dtype: NpyDtype, values: readonly (number | bigint)[]): NpyData {
  switch (dtype) {
    case "f2":
    case "u2":
      return Uint16Array.from(values as number[]);
    case "f4":
      return Float32Array.from(values as number[]);
    case "f8":
      return Float64Array.from(values as number[]);
    case "i1":
      return Int8Array.from(values as number[]);
    case "i2":
      return Int16Array.from(values as number[]);
    case "i4":
      return Int32Array.from(values as number[]);
    case "i8":
      return BigInt64Array.from(values as bigint[]);
    case "u1":
    case "b1":
      return Uint8Array.from(values as number[]);
    case "u4":
      return Uint32Array.from(values as number[]);
    case "u8":
      return BigUint64Array.from(values as bigint[]);
  }
}

/** A few representative values (including extremes) for each dtype. */
export function sampleValues(dtype: NpyDtype, n: number): (number | bigint)[] {
  const pools: Record<NpyDtype, (number | bigint)[]> = {
    f2: [0, 0x8000, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 1],
    f4: [0, -0, 1.5, -3.25, 3.4028234663852886e38, 1e-45, Number.POSITIVE_INFINITY, Number.NaN],
    f8: [0, -0, 0.1, -1e308, 5e-324, Number.NEGATIVE_INFINITY, Number.NaN, Math.PI],
    i1: [-128, -1, 0, 1, 127],
    i2: [-32768, -1, 0, 1, 32767],
    i4: [-2147483648, -1, 0, 1, 2147483647],
    i8: [-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n],
    u1: [0, 1, 128, 255],
    u2: [0, 1, 32768, 65535],
    u4: [0, 1, 2147483648, 4294967295],
    u8: [0n, 1n, 2n ** 63n, 2n ** 64n - 1n],
    b1: [0, 1, 1, 0, 1],
  };
  const pool = pools[dtype];
  return Array.from({ length: n }, (_, i) => pool[i % pool.length]!);
}

export function sampleArray(dtype: NpyDtype, shape: number[]): NpyArray {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype, shape, data: typedFor(dtype, sampleValues(dtype, n)) };
}

/** fast-check arbitrary for one element of `dtype`. */
function elementArb(dtype: NpyDtype): fc.Arbitrary<number | bigint> {
  switch (dtype) {
    case "f2":
    case "u2":
      return fc.integer({ min: 0, max: 0xffff });
    case "f4":
      return fc.float();
    case "f8":
      return fc.double();
    case "i1":
      return fc.integer({ min: -128, max: 127 });
    case "i2":
      return fc.integer({ min: -32768, max: 32767 });
    case "i4":
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case "i8":
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case "u1":
      return fc.integer({ min: 0, max: 255 });
    case "u4":
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case "u8":
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case "b1":
      return fc.integer({ min: 0, max: 1 });
  }
}

/** fast-check arbitrary for a whole array: any dtype, 0–4 dims of 0–4 each. */
export const npyArrayArb: fc.Arbitrary<NpyArray> = fc
  .tuple(fc.constantFrom(...NPY_DTYPES), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }))
  .chain(([dtype, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc
      .array(elementArb(dtype), { minLength: n, maxLength: n })
      .map((values): NpyArray => ({ dtype, shape, data: typedFor(dtype, values) }));
  });
