/**
 * Accumulator widths chosen per layer from the certificate
 * (integer/widen-accumulators.ts), on hand-built programs whose accumulator
 * ranges are known by hand: x int16 in [−32768, 32767], a dense of K taps with
 * every weight w, so the certified range is K·|w|·[−32768, 32767] (+ bias).
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { checkAccumulator } from "../../src/integer/certify-checks.js";
import type { DenseOp, FixedRescaleOp, IntOp, Program, RequantOp } from "../../src/integer/program.js";
import { isWideValue } from "../../src/integer/program.js";
import { widenAccumulators } from "../../src/integer/widen-accumulators.js";
import { program, val } from "./certify-helpers.js";

const K = 8;

function dense(name: string, w: number, input = "xq"): DenseOp {
  return { kind: "dense", source: `Gemm '${name}'`, input, output: `${name}_acc`, inputZero: 0, weight: new Int32Array(K * K).fill(w), inFeatures: K, outFeatures: K };
}

function fixed(name: string, shift: number): FixedRescaleOp {
  return {
    kind: "fixedrescale",
    source: `Gemm '${name}'`,
    inputs: [`${name}_acc`],
    output: `${name}_y`,
    multipliers: [1],
    shift,
    cast: { bits: 16, signed: true, round: "AP_RND", overflow: "AP_SAT", satBits: 0 },
    clampLo: -32768,
    clampHi: 32767,
  };
}

/** quantize → dense(w1) → fixedrescale → dense(w2) → fixedrescale (or requant) → dequantize. */
function twoLayers(w1: number, w2: number, second: "fixed" | "requant" = "fixed"): Program {
  const ops: IntOp[] = [
    { kind: "quantize", source: "input 'x'", input: "x", output: "xq", scale: 1, zeroPoint: 0, qmin: -32768, qmax: 32767 },
    dense("a", w1),
    fixed("a", 0),
    dense("b", w2, "a_y"),
  ];
  if (second === "fixed") ops.push(fixed("b", 20));
  else ops.push({ kind: "requant", source: "Gemm 'b'", input: "b_acc", output: "b_y", multipliers: [{ m: 1 << 30, s: 40 }], axis: 0, outZero: 0, clampLo: -32768, clampHi: 32767 } as RequantOp);
  ops.push({ kind: "dequantize", source: "output 'y'", input: "b_y", output: "y", scale: 1, zeroPoint: 0 });
  const p = program([K], [val("xq", [K], 16), val("a_acc", [K]), val("a_y", [K], 16), val("b_acc", [K]), val("b_y", [K], 16)], ops);
  return { ...p, outputs: [{ name: "y", shape: [K] }] };
}

describe("widenAccumulators", () => {
  it("keeps int32 where the certified range fits and types int64 exactly where it does not", () => {
    // a: 8·1·32768 = 2^18 (int32); b: 8·2^15·32768 = 2^33 (beyond int32)
    const p = widenAccumulators(twoLayers(1, 2 ** 15));
    expect(isWideValue(p.values.get("a_acc"))).toBe(false);
    expect(isWideValue(p.values.get("b_acc"))).toBe(true);
    expect(p.values.get("b_acc")!.type.bits).toBe(64);
    const cert = certifyProgram(p);
    expect(cert.ok).toBe(true);
    const row = cert.rows.find((r) => r.value === "b_acc")!;
    expect({ width: row.width, storage: row.storage }).toEqual({ width: 34, storage: 64 });
  });

  it("the emulator computes the widened accumulator exactly (the saturated output proves no int32 wrap)", () => {
    const p = widenAccumulators(twoLayers(1, 2 ** 15));
    // x = 1: a_acc = 8, a_y = 8; b_acc = 8·8·2^15 = 2^21 → 2^21 / 2^20 = 2. x = 32767: a_y saturates at 32767,
    // b_acc = 8·32767·2^15 = 8589672448 (34 bits) → 8191.75, rounded (AP_RND) to 8192; an int32 wrap would
    // leave 8589672448 − 2^33 = −262144 → −0.25 → 0
    const r = runProgram(p, new Map([["x", Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767])]]), 2);
    expect([...r.ints.get("y")!]).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 8192, 8192, 8192, 8192, 8192, 8192, 8192, 8192]);
  });

  it("leaves an accumulator read by an integer requant at int32, and the certificate refuses it", () => {
    const p = widenAccumulators(twoLayers(1, 2 ** 15, "requant"));
    expect(isWideValue(p.values.get("b_acc"))).toBe(false);
    const e = certifyProgram(p).problems.find((x) => x.level === "error" && x.source === "Gemm 'b'");
    expect(e?.message).toMatch(/34 bits\), beyond int32/);
  });

  it("refuses an accumulator beyond int64, naming the node", () => {
    // a certified range no int32 weights reach with K = 8: the check itself, at int64 storage
    const op = dense("b", 1);
    const [e] = checkAccumulator(op, { axis: null, lo: Float64Array.of(-(2 ** 64)), hi: Float64Array.of(2 ** 64) }, 64);
    expect(e).toEqual({ level: "error", source: "Gemm 'b'", message: expect.stringMatching(/\(66 bits\), beyond int64/) });
    expect(checkAccumulator(op, { axis: null, lo: Float64Array.of(-(2 ** 62)), hi: Float64Array.of(2 ** 62) }, 64)).toEqual([]);
  });
});
