/**
 * The AVX2 body of the input quantize (the one-sample op, ops-io.ts, and the
 * batch one, batch-tile.ts): numerics' lane form of QuantizeLinear
 * (numerics/quantize-lanes.ts, where the proof that it equals the printed
 * definition lies) on 8 floats per step, as two halves of 4 double lanes:
 *   q = ordered(r) ? min(max(r, qmin), qmax) : 0,  r = nearestEven(double(float32(x / scale))) + z
 * then packed to the storage type (the values lie in [qmin, qmax], inside
 * it, so the saturating packs change nothing). The rest of a row, and every
 * row on other machines, takes the scalar loop printed from the definition.
 */
import type { QuantizeOp } from "../../integer/program.js";
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
#endif`;

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
  const lines = [
    "#if FIXQ_USE_AVX2",
    `${pad}{`,
    `${pad}  const __m256d scale = _mm256_set1_pd(${cDouble(Math.fround(op.scale))}), z = _mm256_set1_pd(${op.zeroPoint}), qmin = _mm256_set1_pd(${op.qmin}), qmax = _mm256_set1_pd(${op.qmax});`,
    `${pad}  for (; i + ${QUANTIZE_STEP} <= ${n}; i += ${QUANTIZE_STEP}) {`,
    `${pad}    const __m256 xv = _mm256_loadu_ps(${src} + i);`,
    `${pad}    const __m128i lo = fixq_lanes_q(_mm256_castps256_ps128(xv), scale, z, qmin, qmax), hi = fixq_lanes_q(_mm256_extractf128_ps(xv, 1), scale, z, qmin, qmax);`,
    `${pad}    ${put}`,
    `${pad}  }`,
    `${pad}}`,
    "#endif",
  ];
  return lines.join("\n");
}
