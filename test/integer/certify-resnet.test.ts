/**
 * The certificate of the quantized ResNet (residual Adds as rescales, a
 * global average pool as sumpool): no problems, and the emulator's
 * assertRanges never fires on eval images with the certificate tightened to
 * the images' float range [0, 1].
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { evalX } from "../helpers/bundled-data.js";
import { quantizedProgram } from "./certify-helpers.js";

describe("certificate on the quantized ResNet", () => {
  it("has rescale and sumpool rows, and assertRanges never fires on the eval images", async () => {
    const p = await quantizedProgram("resnet");
    const cert = certifyProgram(p, { inputRanges: new Map([["input", { lo: 0, hi: 1 }]]) });
    expect(cert.problems).toEqual([]);
    expect(cert.rows.filter((r) => r.kind === "rescale-sum").length).toBeGreaterThan(0);
    expect(cert.rows.filter((r) => r.kind === "sumpool").length).toBeGreaterThan(0);
    for (const v of p.values.keys()) expect(cert.ranges.has(v), v).toBe(true);
    const n = 500;
    expect(() => runProgram(p, new Map([["input", evalX.data.subarray(0, n * 784)]]), n, { assertRanges: cert.ranges })).not.toThrow();
  });
});
