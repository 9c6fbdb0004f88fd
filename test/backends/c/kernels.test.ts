/**
 * The shared kernels' code parts (src/backends/c/kernels.ts): every function
 * a kernel lists is defined in its text (a `static` definition at the start
 * of a line), so the per-path renames name real functions. The other
 * direction, no function left unlisted, is what every dispatched build checks:
 * gcc refuses a static function defined twice (cpu-dispatch.test.ts,
 * models.test.ts).
 */
import { describe, expect, it } from "vitest";
import { GEMM_S16_CODE, LANE_HELPERS_CODE, QUANTIZE_LANES_CODE, TILE_DOT_CODE, TILE_DOT_U8_CODE } from "../../../src/backends/c/kernels.js";

describe("the shared kernels' function lists", () => {
  it.each([
    ["GEMM_S16", GEMM_S16_CODE],
    ["TILE_DOT", TILE_DOT_CODE],
    ["TILE_DOT_U8", TILE_DOT_U8_CODE],
    ["QUANTIZE_LANES", QUANTIZE_LANES_CODE],
    ["LANE_HELPERS", LANE_HELPERS_CODE],
  ])("%s: each listed function has a definition", (_, k) => {
    expect(k.functions.length).toBeGreaterThan(0);
    for (const f of k.functions) expect({ f, defined: new RegExp(`^static\\b[^;{]*\\b${f}\\(`, "m").test(k.text) }).toEqual({ f, defined: true });
  });
});
