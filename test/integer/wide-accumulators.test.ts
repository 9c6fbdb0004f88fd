/**
 * Int64 accumulators (integer/widen-accumulators.ts): Q2.14 (`fixed<16,2>`)
 * weights and activations on the bundled cnn, whose first conv's
 * accumulators reach 33+ bits on real images. The certificate proves which
 * layers leave int32; exactly those are typed int64, the rest stay int32;
 * and the emulator, an independent naive ap_fixed interpreter, the generated
 * JS, the generated C (gcc), the HLS C simulation (g++, fixq's ap_types) and
 * the integer-only ONNX in ONNX Runtime agree bit for bit (0 mismatching
 * words) on eval images, random floats and extreme integer inputs. C and HLS
 * skip without gcc/g++ (they run, and fail if absent, with FIXQ_REQUIRE_DATA=1).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { type Program, isWideValue } from "../../src/integer/program.js";
import { tallyBuilt, tallyC } from "../backends/c/check-c.js";
import { buildHls } from "../backends/hls/build-hls.js";
import { expectBitExact, type Feeds } from "../backends/js/check.js";
import { tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { feeds, onnxIntMismatches, quantizedFile } from "./fixed-designs.js";

const REQUIRE = process.env.FIXQ_REQUIRE_DATA === "1";
const HAVE_GCC = toolAvailable("gcc") && toolAvailable("make");
const HAVE_GXX = HAVE_GCC && toolAvailable("g++");
if (!HAVE_GXX && !REQUIRE) console.warn("wide-accumulators.test: gcc, g++ or make missing; the C and HLS checks are skipped");
const tmp = tempDir("fixq-wide-");
afterAll(tmp.remove);

// Q2.14 as ap_fixed<16,2> (AP_TRN, AP_WRAP), and rounded and saturated: with AP_WRAP the low 32 bits of an
// accumulator decide the result (a wrapped int32 sum gives the same bits), so the saturating design is the one
// that fails on any back end that keeps a 33+-bit accumulator in int32
const DESIGNS = [
  { name: "fixed<16,2>", recipe: { format: "fixed<16,2>" } },
  { name: "fixed<16,2,RND,SAT>", recipe: { weights: "fixed<16,2>", acts: "fixed<16,2,RND,SAT>" } },
];

describe.each(DESIGNS)("Q2.14 $name weights and activations on cnn (int64 accumulators)", ({ name, recipe }) => {
  let p: Program;
  let sets: Feeds[];
  const tag = name.replace(/[^a-z0-9]/gi, "");
  beforeAll(async () => {
    p = integerizeModel(await quantizedFile("cnn", recipe));
    sets = feeds(p, 8);
  });

  it("types int64 exactly the accumulators the certificate proves beyond int32, and certifies", () => {
    const cert = certifyProgram(p);
    expect(cert.problems.filter((x) => x.level === "error")).toEqual([]);
    const acc = cert.rows.filter((r) => r.accumulator && r.kind !== "rescale-sum");
    const beyond = acc.filter((r) => r.range.lo < -(2 ** 31) || r.range.hi > 2 ** 31 - 1).map((r) => r.value);
    const wide = [...p.values.values()].filter(isWideValue).map((v) => v.name);
    expect(beyond.length).toBeGreaterThan(0);
    expect(new Set(wide)).toEqual(new Set(beyond));
    for (const r of acc) expect(r.storage).toBe(wide.includes(r.value) ? 64 : 32);
  });

  it("emulator = naive ap_fixed reference = generated JS, bit for bit", async () => {
    expect(await expectBitExact(p, sets)).toBeGreaterThan(0);
  });

  it("integer-only ONNX in ONNX Runtime = emulator", async () => {
    const t = await onnxIntMismatches(p, sets);
    expect({ ints: t.ints, floats: t.floats }).toEqual({ ints: 0, floats: 0 });
    expect(t.compared).toBeGreaterThan(0);
  });

  it.skipIf(!HAVE_GCC && !REQUIRE)("generated C (gcc -O2) = emulator", () => {
    const dir = join(tmp.dir, `c-${tag}`);
    mkdirSync(dir, { recursive: true });
    const t = tallyC(p, dir, sets, "-O2 -Wall -Wextra -Werror");
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(0);
  });

  it.skipIf(!HAVE_GXX && !REQUIRE)("HLS C simulation (g++, fixq's ap_types) = emulator", () => {
    const dir = join(tmp.dir, `hls-${tag}`);
    mkdirSync(dir, { recursive: true });
    const t = tallyBuilt(buildHls(p, dir), sets);
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
  });
});
