/**
 * The HLS latency/throughput estimates (timing.ts) on a small program,
 * against values computed by hand here from the stated formulas: a uint8
 * 2×5×5 input, a 3×3 conv (pads 1, 4 outputs) at reuse factor 8, a
 * per-channel requant, a dense of 100 → 3 at reuse factor 30, its requant.
 * And the line buffer: (K − 1) rows + K pixels for a dense 3×3 kernel with
 * unit stride, fewer with a stride, the dilated extent with a dilation.
 */
import { describe, expect, it } from "vitest";
import { lineBufferPlan } from "../../../src/backends/hls/line-buffer-plan.js";
import { estimateResources } from "../../../src/backends/hls/resources.js";
import { estimateTiming, formatTiming } from "../../../src/backends/hls/timing.js";
import { certifyProgram } from "../../../src/integer/certify.js";
import type { ConvOp } from "../../../src/integer/program.js";
import { Rng } from "../../helpers/prng.js";
import { ProgramBuilder, S8, U8 } from "../onnx-int/programs.js";

function small(conv: { k: [number, number]; strides?: [number, number]; pads?: [number, number, number, number]; dilations?: [number, number] } = { k: [3, 3], pads: [1, 1, 1, 1] }) {
  const b = new ProgramBuilder(new Rng(3));
  const x = b.input("x", [2, 5, 5], U8, 1 / 255, 0);
  const c = b.conv(x, "c", { oc: 4, ...conv });
  const a = b.requant(c, "a", S8, 0, 0, b.dyadics(4, 36, 40));
  const f = b.reshape(a, "f", [b.shape(a).reduce((p, q) => p * q, 1)]);
  const d = b.dense(f, "d", 3);
  const y = b.requant(d, "y", S8, 0, 0, b.dyadics(3, 36, 40));
  b.output(y, "out", 0.1);
  return b.build("single");
}

describe("HLS timing estimates against hand-computed values", () => {
  const p = small();
  const cert = certifyProgram(p);
  const plan = estimateResources(p, cert, { byLayer: new Map([["c", 8], ["d", 30]]) });
  const accBits = (v: string) => cert.rows.find((r) => r.accumulator && r.value === v)!.width;

  it("parallel: per layer trips, II asked and estimated, cycles; the design's latency = interval", () => {
    const t = estimateTiming(p, cert, plan, "parallel");
    const [conv, rq, reshape, dense, rq2] = t.layers;
    // conv: rows 25, taps 2·9 = 18 read from the input array per row: II = max(8, ⌈18/2⌉, ⌈4/2⌉) = 9; depth 9 + 5
    expect(conv).toMatchObject({ source: "c", trips: 25, iiRequested: 8, ii: 9, depth: 14, cycles: 24 * 9 + 14 });
    // requant: 4 channels of 25: 4 · (25 − 1 + 4)
    expect(rq).toMatchObject({ trips: 100, ii: 1, cycles: 4 * 28 });
    expect(reshape).toMatchObject({ trips: 100, cycles: 103 });
    // dense 100 → 3, one row: II = max(30, ⌈100/2⌉, 2) = 50 (its 100 inputs from one dual-port array); cycles = 0 · 50 + 55
    expect(dense).toMatchObject({ trips: 1, iiRequested: 30, ii: 50, depth: 55, cycles: 55 });
    expect(rq2).toMatchObject({ cycles: 3 * 4 });
    // + the input copy (50 + 2) and the output copy (3 + 2)
    expect(t.latency).toBe(52 + (24 * 9 + 14) + 112 + 103 + 55 + 12 + 5);
    expect(t.interval).toBe(t.latency);
    // one array per value: the input (u8), conv sums, requant, reshape, dense sums, requant
    expect(t.bufferBits).toBe(50 * 8 + 100 * accBits("c") + 100 * 8 + 100 * 8 + 3 * accBits("d") + 3 * 8);
    expect(formatTiming(t, 5)).toMatch(/^HLS latency\/throughput ESTIMATES/);
  });

  it("stream: the line-buffered conv, each process's stage, interval = the slowest process", () => {
    const t = estimateTiming(p, cert, plan, "stream");
    const [conv, rq, reshape, dense, rq2] = t.layers;
    // line buffer: 2 rows + 3 pixels = 13 pixels of 2 channels, 8 bits; II = max(8, ⌈9/2⌉) = 8
    expect(conv).toMatchObject({ lineBufferPixels: 13, bufferBits: 13 * 2 * 8, ii: 8, cycles: 50 + 25 * (8 + 5 + 4) });
    expect(conv!.stage).toBe(conv!.cycles);
    // buffered processes: reads + cycles + writes
    expect(rq!.stage).toBe(100 + 112 + 100);
    expect(reshape!.stage).toBe(100 + 103 + 100);
    expect(dense!.stage).toBe(100 + 55 + 3);
    expect(rq2!.stage).toBe(3 + 12 + 3);
    expect(t.interval).toBe(Math.max(conv!.stage, rq!.stage, reshape!.stage, dense!.stage, rq2!.stage, 52, 5));
    // latency: the input copy, then each process after its reads (the conv's interleave), then the output copy
    expect(t.latency).toBe(52 + conv!.stage + (rq!.stage - 100) + (reshape!.stage - 100) + (dense!.stage - 100) + (rq2!.stage - 3) + 5);
    // FIFOs: one per reader, a sample deep
    expect(t.fifoBits).toBe(50 * 8 + 100 * accBits("c") + 100 * 8 + 100 * 8 + 3 * accBits("d") + 3 * 8);
  });

  it("line buffer length: (K − 1) rows + K pixels, less with a stride, the dilated extent with a dilation", () => {
    const conv = (q: ReturnType<typeof small>) => q.ops.find((o): o is ConvOp => o.kind === "conv")!;
    expect(lineBufferPlan(p, conv(p)).pixels).toBe(2 * 5 + 3);
    // 3×3, no padding: 2 rows + 3 pixels again
    const q = small({ k: [3, 3] });
    expect(lineBufferPlan(q, conv(q)).pixels).toBe(13);
    // dilation 2 (extent 5×5, no padding) on 5×5: the whole input
    const r = small({ k: [3, 3], dilations: [2, 2] });
    expect(lineBufferPlan(r, conv(r)).pixels).toBe(4 * 5 + 5);
    // 2×2 stride 2: the rows not yet needed are never held: 1 row + 2 pixels
    const s = small({ k: [2, 2], strides: [2, 2] });
    expect(lineBufferPlan(s, conv(s)).pixels).toBe(5 + 2);
  });
});
