/**
 * The AVX2 body of a requant (the requant op and the conv / dense epilogues
 * that fuse it, ops-requant.ts's requantParts): numerics' 64-bit lane form
 * (numerics/requant-lanes.ts) on 8 int32 sums at a time,
 *   u = min(max(acc, aLo), aHi) − aLo                              vpmaxsd, vpminsd, vpsubd
 *   P = u·m + r   on the even and the odd 32-bit lanes              vpmuludq, vpaddq (odd: u >> 32 first)
 *   y = qz + ⌊P / 2^s⌋ mod 2^32                                     vpsrlq (odd: bits s…s+31 into the high half), vpblendd, vpaddd
 * then packed with saturation to the output type (vpackssdw / vpackusdw,
 * vpackuswb / vpacksswb, vpermq to undo the 128-bit lanes) and clamped to
 * [lo, hi] there: saturating to the storage range and then clamping equals
 * clamping, as lo and hi lie in that range. Sixteen sums per step; the rest
 * of a run (and every run on other machines, or with -DFIXQ_PORTABLE) takes
 * the scalar loop printed from the one definition, which is also what the
 * test (test/backends/c/requant-avx2.test.ts) checks this body against.
 * Single rounding only; every channel whose constants exist takes it (a flag
 * array where some channel does not: a zero multiplier, a shift ≤ 0).
 * A channel that also has numerics' short form (numerics/requant-short.ts:
 * one multiplier m' and shift s' with u·m' + r' < 2^32) takes one 32-bit
 * multiply instead of the 64-bit steps (a flag array LSV where only some do):
 *   y = qz + ((u·m' + r') >> s')                                     vpmulld, vpaddd, vpsrld, vpaddd
 * with the same clamp points (aLo, aHi, qz) and packing: 7 instructions per 8
 * sums instead of 12. The flag is a branch per channel and run, mispredicted
 * as often as the channels alternate: measured (perf, mobilenetv2) it pays
 * on depthwise planes and whole tensors but costs more than it saves on the
 * short runs of the group-1 conv and dense epilogues (PB positions or one),
 * so there the short form is taken only where every channel has it.
 */
import type { RequantOp } from "../../integer/program.js";
import { laneRequant } from "../../numerics/requant-lanes.js";
import { type ShortRequant, shortRequant } from "../../numerics/requant-short.js";
import { cInt } from "../shared/print-c.js";
import { cList } from "./c-types.js";
import type { CEmitCtx } from "./op-code.js";
import { storage } from "./op-code.js";

/** Sums per vector step. */
export const LANE_STEP = 16;

/** The shared 8-lane helpers, printed once among the kernels (emit.ts) where some requant has the lane form (its constants LALO…). */
export const LANE_HELPERS = `#if FIXQ_USE_AVX2
/* numerics' lane form on 8 int32 sums: qz + floor((u*m + r) / 2^s) mod 2^32, u = clamp(a, alo, ahi) - alo;
 * the odd lanes' quotient lands in the high half: P >> (s - 32) when s >= 32 (sr = s - 32, sl = 0), P << (32 - s) otherwise (sr = 0, sl = 32 - s) */
static inline __m256i fixq_lanes_rq(__m256i a, __m256i alo, __m256i ahi, __m256i m, __m256i r, __m128i s, __m128i sr, __m128i sl, __m256i qz) {
  const __m256i u = _mm256_sub_epi32(_mm256_min_epi32(_mm256_max_epi32(a, alo), ahi), alo);
  const __m256i pe = _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epu32(u, m), r), s);
  const __m256i po = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(u, 32), m), r);
  return _mm256_add_epi32(_mm256_blend_epi32(pe, _mm256_sll_epi64(_mm256_srl_epi64(po, sr), sl), 0xAA), qz);
}
/* the same where every shift is at least 32 (sr = s - 32): one shift fewer */
static inline __m256i fixq_lanes_rq_hi(__m256i a, __m256i alo, __m256i ahi, __m256i m, __m256i r, __m128i s, __m128i sr, __m256i qz) {
  const __m256i u = _mm256_sub_epi32(_mm256_min_epi32(_mm256_max_epi32(a, alo), ahi), alo);
  const __m256i pe = _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epu32(u, m), r), s);
  const __m256i po = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(u, 32), m), r);
  return _mm256_add_epi32(_mm256_blend_epi32(pe, _mm256_srl_epi64(po, sr), 0xAA), qz);
}
/* numerics' short form (requant-short.ts): qz + ((u*m + r) >> s) on uint32, u*m + r < 2^32 for every u the clamp leaves */
static inline __m256i fixq_lanes_rq_short(__m256i a, __m256i alo, __m256i ahi, __m256i m, __m256i r, __m128i s, __m256i qz) {
  const __m256i u = _mm256_sub_epi32(_mm256_min_epi32(_mm256_max_epi32(a, alo), ahi), alo);
  return _mm256_add_epi32(_mm256_srl_epi32(_mm256_add_epi32(_mm256_mullo_epi32(u, m), r), s), qz);
}
#endif`;

/** How 16 int32 results y0 (sums j…j+7) and y1 (j+8…j+15) are clamped to [lo, hi] and stored as `yT` at `at` (a pointer expression). */
function store(yT: string, lo: number, hi: number, at: string): string | undefined {
  const pack16 = (f: string) => `_mm256_permute4x64_epi64(_mm256_${f}_epi32(y0, y1), 0xD8)`;
  // set1 takes the signed element type: an unsigned bound is printed as the signed value of its bits
  const clamp = (v: string, w: string, kind: string, min: number, max: number) => {
    const bits = Number(kind.slice(3));
    const signed = (x: number) => (x >= 2 ** (bits - 1) ? x - 2 ** bits : x);
    const set1 = (x: number) => `_mm${w}_set1_${kind.replace("u", "i")}(${signed(x)})`;
    let e = v;
    if (lo > min) e = `_mm${w}_max_${kind}(${e}, ${set1(lo)})`;
    if (hi < max) e = `_mm${w}_min_${kind}(${e}, ${set1(hi)})`;
    return e;
  };
  const bytes = (f: string, kind: string, min: number, max: number) =>
    `{ const __m256i p = ${pack16("packs")}; const __m128i b = _mm_${f}_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)); _mm_storeu_si128((__m128i *)(${at}), ${clamp("b", "", kind, min, max)}); }`;
  switch (yT) {
    case "uint8_t":
      return bytes("packus", "epu8", 0, 255);
    case "int8_t":
      return bytes("packs", "epi8", -128, 127);
    case "int16_t":
      return `_mm256_storeu_si256((__m256i *)(${at}), ${clamp(pack16("packs"), "256", "epi16", -32768, 32767)});`;
    case "uint16_t":
      return `_mm256_storeu_si256((__m256i *)(${at}), ${clamp(pack16("packus"), "256", "epu16", 0, 65535)});`;
    case "int32_t":
      return `_mm256_storeu_si256((__m256i *)(${at}), ${clamp("y0", "256", "epi32", -(2 ** 31), 2 ** 31 - 1)}); _mm256_storeu_si256((__m256i *)(${at} + 8), ${clamp("y1", "256", "epi32", -(2 ** 31), 2 ** 31 - 1)});`;
    default:
      return undefined;
  }
}

/**
 * The lane form of requant `op` for AVX2, or undefined where it does not
 * apply (double rounding, an output type it does not pack to, no channel with
 * constants). decls: the constant arrays and helpers (inside the AVX2 guard);
 * loop(n, pad): the statements running channel c's sums xc[0…) into yc[0…),
 * 16 at a time while j + 16 ≤ n, leaving j where they stopped (the caller
 * declares `int j = 0` before them and finishes j…n with the scalar loop).
 */
export function laneRequantParts(op: RequantOp, ctx: CEmitCtx): LaneParts | undefined {
  if (ctx.program.rounding !== "single") return undefined;
  const yT = storage(ctx, op.output);
  const put = store(yT, op.clampLo, op.clampHi, "yc + j");
  if (!put) return undefined;
  const k = op.multipliers.map((d) => laneRequant(d.m, d.s, op.outZero, op.clampLo, op.clampHi));
  if (k.every((x) => !x)) return undefined;
  const i = ctx.index;
  const C = op.multipliers.length;
  // per channel: the short form where it exists (same clamp points and qz as the lane form), else the lane form
  const found = shortForms(op).map((x, c) => (k[c] ? x : undefined));
  // a flag per channel only where each channel's run is long (see above); else all channels or none
  const sh = found.every((x) => x) || longRuns(op, ctx) ? found : found.map(() => undefined);
  const allShort = sh.every((x) => x);
  const anyShort = sh.some((x) => x);
  const long = k.map((x, c) => (sh[c] ? undefined : x));
  const every = k.every((x) => x);
  const hi = long.every((x) => !x || x.s >= 32);
  const col = (f: (x: NonNullable<(typeof k)[number]>) => number) => k.map((x) => (x ? f(x) : 0));
  const lcol = (f: (x: NonNullable<(typeof k)[number]>) => number) => long.map((x) => (x ? f(x) : 0));
  const scol = (f: (x: ShortRequant) => number) => sh.map((x) => (x ? f(x) : 0));
  const decls = `#if FIXQ_AVX2_DATA
/* requant ${i}'s lane-form constants per channel (numerics/requant-lanes.ts${anyShort ? ", requant-short.ts" : ""}) */
static const int32_t LALO${i}[${C}] = ${cList(col((x) => x.aLo), cInt)};
static const int32_t LAHI${i}[${C}] = ${cList(col((x) => x.aHi), cInt)};
static const int32_t LQZ${i}[${C}] = ${cList(col((x) => x.qz), cInt)};${
    allShort
      ? ""
      : `
static const uint32_t LM${i}[${C}] = ${cList(lcol((x) => x.m), (x) => `${x}u`)};
static const uint64_t LR${i}[${C}] = ${cList(long.map((x) => (x ? x.r : 0n)), (x) => `${x}ull`)};
static const unsigned char LS${i}[${C}] = ${cList(lcol((x) => x.s))};`
  }${every ? "" : `\n/* 1 where the channel has the lane form */\nstatic const unsigned char LV${i}[${C}] = ${cList(k.map((x) => (x ? 1 : 0)))};`}${
    anyShort
      ? `
static const uint32_t LSM${i}[${C}] = ${cList(scol((x) => x.m), (x) => `${x}u`)};
static const uint32_t LSR${i}[${C}] = ${cList(scol((x) => x.r), (x) => `${x}u`)};
static const unsigned char LSS${i}[${C}] = ${cList(scol((x) => x.s))};${allShort ? "" : `\n/* 1 where the channel has the short form */\nstatic const unsigned char LSV${i}[${C}] = ${cList(sh.map((x) => (x ? 1 : 0)))};`}`
      : ""
  }
#endif`;
  const clamp = `const __m256i alo = _mm256_set1_epi32(LALO${i}[c]), ahi = _mm256_set1_epi32(LAHI${i}[c]), qz = _mm256_set1_epi32(LQZ${i}[c]);`;
  const longCall = (a: string) => (hi ? `fixq_lanes_rq_hi(${a}, alo, ahi, m, r, s, sr, qz)` : `fixq_lanes_rq(${a}, alo, ahi, m, r, s, sr, sl, qz)`);
  const longSetup = [
    `const __m256i m = _mm256_set1_epi32((int32_t)LM${i}[c]), r = _mm256_set1_epi64x((long long)LR${i}[c]);`,
    `const __m128i s = _mm_cvtsi32_si128(LS${i}[c])${hi ? `, sr = _mm_cvtsi32_si128(LS${i}[c] - 32)` : `, sr = _mm_cvtsi32_si128(LS${i}[c] >= 32 ? LS${i}[c] - 32 : 0), sl = _mm_cvtsi32_si128(LS${i}[c] >= 32 ? 0 : 32 - LS${i}[c])`};`,
  ];
  const shortCall = (a: string) => `fixq_lanes_rq_short(${a}, alo, ahi, m, r, s, qz)`;
  const shortSetup = [`const __m256i m = _mm256_set1_epi32((int32_t)LSM${i}[c]), r = _mm256_set1_epi32((int32_t)LSR${i}[c]);`, `const __m128i s = _mm_cvtsi32_si128(LSS${i}[c]);`];
  const block = (n: number | string, setup: string[], call: (a: string) => string) => [
    `  ${clamp}`,
    ...setup.map((l) => `  ${l}`),
    `  for (; j + ${LANE_STEP} <= ${n}; j += ${LANE_STEP}) {`,
    `    const __m256i y0 = ${call("_mm256_loadu_si256((const __m256i *)(xc + j))")};`,
    `    const __m256i y1 = ${call("_mm256_loadu_si256((const __m256i *)(xc + j + 8))")};`,
    `    ${put}`,
    "  }",
  ];
  const loop = (n: number | string, pad: string): string => {
    const lines = allShort
      ? ["{", ...block(n, shortSetup, shortCall), "}"]
      : [
          ...(anyShort ? [`if (LSV${i}[c]) {`, ...block(n, shortSetup, shortCall), "} else"] : []),
          `${every ? "" : `if (LV${i}[c]) `}{`,
          ...block(n, longSetup, longCall),
          "}",
        ];
    return lines.map((l) => pad + l).join("\n");
  };
  return { decls, loop };
}

/** The lane form's parts: decls and the run loop (see laneRequantParts). */
export interface LaneParts {
  readonly decls: string;
  readonly loop: (n: number | string, pad: string) => string;
}

/** Whether each channel's runs are long: the requant is not fused after a group-1 conv or a dense layer (batch-tile.ts, tile-conv.ts). */
function longRuns(op: RequantOp, ctx: CEmitCtx): boolean {
  const from = ctx.program.ops.find((o) => o.output === op.input);
  return !(from?.kind === "dense" || (from?.kind === "conv" && from.group === 1));
}

/** Each channel's short form or undefined (cached per op: the search runs once per op). */
const shortCache = new WeakMap<RequantOp, readonly (ShortRequant | undefined)[]>();
function shortForms(op: RequantOp): readonly (ShortRequant | undefined)[] {
  let got = shortCache.get(op);
  if (!got) {
    got = op.multipliers.map((d) => shortRequant(d.m, d.s, op.outZero, op.clampLo, op.clampHi));
    shortCache.set(op, got);
  }
  return got;
}
