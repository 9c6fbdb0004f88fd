/**
 * The printed certificate: one line per layer with its range, chosen width,
 * storage and headroom, the requant product, then the problems; and the JSON
 * form round-trips through JSON.stringify.
 */
import { describe, expect, it } from "vitest";
import { certifyProgram } from "../../src/integer/certify.js";
import { certificateJson, formatCertificate } from "../../src/integer/certify-report.js";
import type { DenseOp, IntOp, QuantizeOp, RequantOp } from "../../src/integer/program.js";
import { program, val } from "./certify-helpers.js";

const ops: IntOp[] = [
  { kind: "quantize", source: "QuantizeLinear 'in'", input: "x", output: "q", scale: 1, zeroPoint: 0, qmin: -128, qmax: 127 } satisfies QuantizeOp,
  {
    kind: "dense",
    source: "Gemm 'fc'",
    input: "q",
    output: "acc",
    inputZero: 0,
    weight: Int32Array.of(3, -1, 0, 0),
    inFeatures: 2,
    outFeatures: 2,
    bias: Int32Array.of(100, 5),
  } satisfies DenseOp,
  { kind: "requant", source: "Gemm 'fc' requant", input: "acc", output: "y", multipliers: [{ m: 2 ** 30, s: 33 }], axis: 0, outZero: 0, clampLo: 0, clampHi: 127 } satisfies RequantOp,
];
const cert = certifyProgram(program([2], [val("q", [2], 8), val("acc", [2]), val("y", [2], 8, false)], ops));

describe("certificate report", () => {
  it("prints one line per layer with range, width, storage and headroom", () => {
    const text = formatCertificate(cert);
    const lines = text.split("\n");
    // channel 0: 100 + 3·127 + (−1)(−128) = 609 … 100 + 3·(−128) − 127 = −411: int11, headroom 21
    const fc = lines.find((l) => l.startsWith("Gemm 'fc' ") && l.includes("dense"))!;
    // weights 3, −1, 0, 0: int3 is the narrowest signed type holding them (no weightType declared)
    expect(fc.split(/\s{2,}/)).toEqual(["Gemm 'fc'", "dense", "int3", "[-411, 609]", "int11", "32", "21", "2 ch (1 zero ch)"]);
    // y = clamp(rshr(acc, 3), 0, 127): [0, 76] (609/8 = 76.1), uint7 in a uint8
    const y = lines.find((l) => l.startsWith("Gemm 'fc' requant"))!;
    expect(y.split(/\s{2,}/)).toEqual(["Gemm 'fc' requant", "requant", "[0, 76]", "uint7", "8", "1", "11+31=42/63", "2 ch"]);
    expect(lines.some((l) => l.includes("QuantizeLinear 'in'") && l.includes("[-128, 127]") && l.includes("int8"))).toBe(true);
    expect(text).toMatch(/0 error\(s\), 1 warning\(s\):\n {2}warning: Gemm 'fc': channel 1: all weights are zero/);
  });

  it("has a JSON form", () => {
    const j = certificateJson(cert);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
    expect(j.ranges["acc"]).toEqual({ lo: -411, hi: 609 });
    expect(j.rows.map((r) => r.value)).toEqual(["q", "acc", "y"]);
    expect(j.ok).toBe(true);
  });
});
