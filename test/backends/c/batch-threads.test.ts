/**
 * -DFIXQ_THREADS=N (batch-threads.ts): the batch functions deal their tiles of
 * 16 samples to N threads, each with its own thread-local arrays, and give the
 * 1-thread bits: a small CNN (conv, depthwise, dense, each with a fused
 * requant, and a residual add) over 70 samples (5 tiles, the last partial),
 * float and integer feeds, built with 3 threads (uneven shares) and with 2
 * threads under ThreadSanitizer (a data race between the threads' tiles fails
 * the run), against the emulator bit for bit. Without the macro the code
 * includes no pthread header. Skips without gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import { emitC } from "../../../src/backends/c/emit.js";
import { quantizeMultiplier } from "../../../src/numerics/requant.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { allFeeds, usefulMultipliers } from "../js/feeds.js";
import { ProgramBuilder, randomInts, U8 } from "../js/program-builder.js";
import { tallyBuilt } from "./check-c.js";
import { buildC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-threads-");
afterAll(tmp.remove);
const dir = tmp.fresh;

function program() {
  const rng = new Rng(5);
  const b = new ProgramBuilder("single");
  const x = b.input([3, 8, 8], U8, 0.02, 0);
  const conv = (inp: string, C: number, O: number, group: number, k: number, stride: number) =>
    b.conv(inp, { inputZero: 0, weight: randomInts(rng, O * (C / group) * k * k, -127, 127), weightShape: [O, C / group, k, k], bias: randomInts(rng, O, -3000, 3000), strides: [stride, stride], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], dilations: [1, 1], group });
  const a = b.requant(conv(x, 3, 8, 1, 3, 1), usefulMultipliers(rng, 8, 14), 0, U8, 0);
  const d = b.requant(conv(a, 8, 8, 8, 3, 1), usefulMultipliers(rng, 8, 12), 0, U8, 0);
  const s = b.rescale([a, d], { inputZeros: [0, 0], multipliers: [1 << 14, 1 << 14], shift: 15, outZero: 0 }, U8);
  const p = b.requant(conv(s, 8, 8, 1, 1, 2), usefulMultipliers(rng, 8, 13), 0, U8, 0);
  const f = b.dense(b.reshape(p, [8 * 4 * 4]), 0, randomInts(rng, 128 * 10, -127, 127), 10, randomInts(rng, 10, -1000, 1000));
  b.output(b.requant(f, [quantizeMultiplier(2 ** -12)], 0, U8, 128), 0.05);
  return b.build();
}

describe.skipIf(!HAVE)("-DFIXQ_THREADS gives the one-thread bits", () => {
  const p = program();

  it("keeps pthreads out of the code without the macro", () => {
    const c = emitC(p).get("model.c")!;
    expect(c).toMatch(/#if defined\(FIXQ_THREADS\) && FIXQ_THREADS > 1\n#include <pthread.h>\n#define FIXQ_TLS __thread\n#else\n#define FIXQ_TLS\n#endif/);
    // the code part is printed twice (cpu-dispatch.ts: the AVX2 and the baseline pass), the guard with it each time
    const guarded = c.match(/#if defined\(FIXQ_THREADS\) && FIXQ_THREADS > 1\n#include <pthread.h>/g)?.length ?? 0;
    expect(guarded).toBeGreaterThan(0);
    expect(c.match(/#include <pthread.h>/g)).toHaveLength(guarded);
    expect(c).toMatch(/static FIXQ_TLS uint8_t fixq_tpool_uint8_t\[/);
  });

  it.each([
    ["3 threads", "-O2 -DFIXQ_THREADS=3 -pthread"],
    ["2 threads under ThreadSanitizer", "-O1 -g -fsanitize=thread -DFIXQ_THREADS=2 -pthread"],
  ])("%s (%s)", (_, cflags) => {
    const built = buildC(p, dir(), { cflags });
    expect(run("nm", [`${built.dir}/${built.exe ?? "model_run"}`])).toMatch(/pthread_create/); // the threaded driver is in
    const t = tallyBuilt(built, allFeeds(p, 6, 70));
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(70 * 10);
  }, 120_000);
});
