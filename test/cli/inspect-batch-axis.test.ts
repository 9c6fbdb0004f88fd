/**
 * `fixq inspect` on torch encoder exports whose batch leaves the leading axis
 * (seq-first x [5, batch, 32]; batch-first, whose attention transposes to
 * seq-first): MACs per sample are counted on the model pinned to batch 1, so
 * the layers on [5, batch, ·] and on torch's merged [5·batch, 32] are known
 * and right. Expected values from the architecture (seq 5, d 32, 4 heads of 8,
 * feed-forward 64): in_proj 5·32·96, scores and weighted sum 4·5·5·8 each,
 * out_proj 5·32·32, linear1 and linear2 5·32·64; with and without --probe.
 */
import { describe, expect, it } from "vitest";
import { fixq } from "../helpers/fixq-cli.js";
import { encoderPath } from "../helpers/torch-encoder-fixture.js";

const WANT = [5 * 32 * 96, 4 * 5 * 5 * 8, 4 * 5 * 5 * 8, 5 * 32 * 32, 5 * 32 * 64, 5 * 64 * 32];

describe("inspect: MACs of a batch off the leading axis", () => {
  it.each([
    ["seq-first.onnx", []],
    ["seq-first.onnx", ["--probe"]],
    ["batch-first.onnx", []],
  ])("%s %j", (file, flags) => {
    const r = fixq("inspect", encoderPath(file), "--json", ...flags);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { totalMacs: number; layers: { macs: number | null }[] };
    expect(report.layers.map((l) => l.macs)).toEqual(WANT);
    expect(report.totalMacs).toBe(WANT.reduce((a, b) => a + b, 0));
  }, 60_000);
});
