/**
 * The shared kernels model.c pastes in when an op calls them, as code parts
 * (c-parts.ts): each kernel's text and the functions it defines, over every
 * branch of its #if chain (AVX2 / SSE2 / portable bodies share names). A
 * function added to a kernel's text must be listed here: the dispatched
 * build prints the code twice and renames exactly these per path (else gcc
 * stops at "redefinition of 'fixq_…'").
 */
import type { CCode } from "./c-parts.js";
import { GEMM_S16 } from "./gemm.js";
import { QUANTIZE_LANES } from "./quantize-avx2.js";
import { LANE_HELPERS } from "./requant-avx2.js";
import { TILE_DOT } from "./tile-kernel.js";
import { TILE_DOT_U8 } from "./tile-kernel-u8.js";
import { TILE_DOT_U8S } from "./tile-kernel-u8-octets.js";
import { TRANSPOSE16 } from "./transpose-bytes.js";

const kernel = (text: string, functions: readonly string[]): CCode => ({ text, functions });

/** The one-sample int16 GEMM (gemm.ts). */
export const GEMM_S16_CODE = kernel(GEMM_S16, ["fixq_hsum256", "fixq_gemm_s16", "fixq_hsum128"]);
/** The batch tiles' int16 pair dot product (tile-kernel.ts). */
export const TILE_DOT_CODE = kernel(TILE_DOT, ["fixq_dot2", "fixq_wpair", "fixq_tile_dot", "fixq_wpair128"]);
/** The batch tiles' u8 × s8 quad dot product (tile-kernel-u8.ts), and its octet form (tile-kernel-u8-octets.ts). */
export const TILE_DOT_U8_CODE = kernel(`${TILE_DOT_U8}\n${TILE_DOT_U8S}`, ["fixq_dot4", "fixq_wquad", "fixq_tile_dot_u8", "fixq_wquad16", "fixq_pairsum", "fixq_dot8", "fixq_tile_dot_u8s"]);
/** The input quantize's AVX2 lanes (quantize-avx2.ts). */
export const QUANTIZE_LANES_CODE = kernel(QUANTIZE_LANES, ["fixq_lanes_q", "fixq_lanes_k"]);
/** The requant's AVX2 lane helpers (requant-avx2.ts). */
export const LANE_HELPERS_CODE = kernel(LANE_HELPERS, ["fixq_lanes_rq", "fixq_lanes_rq_hi", "fixq_lanes_rq_short"]);
/** The batch quantize's byte transpose and the dense layers' quad gather (transpose-bytes.ts). */
export const TRANSPOSE16_CODE = kernel(TRANSPOSE16, ["fixq_t16", "fixq_quads16"]);
