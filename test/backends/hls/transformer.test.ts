/**
 * The transformer ops in the HLS back end: the generated project's C
 * simulation (`make csim_run`, g++ against fixq's ap_types/) equals the
 * emulator bit for bit (floats and raw integers) on the hand-built program
 * with every transformer op (ap_int, parallel I/O; and stdint types in stream
 * I/O without the gather), on the bundled ViT (default recipe, integer-only)
 * and on the BERT-style fixture (negative ids, extreme masks; an id outside
 * the table fails naming the sample); the testbench's self-check passes.
 * Stream I/O refuses a gather in one line. One build per case (the stdint stream one with the
 * matmuls at reuse factor 3). Skips without g++/make (fails with FIXQ_REQUIRE_DATA=1); g++ -O1
 * (build-hls.ts). The resource rows of the new layers (ROM bits of the tables, the matmul's
 * reuse-factor row) and their cycle estimates (the loop model of timing-transformer.ts, the
 * matmul's row model) are checked against values computed by hand (more: matmul-layer.test.ts).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emitHls } from "../../../src/backends/hls/emit.js";
import { estimateResources } from "../../../src/backends/hls/resources.js";
import { estimateTransformerResources, formatTransformerResources } from "../../../src/backends/hls/resources-transformer.js";
import { estimateTiming } from "../../../src/backends/hls/timing.js";
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
      ["ops-stream", transformerOpsProgram(false), { io: "stream", types: "stdint", reuse: { all: 3 } }], // the matmuls at R = 3 (K·N = 45 and 12)
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

describe("resource and timing estimates of the transformer layers", () => {
  const p = transformerOpsProgram();
  const cert = certifyProgram(p);

  it("ROM bits of the tables, labelled as estimates; the matmul's row in the reuse-factor table", () => {
    const rows = estimateTransformerResources(p, cert);
    const of = (kind: string) => rows.filter((r) => r.kind === kind);
    expect(of("matmul")).toEqual([]); // a reuse-factor layer: resources.ts's table
    // 256 entries of round(90·tanh(·)) ∈ [−90, 90]: 8 bits each
    expect(of("table")[0]).toMatchObject({ romBits: 256 * 8, multipliers: [] });
    // 10 rows of 3 int8 codes
    expect(of("gather")[0]).toMatchObject({ romBits: 30 * 8 });
    expect(formatTransformerResources(rows)).toMatch(/^HLS transformer layers, resource ESTIMATES/);
    const mm = estimateResources(p, cert).filter((l) => l.kind === "matmul");
    // [3,4,9]·[3,9,5]: uint8 − 131 ∈ [−131, 124] and int8 − 5 ∈ [−133, 122], 9 bits each, one DSP48; K·N = 45 products
    // per row at the least fitting R (1); the sum of 9 products lies in [9·124·(−133), 9·(−131)·(−133)] =
    // [−148428, 156807]: 19 bits; cycles 12 rows · 1 + 3 heads' loads of 45
    expect(mm[0]).toMatchObject({ weights: 45, rows: 12, reuseFactor: 1, multipliers: 45, operandBits: [9, 9], dsp: 45, weightBits: 45 * 9, accumulatorBits: 19, ii: 1, cycles: 12 + 3 * 45 });
    // int16 − 0 ∈ [−32768, 32767]: 16 bits; int16 + 7 ∈ [−32761, 32774]: 17 bits; one DSP48E2 (27 × 18); [1,2,4]·[1,4,3]
    expect(mm[1]).toMatchObject({ weights: 12, rows: 2, multipliers: 12, operandBits: [16, 17], dsp: 12, cycles: 2 + 12 });
  });

  // by hand from the loops the code has: a pipelined loop of T trips costs (T − 1)·1 + depth per invocation;
  // depths: copy 2, element 4, + 3 with a multiply, + 64 with the int64 divider; outer-loop work 1 per iteration
  it("cycles: each II = 1 loop's fill paid per invocation, outer-loop work, the square root", () => {
    const t = estimateTiming(p, cert, estimateResources(p, cert), "parallel");
    const of = (kind: string) => t.layers.filter((l) => l.kind === kind);
    // [3,4,9]·[3,9,5] at R = 1: per head the load of 45 (44 + 2), then 4 rows at II = max(1, ⌈9/2⌉, ⌈5/2⌉) = 5, depth 5 + 5
    expect(of("matmul")[0]).toMatchObject({ iiRequested: 1, ii: 5, depth: 10, trips: 3 * (45 + 4), cycles: 3 * (46 + 3 * 5 + 10) });
    expect(of("mul")[0]).toMatchObject({ ii: 1, cycles: 14 + 7 }); // 15 elements, one multiply
    expect(of("table")[0]).toMatchObject({ ii: 1, depth: 4, trips: 64, cycles: 63 + 4 });
    // [2,16]: per row the max (15 trips), the sum (16), the division (16, depth 4 + 3 + 64)
    expect(of("softmax")[0]).toMatchObject({ ii: 1, depth: 71, cycles: 2 * (18 + 19 + 86) });
    // [3,5]: per row Σx (5), Σc² (5, a multiply), the square root (64), the division (5)
    expect(of("layernorm")[1]).toMatchObject({ ii: 1, cycles: 3 * (8 + 11 + 64 + 75) });
    // RMSNorm [3,5]: no Σx loop (s = C·z_x), then the same Σc², square root and division
    expect(of("layernorm")[3]).toMatchObject({ ii: 1, cycles: 3 * (11 + 64 + 75) });
    // [4,6]: offsets of 24 (one block) and of 6 (4 blocks), each with a multiply
    expect(of("addconst").map((l) => l.cycles)).toEqual([30, 30, 4 * 12]);
    // 5 ids: each its check (1) and a row of 3 copies (2 + 2)
    expect(of("gather")[0]).toMatchObject({ trips: 15, cycles: 5 * 5 });
    // rows 1..2 of [4,6] on axis 0 (one run of 12), columns 2..4 on axis 1 (4 runs of 3)
    expect(of("slice").map((l) => l.cycles)).toEqual([13, 16]);
    // the code pipelines the matmul's load (II = 1) and its row loop (II = R = 1)
    const layers = emitHls(p).get("firmware/fixq_layers.h")!;
    const i = p.ops.findIndex((op) => op.kind === "matmul");
    const fn = layers.slice(layers.indexOf(`static int layer${i}(`), layers.indexOf("\n}\n", layers.indexOf(`static int layer${i}(`)));
    expect(fn.match(/#pragma HLS PIPELINE II=1/g)).toHaveLength(2);
    // the resource rows carry the same cycles
    const rows = estimateTransformerResources(p, cert);
    expect(rows.map((r) => r.cycles)).toEqual(t.layers.filter((l) => rows.some((r) => r.source === l.source && r.kind === l.kind)).map((l) => l.cycles));
  });
});
