/**
 * The one-sample functions (NAME_run_full / NAME_run_int, model_run --one)
 * on depthwise convs of every form the one-sample emitter distinguishes
 * (ops-accumulate.ts): stride 1 (all output rows as one run of sums, 3×3 pad
 * 1, 5×5 dilated with asymmetric pads, int8 input with a zero point, a
 * 1-wide plane), stride 2 (4 phase planes; 3×3 pad 1, 3×2 dilated 2×3 with
 * asymmetric pads), strides 1×2 (row by row), and pointwise convs (the batch
 * kernels over blocks of 16 positions: odd K, a tail block, none; int16 pairs
 * for 8-bit weights, u8 quads for weights within ±64, a partial quad, pair
 * sums at the int16 edge), each → requant, equal the emulator
 * bit for bit on float feeds (ties, ±Inf, NaN) and integer feeds spanning the
 * inputs' ranges; and --one gives the batch functions' bits. Built with the
 * Makefile's -O3 (run-time dispatch: the AVX2 pass on an AVX2 CPU) and with
 * FIXQ_CPU=portable. Skips without gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import { emitC } from "../../../src/backends/c/emit.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { allFeeds, usefulMultipliers } from "../js/feeds.js";
import { I8, ProgramBuilder, randomInts, U8 } from "../js/program-builder.js";
import { tallyBuilt } from "./check-c.js";
import { buildC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-one-");
afterAll(tmp.remove);

function depthwiseProgram() {
  const rng = new Rng(31);
  const b = new ProgramBuilder("single");
  const x = b.input([6, 9, 7], U8, 0.02, 128);
  const y = b.input([3, 11, 1], I8, 0.02, -7);
  const dw = (inp: string, zin: number, C: number, k: [number, number], strides: [number, number], pads: [number, number, number, number], dilations: [number, number]) =>
    b.conv(inp, { inputZero: zin, weight: randomInts(rng, C * k[0] * k[1], -127, 127), weightShape: [C, 1, k[0], k[1]], bias: randomInts(rng, C, -20000, 20000), strides, pads, dilations, group: C });
  const accs: string[] = [dw(x, 128, 6, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), dw(x, 128, 6, [5, 3], [1, 1], [2, 0, 3, 1], [2, 1]), dw(x, 128, 6, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]), dw(x, 128, 6, [3, 2], [2, 2], [0, 2, 1, 0], [2, 3]), dw(x, 128, 6, [3, 3], [1, 2], [1, 1, 1, 1], [1, 1]), dw(y, -7, 3, [3, 1], [1, 1], [1, 0, 1, 0], [1, 1])];
  // pointwise (1×1 stride 1) convs: the batch kernel over 16 positions; odd K, P = 63 and 11 (a tail block), P = 32 (none)
  const z = b.input([5, 4, 8], U8, 0.02, 3);
  const pw = (inp: string, zin: number, K: number, O: number) => b.conv(inp, { inputZero: zin, weight: randomInts(rng, O * K, -127, 127), weightShape: [O, K, 1, 1], bias: randomInts(rng, O, -20000, 20000), strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 });
  accs.push(pw(x, 128, 6, 7), pw(y, -7, 3, 5), pw(z, 3, 5, 9));
  // …and with weights in [-64, 64] (every pair within vpmaddubsw's bound): the u8 quad kernel; K = 6 (a partial quad), 3, 5; all 64s (pair sums at the int16 edge)
  const pw7 = (inp: string, zin: number, K: number, O: number, w?: number) => b.conv(inp, { inputZero: zin, weight: w === undefined ? randomInts(rng, O * K, -64, 64) : new Int32Array(O * K).fill(w), weightShape: [O, K, 1, 1], bias: randomInts(rng, O, -20000, 20000), strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 });
  accs.push(pw7(x, 128, 6, 7), pw7(y, -7, 3, 5), pw7(z, 3, 5, 9), pw7(z, 3, 5, 4, 64), pw7(x, 128, 6, 3, -64));
  for (const a of accs) b.output(b.requant(a, usefulMultipliers(rng, b.shape(a)[0]!, 14), 0, I8, -3), 0.02);
  return b.build();
}

describe.skipIf(!HAVE)("one sample per call (model_run --one) = the emulator", () => {
  it("depthwise convs, stride 1 (one run of sums), 2 (phase planes) and 1x2 (row by row), pointwise convs: 0 mismatches on each CPU path, and the batch functions' bits", () => {
    const p = depthwiseProgram();
    const c = emitC(p).get("model.c")!;
    expect(c).toMatch(/every output row at once/); // the stride-1 form is taken…
    expect(c).toMatch(/4 phase planes/); // …the stride-2 one…
    expect(c).toMatch(/one output row, tap by tap/); // …and the row-by-row one (strides 1x2)
    expect(c.match(/fixq_tile_dot\(W\d+, B\d+, xp, NULL, (y \+ p0|tail)/g)?.length).toBeGreaterThanOrEqual(4); // the pointwise convs' blocks and tails
    expect(c.match(/fixq_tile_dot_u8\(WP\d+, BP\d+, xp, NULL, (y \+ p0|tail)/g)?.length).toBeGreaterThanOrEqual(6); // …in u8 quads where the weights allow
    const built = buildC(p, tmp.fresh());
    const sets = allFeeds(p, 23, 12);
    for (const env of [undefined, "portable"]) {
      if (env) process.env["FIXQ_CPU"] = env;
      try {
        const one = tallyBuilt({ ...built, args: ["--one"] }, sets);
        const batch = tallyBuilt(built, sets);
        expect(one.compared).toBeGreaterThan(0);
        expect({ env, one: one.floats + one.ints, batch: batch.floats + batch.ints }).toEqual({ env, one: 0, batch: 0 });
      } finally {
        delete process.env["FIXQ_CPU"];
      }
    }
    expect(run(`${built.dir}/model_run`, ["--cpu"]).trim()).toMatch(/dispatched/);
  }, 240_000);
});
