/**
 * Certificates on bundled models, checked by the emulator so that a loose
 * bound cannot pass:
 * - the quantized CNN's first conv, fed the worst-case input of each output
 *   channel, reaches the certified max and min of that channel exactly in the
 *   emulated accumulator (and never leaves the certified range);
 * - the emulator's assertRanges fires when the certified max is lowered by one
 *   (or the min raised), and never fires on the 2,000 eval images with the
 *   certificate tightened to the images' float range [0, 1].
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram, runProgramInt } from "../../src/backends/emulator/run.js";
import { type Certificate, certifyProgram } from "../../src/integer/certify.js";
import type { ConvOp, DequantizeOp, Program, QuantizeOp } from "../../src/integer/program.js";
import { sampleSize } from "../../src/integer/program.js";
import { worstCaseInput } from "../../src/integer/worst-case.js";
import { evalX } from "../helpers/bundled-data.js";
import { quantizedProgram } from "./certify-helpers.js";


/** The program cut after `conv`: quantize → conv, with the int32 accumulator as its (raw integer) output. */
function upToConv(p: Program, q: QuantizeOp, conv: ConvOp): Program {
  const acc = p.values.get(conv.output)!;
  const dq: DequantizeOp = { kind: "dequantize", source: "accumulator", input: conv.output, output: "acc", scale: 1, zeroPoint: 0 };
  return { ...p, outputs: [{ name: "acc", shape: acc.shape }], ops: [q, conv, dq] };
}

const images = () => new Map([["input", evalX.data]]);
const shrink = (cert: Certificate, value: string, by: { lo?: number; hi?: number }) => {
  const m = new Map(cert.ranges);
  const r = m.get(value)!;
  m.set(value, { lo: r.lo + (by.lo ?? 0), hi: r.hi - (by.hi ?? 0) });
  return m;
};

describe("certificate on the quantized CNN", () => {
  let p: Program;
  let cert: Certificate;
  let q: QuantizeOp;
  let conv: ConvOp;
  beforeAll(async () => {
    p = await quantizedProgram("cnn");
    cert = certifyProgram(p);
    q = p.ops.find((o) => o.kind === "quantize") as QuantizeOp;
    conv = p.ops.find((o) => o.kind === "conv") as ConvOp;
  });

  it("certifies every value without problems", () => {
    expect(cert.problems).toEqual([]);
    expect(conv.input).toBe(q.output); // the first layer reads the quantized graph input
    for (const v of p.values.keys()) expect(cert.ranges.has(v), v).toBe(true);
  });

  it("the first conv reaches each channel's certified max and min exactly on its worst-case inputs", () => {
    const cout = conv.weightShape[0];
    const inSize = sampleSize(p.inputs[0]!.shape);
    const cases = Array.from({ length: cout }, (_, c) => [worstCaseInput(p, conv, c, "max", cert), worstCaseInput(p, conv, c, "min", cert)]).flat();
    const feed = new Int32Array(cases.length * inSize);
    cases.forEach((wc, i) => {
      expect(wc.value).toBe(q.output);
      feed.set(wc.data, i * inSize);
    });
    const sub = upToConv(p, q, conv);
    const acc = runProgramInt(sub, new Map([["input", feed]]), cases.length).ints.get("acc")!;
    const accSize = sampleSize(p.values.get(conv.output)!.shape);
    const ch = cert.channels.get(conv.output)!;
    cases.forEach((wc, i) => {
      const c = Math.floor(i / 2);
      const got = acc[i * accSize + wc.outputIndex]!;
      expect(got, `channel ${c} ${i % 2 ? "min" : "max"}`).toBe(i % 2 ? ch.lo[c] : ch.hi[c]);
      expect(got).toBe(wc.expected);
    });
    // the certificate holds everywhere else too, channel by channel, and the whole value's extremes are attained
    const plane = accSize / cout;
    let outside = 0;
    let [lo, hi] = [Infinity, -Infinity];
    acc.forEach((v, i) => {
      const c = Math.floor((i % accSize) / plane);
      if (v < ch.lo[c]! || v > ch.hi[c]!) outside++;
      [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    });
    expect(outside).toBe(0);
    expect({ lo, hi }).toEqual(cert.ranges.get(conv.output));
  });

  it("assertRanges fires one below the certified max and one above the certified min, on the worst-case input", () => {
    const r = cert.ranges.get(conv.output)!;
    const ch = cert.channels.get(conv.output)!;
    const c = ch.hi.indexOf(r.hi);
    for (const [which, by, v] of [
      ["max", { hi: 1 }, r.hi],
      ["min", { lo: 1 }, r.lo],
    ] as const) {
      const wc = worstCaseInput(p, conv, which === "max" ? c : ch.lo.indexOf(r.lo), which, cert);
      const feeds = new Map([["input", wc.data]]);
      expect(() => runProgramInt(p, feeds, 1, { assertRanges: cert.ranges })).not.toThrow();
      expect(() => runProgramInt(p, feeds, 1, { assertRanges: shrink(cert, conv.output, by) })).toThrow(new RegExp(`wrote ${v} to '${conv.output}'`));
    }
  });

  it("assertRanges never fires on the eval images", () => {
    // the certificate for the images' float range [0, 1] lies within the default one, so it is the stronger check
    const tight = certifyProgram(p, { inputRanges: new Map([["input", { lo: 0, hi: 1 }]]) });
    for (const [v, r] of tight.ranges) expect(r.lo >= cert.ranges.get(v)!.lo && r.hi <= cert.ranges.get(v)!.hi, v).toBe(true);
    const n = evalX.dims[0]!;
    expect(() => runProgram(p, images(), n, { assertRanges: tight.ranges })).not.toThrow();
  });
});

