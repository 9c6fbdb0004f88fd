/**
 * The transformer ops in the HLS back end: the generated project's C
 * simulation (`make csim_run`, g++ against fixq's ap_types/) equals the
 * emulator bit for bit (floats and raw integers) on the hand-built program
 * with every transformer op (ap_int, parallel I/O; and stdint types in stream
 * I/O without the gather), on the bundled ViT (default recipe, integer-only)
 * and on the BERT-style fixture (negative ids, extreme masks; an id outside
 * the table fails naming the sample); the testbench's self-check passes.
 * Stream I/O refuses a gather in one line. One build per case. Skips without
 * g++/make (fails with FIXQ_REQUIRE_DATA=1); g++ -O1 (build-hls.ts). The resource rows of the new
 * layers (ROM bits of the tables, the matmul's multiplier) are checked by hand.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emitHls } from "../../../src/backends/hls/emit.js";
import { estimateTransformerResources, formatTransformerResources } from "../../../src/backends/hls/resources-transformer.js";
import { certifyProgram } from "../../../src/integer/certify.js";
import { BERT_L, BERT_VOCAB, bertProgram, sentences } from "../../helpers/bert-fixture.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { tallyBuilt } from "../c/check-c.js";
import { feeds, quantizeProgram } from "../c/feeds-c.js";
import { runC } from "../c/run-c.js";
import { bertFeeds, transformerOpsProgram } from "../c/transformer-programs.js";
import { allFeeds } from "../js/feeds.js";
import { buildHls, csimCheck } from "./build-hls.js";

const HAVE = toolAvailable("gcc") && toolAvailable("g++") && toolAvailable("make");
const tmp = tempDir("fixq-hls-transformer-");
afterAll(tmp.remove);
const dir = (name: string) => {
  const d = join(tmp.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
};
const selfCheck = (d: string) => expect(csimCheck(d)).toMatch(/csim_check: 3 samples, 0 mismatches/);

describe.skipIf(!HAVE)("transformer ops in the HLS C simulation equal the emulator", () => {
  it("every op: ap_int parallel I/O, and stdint stream I/O without the gather", () => {
    for (const [name, p, opts] of [
      ["ops-ap", transformerOpsProgram(), {}],
      ["ops-stream", transformerOpsProgram(false), { io: "stream", types: "stdint" }],
    ] as const) {
      const d = dir(name);
      const t = tallyBuilt(buildHls(p, d, opts), allFeeds(p, 4, 9));
      expect({ name, floats: t.floats, ints: t.ints }).toEqual({ name, floats: 0, ints: 0 });
      expect(t.compared).toBeGreaterThan(500);
      selfCheck(d);
    }
  }, 180_000);

  it("bundled ViT (default recipe, integer-only): eval images, random floats, extreme integers", async () => {
    const p = await quantizeProgram("vit", {}, {}, 64); // 64 calibration images: the check is bit-exactness, not accuracy
    const d = dir("vit");
    const t = tallyBuilt(buildHls(p, d, { modelName: "vit" }), feeds(p, 12, 5, 4, 2));
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((12 + 4 + 4 * 2) * 10);
    selfCheck(d);
  }, 240_000);

  it("BERT-style fixture: sentences, negative ids, extreme masks; an id outside the table fails; stream I/O refuses the gather", async () => {
    const { program: p } = await bertProgram();
    const d = dir("bert");
    const built = buildHls(p, d, { modelName: "bert" });
    const t = tallyBuilt(built, bertFeeds(12, 7));
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((12 + 8) * 2);
    selfCheck(d);
    const bad = sentences(2, 9);
    bad.ids[BERT_L + 2] = BERT_VOCAB;
    expect(() => runC(built, { data: { input_ids: bad.ids, attention_mask: bad.mask }, batch: 2 }, "bad")).toThrow(/sample 1: an integer value lies outside/);
    expect(() => emitHls(p, { io: "stream" })).toThrow(/^GatherBlockQuantized '.*': --io stream cannot report an id outside the embedding table \(a DATAFLOW process has no status\); use --io parallel$/);
  }, 240_000);
});

describe("resource estimates of the transformer layers", () => {
  it("ROM bits of the tables, the matmul's multiplier widths and cycles, labelled as estimates", () => {
    const p = transformerOpsProgram();
    const rows = estimateTransformerResources(p, certifyProgram(p));
    const of = (kind: string) => rows.filter((r) => r.kind === kind);
    // uint8 − 131 ∈ [−131, 124] and int8 − 5 ∈ [−133, 122]: 9 bits each, one DSP48; 3·4·5 outputs of 9 products
    expect(of("matmul")[0]).toMatchObject({ romBits: 0, multipliers: [[9, 9]], dsp: 1, cycles: 3 * 4 * 5 * 9 });
    // int16 − 0 ∈ [−32768, 32767]: 16 bits; int16 + 7 ∈ [−32761, 32774]: 17 bits; one DSP48E2 (27 × 18)
    expect(of("matmul")[1]).toMatchObject({ multipliers: [[16, 17]], dsp: 1 });
    // 256 entries of round(90·tanh(·)) ∈ [−90, 90]: 8 bits each
    expect(of("table")[0]).toMatchObject({ romBits: 256 * 8, multipliers: [], cycles: 64 });
    // 10 rows of 3 int8 codes
    expect(of("gather")[0]).toMatchObject({ romBits: 30 * 8, cycles: 15 });
    expect(of("slice").map((r) => r.cycles)).toEqual([12, 12]);
    expect(formatTransformerResources(rows)).toMatch(/^HLS transformer layers, resource ESTIMATES/);
  });
});
