
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { isWideValue, type Program } from "../../src/integer/program.js";
import type { Feeds } from "../backends/js/check.js";
import { tempDir, } from "../helpers/c-toolchain.js";
import { backendParityTests, feeds, quantizedFile, warnMissingTools } from "./fixed-designs.js";

warnMissingTools("wide-accumulators.test");
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

  backendParityTests(() => ({ p, sets }), () => tmp.dir, tag, true);
});
