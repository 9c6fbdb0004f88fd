/**
 * The AVX2 body of the input quantize (the one-sample op, ops-io.ts, and the
 * batch one, batch-tile.ts), 8 floats per step. Where the scale has numerics'
 * reciprocal form (numerics/quantize-lanes.ts, reciprocalOf: ρ = float32(1/s)
 * normal, and |z| < 2^30), fixq_lanes_k runs it on 8 float32 lanes:
 *   p = x·ρ, k = nearestEven(p), decided ⇔ |p − k| + |p|·2^−21 < ½ − 2^−21
 * and where all 8 lanes are decided, q = clamp(k + z, qmin, qmax) in int32
 * lanes (the doc comment there proves k = roundHalfEven(float32(x / s))).
 * Otherwise (some lane within the margin of a half-integer, NaN, ±∞, huge),
 * and for every step where the scale has no reciprocal form, numerics' lane
 * form of the division (laneQuantizeApply), as two halves of 4 double lanes:
 *   q = ordered(r) ? min(max(r, qmin), qmax) : 0,  r = nearestEven(double(float32(x / scale))) + z
 * Both are then packed to the storage type (the values lie in [qmin, qmax],
 * inside it, so the saturating packs change nothing). The rest of a row, and
 * every row on other machines, takes the scalar loop printed from the definition.
 */
import type { QuantizeOp } from "../../integer/program.js";
import { RECIPROCAL_LIMIT, RECIPROCAL_MARGIN, reciprocalOf } from "../../numerics/quantize-lanes.js";
import { cDouble } from "../shared/print-c.js";
import type { CType } from "./c-types.js";

/** Floats per vector step. */
export const QUANTIZE_STEP = 8;

/** The helper, printed once among the kernels (inside the code passes, emit.ts). */
export const QUANTIZE_LANES = `#if FIXQ_USE_AVX2
/* numerics' lane form of QuantizeLinear on 4 floats (quantize-lanes.ts): the int32 q of each */
static inline __m128i fixq_lanes_q(__m128 x, __m256d scale, __m256d z, __m256d qmin, __m256d qmax) {
  const __m256d f = _mm256_cvtps_pd(_mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(x), scale)));
  const __m256d r = _mm256_add_pd(_mm256_round_pd(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
  const __m256d c = _mm256_min_pd(_mm256_max_pd(r, qmin), qmax);
  return _mm256_cvttpd_epi32(_mm256_and_pd(c, _mm256_cmp_pd(r, r, _CMP_ORD_Q)));
}
/* numerics' reciprocal lane form on 8 floats (quantize-lanes.ts), rho = float32(1/scale): whether every lane is
 * decided, and then *k = roundHalfEven(float32(x / scale)) of each, with no division */
static inline int fixq_lanes_k(__m256 x, __m256 rho, __m256i *k) {
  const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 p = _mm256_mul_ps(x, rho);
  const __m256 r = _mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 t = _mm256_add_ps(_mm256_and_ps(_mm256_sub_ps(p, r), abs), _mm256_mul_ps(_mm256_and_ps(p, abs), _mm256_set1_ps(${cFloat(RECIPROCAL_MARGIN)})));
  *k = _mm256_cvtps_epi32(r); /* an integer below 2^20 where decided: exact */
  return _mm256_movemask_ps(_mm256_cmp_ps(t, _mm256_set1_ps(${cFloat(RECIPROCAL_LIMIT)}), _CMP_LT_OQ)) == 0xff;
}
#endif`;

/** A float32 constant as C prints it exactly (a power of two or ½ − 2^−21: hex float). */
function cFloat(v: number): string {
  return `${cDouble(v)}f`;
}

/** How the 8 int32 results lo (elements j…j+3) and hi (j+4…j+7) are stored as `yT` at `at`; undefined for a type without a pack. */
function store(yT: CType, at: string): string | undefined {
  switch (yT) {
    case "uint8_t":
      return `{ const __m128i p = _mm_packs_epi32(lo, hi); _mm_storel_epi64((__m128i *)(${at}), _mm_packus_epi16(p, p)); }`;
    case "int8_t":
      return `{ const __m128i p = _mm_packs_epi32(lo, hi); _mm_storel_epi64((__m128i *)(${at}), _mm_packs_epi16(p, p)); }`;
    case "int16_t":
      return `_mm_storeu_si128((__m128i *)(${at}), _mm_packs_epi32(lo, hi));`;
    case "uint16_t":
      return `_mm_storeu_si128((__m128i *)(${at}), _mm_packus_epi32(lo, hi));`;
    case "int32_t":
      return `_mm_storeu_si128((__m128i *)(${at}), lo); _mm_storeu_si128((__m128i *)(${at} + 4), hi);`;
    default:
      return undefined;
  }
}

/**
 * The AVX2 steps of quantize `op` over `n` floats at `src` into `dst` (C
 * expressions), from the caller's `int i` while i + 8 ≤ n, leaving i where
 * they stopped; the caller's scalar loop finishes the row. "" where the type has no pack.
 */
export function laneQuantizeLoop(op: QuantizeOp, yT: CType, src: string, dst: string, n: number, pad: string): string {
  const put = store(yT, `${dst} + i`);
  if (!put) return "";
  const rho = Math.abs(op.zeroPoint) < 2 ** 30 ? reciprocalOf(op.scale) : undefined;
  const halves = "lo = fixq_lanes_q(_mm256_castps256_ps128(xv), scale, z, qmin, qmax); hi = fixq_lanes_q(_mm256_extractf128_ps(xv, 1), scale, z, qmin, qmax);";
  const step =
    rho === undefined
      ? ["    __m128i lo, hi;", `    ${halves}`]
      : [
          "    __m256i kv;",
          "    __m128i lo, hi;",
          "    if (fixq_lanes_k(xv, rho, &kv)) { /* every lane decided: no division */",
          "      const __m256i qv = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(kv, zi), qmini), qmaxi);",
          "      lo = _mm256_castsi256_si128(qv);",
          "      hi = _mm256_extracti128_si256(qv, 1);",
          "    } else {",
          `      ${halves}`,
          "    }",
        ];
  const lines = [
    "#if FIXQ_USE_AVX2",
    `${pad}{`,
    `${pad}  const __m256d scale = _mm256_set1_pd(${cDouble(Math.fround(op.scale))}), z = _mm256_set1_pd(${op.zeroPoint}), qmin = _mm256_set1_pd(${op.qmin}), qmax = _mm256_set1_pd(${op.qmax});`,
    ...(rho === undefined
      ? []
      : [`${pad}  const __m256 rho = _mm256_set1_ps(${cFloat(rho)}); /* float32(1 / scale) */`, `${pad}  const __m256i zi = _mm256_set1_epi32(${op.zeroPoint}), qmini = _mm256_set1_epi32(${op.qmin}), qmaxi = _mm256_set1_epi32(${op.qmax});`]),
    `${pad}  for (; i + ${QUANTIZE_STEP} <= ${n}; i += ${QUANTIZE_STEP}) {`,
    `${pad}    const __m256 xv = _mm256_loadu_ps(${src} + i);`,
    ...step.map((l) => `${pad}${l}`),
    `${pad}    ${put}`,
    `${pad}  }`,
    `${pad}}`,
    "#endif",
  ];
  return lines.join("\n");
}
