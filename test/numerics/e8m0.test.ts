/**
 * float32 → E8M0 (ONNX Cast-24 `round_mode` up/down/nearest × `saturate`),
 * judged by ONNX Runtime (which runs this Cast on CPU), by an encoder written
 * from the spec table, and compared with ONNX's Python reference and
 * ml_dtypes, whose documented disagreements with the spec table are pinned
 * down here.
 */
import { describe, expect, it } from "vitest";
import { decodeFloats, encodeFloats } from "../../src/numerics/float-codec.js";
import type { RoundMode } from "../../src/numerics/float-format.js";
import { E8M0 } from "../../src/numerics/float-formats.js";
import { int } from "../ir/builders.js";
import { SPECIAL_BITS, float32Mismatches } from "./float-inputs.js";
import { goldenEncode } from "./golden.js";
import { ortCastRoundTrip, str } from "./ort-cast.js";
import { referenceE8m0 } from "./reference-encode.js";
import { Rng } from "../helpers/prng.js";

const MODES: RoundMode[] = ["up", "down", "nearest"];

/** Powers of two 2^-149..2^127, the midpoints 1.5·2^k, their float32 neighbours, both signs, specials, then random. */
function e8m0Inputs(total: number, seed: number): Float32Array {
  const bits: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let k = -149; k <= 127; k++) {
    for (const v of [2 ** k, 1.5 * 2 ** k]) {
      f[0] = v;
      const b = u[0]!;
      if (!Number.isFinite(f[0])) continue;
      for (const q of [b, b + 1, b - 1]) if (q >= 0) bits.push(q, q | 0x80000000);
    }
  }
  for (const b of SPECIAL_BITS) bits.push(b, (b ^ 0x80000000) >>> 0);
  const x = new Float32Array(Math.max(total, bits.length));
  const xb = new Uint32Array(x.buffer);
  xb.set(bits);
  const rng = new Rng(seed);
  for (let i = bits.length; i < x.length; i++) {
    if (i % 2 === 0) xb[i] = rng.u32();
    else x[i] = 2 ** (-150 + 280 * rng.float());
  }
  return x;
}

describe("e8m0 encode", () => {
  const x = e8m0Inputs(1 << 20, 24);

  for (const round of MODES) {
    for (const saturate of [true, false]) {
      it(`round_mode=${round}, saturate=${saturate ? 1 : 0}: ORT's Cast, ${x.length} inputs`, async () => {
        const ort = await ortCastRoundTrip(x, E8M0.onnxType, [int("saturate", saturate ? 1 : 0), str("round_mode", round)]);
        const ours = decodeFloats(E8M0, encodeFloats(E8M0, x, { round, saturate }));
        expect(float32Mismatches(x, ours, ort)).toEqual([]);
      });

      it(`round_mode=${round}, saturate=${saturate ? 1 : 0}: the spec table`, () => {
        const got = encodeFloats(E8M0, x, { round, saturate });
        const bad: string[] = [];
        for (let i = 0; i < x.length && bad.length < 5; i++) {
          const want = referenceE8m0(x[i]!, round, saturate);
          if (got[i] !== want) bad.push(`x=${x[i]}: ${got[i]} vs ${want}`);
        }
        expect(bad).toEqual([]);
      });
    }
  }

  it("defaults to ONNX Cast's round_mode=up, saturate=1", () => {
    const v = Float32Array.from([3, 0, Number.POSITIVE_INFINITY]);
    expect(Array.from(encodeFloats(E8M0, v))).toEqual(Array.from(encodeFloats(E8M0, v, { round: "up", saturate: true })));
    expect(Array.from(encodeFloats(E8M0, v))).toEqual([129, 0, 254]);
  });
});

describe("e8m0 encode vs ONNX's Python reference and ml_dtypes", () => {
  const { x, codes } = goldenEncode("e8m0");
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  /** Positive normal float32 values up to 2^127: where the references follow the spec table. */
  const inTable = (i: number) => bits[i]! >= 0x00800000 && bits[i]! <= 0x7f000000;

  for (const round of MODES) {
    for (const sat of [1, 0]) {
      it(`onnx.numpy_helper.to_float8e8m0(${round}, saturate=${sat}) agrees on positive normal inputs up to 2^127`, () => {
        const got = encodeFloats(E8M0, x, { round, saturate: sat === 1 });
        const ref = codes[`onnx_${round}_${sat}`]!;
        let compared = 0;
        const bad: string[] = [];
        for (let i = 0; i < x.length; i++) {
          if (!inTable(i)) continue;
          compared++;
          if (got[i] !== ref[i] && bad.length < 5) bad.push(`x=${x[i]}: ${got[i]} vs ${ref[i]}`);
        }
        expect(bad).toEqual([]);
        expect(compared).toBeGreaterThan(4000);
      });
    }
  }

  it("documents where the ONNX reference leaves the spec table (fixq and ORT follow the table)", () => {
    const at = (v: number) => {
      const i = x.indexOf(v);
      expect(i, `golden input ${v}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const ref = (mode: string, sat: number, v: number) => codes[`onnx_${mode}_${sat}`]![at(v)];
    // +Inf with saturate: the table says E8M0_MAX (0xFE); the reference gives NaN
    expect(ref("up", 1, Number.POSITIVE_INFINITY)).toBe(0xff);
    // 0 without saturate: the table says NaN; the reference gives 2^-127
    expect(ref("nearest", 0, 0)).toBe(0);
    // negative inputs: the table leaves them unspecified; the reference drops the sign (|-1e6| rounds up to 2^20),
    // ORT and fixq treat them as below 2^-127 (0x00 saturating, else NaN)
    expect(ref("up", 1, -1e6)).toBe(127 + 20);
    // float32 subnormals: 2^-127 is exactly code 0, but the reference rounds it up
    expect(ref("up", 1, 2 ** -127)).toBe(1);
    // above 2^127 without saturate: the table says NaN; the reference rounds down into range
    expect(ref("down", 0, 2 ** 127 * 1.5)).toBe(0xfe);
  });

  it("ml_dtypes' cast is round_mode=nearest, saturate=0, but for float32 subnormals and just above 2^127", () => {
    // ml_dtypes 0.6 rounds first and range-checks after (so (2^127, 1.5·2^127) → 2^127, where the
    // table says x > E8M0_MAX → NaN), and sends every subnormal x ≤ 2^-127 to 2^-127 and every
    // larger one to 2^-126 (the table: NaN below 2^-127, nearest above).
    const got = encodeFloats(E8M0, x, { round: "nearest", saturate: false });
    const ref = codes["ml_dtypes"]!;
    const quirk = (v: number) => (v > 0 && v < 2 ** -126) || (v > 2 ** 127 && v < 1.5 * 2 ** 127);
    const bad: string[] = [];
    let quirks = 0;
    for (let i = 0; i < x.length; i++) {
      if (got[i] === ref[i]) continue;
      if (quirk(x[i]!)) quirks++;
      else if (bad.length < 5) bad.push(`x=${x[i]}: ${got[i]} vs ${ref[i]}`);
    }
    expect(bad).toEqual([]);
    expect(quirks).toBeGreaterThan(100);
  });
});
