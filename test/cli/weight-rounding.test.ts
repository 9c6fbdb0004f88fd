/**
 * `fixq quantize --weight-rounding`: the JSON summary's `rounding` section
 * (method, per-layer losses, share moved, time), the text report, and one
 * line with exit 2 for every bad value of the rounding flags and recipe keys.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-rounding-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const at = (name: string) => join(tmp, name);
const CNN = join(MODELS_DIR, "cnn.onnx");

function expectOneLine(r: { status: number; stderr: string }, message: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
}

describe("fixq quantize --weight-rounding", () => {
  it("gptq: the JSON summary lists every layer with its losses, and the text report the table", async () => {
    const json = at("q.json");
    const r = await fixqMain("quantize", CNN, "-o", at("q.onnx"), "--weights", "int4", "--acts", "float", "--weight-rounding", "gptq", "--gptq-lazy-batch", "32", "--calib-samples", "16", "--threads", "1", "--json", json);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(json, "utf8"));
    expect(s.rounding.method).toBe("gptq");
    expect(s.rounding.layers).toHaveLength(5);
    for (const l of s.rounding.layers) {
      expect(Object.keys(l)).toEqual(expect.arrayContaining(["node", "method", "lossBefore", "lossAfter", "changedFraction", "ms"]));
      expect(l.lossAfter).toBeLessThanOrEqual(l.lossBefore);
    }
    expect(s.recipe.rounding.gptq).toEqual({ damp: 0.01, lazyBatch: 32, actOrder: true });
    const off = await fixqMain("quantize", CNN, "-o", at("q3.onnx"), "--weights", "int4", "--acts", "float", "--weight-rounding", "gptq", "--no-gptq-act-order", "--calib-samples", "8", "--threads", "1", "--json", at("q3.json"));
    expect(off.status, off.stderr).toBe(0);
    expect(JSON.parse(readFileSync(at("q3.json"), "utf8")).recipe.rounding.gptq.actOrder).toBe(false);
    const text = await fixqMain("quantize", CNN, "-o", at("q2.onnx"), "--weights", "int4", "--weight-rounding", "gptq", "--calib-samples", "8", "--threads", "1");
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/weight rounding \(gptq\) {2}5 layers in 5 runs over the calibration data/);
  }, 120_000);

  it.each([
    [["--weight-rounding", "learned"], /--weight-rounding must be one of nearest, gptq, adaround, got 'learned'/],
    [["--weight-rounding", "gptq", "--gptq-damp", "-1"], /--gptq-damp must be a number ≥ 0, got '-1'/],
    [["--weight-rounding", "gptq", "--gptq-lazy-batch", "0"], /--gptq-lazy-batch must be a positive integer, got '0'/],
    [["--weight-rounding", "adaround", "--adaround-iters", "1.5"], /--adaround-iters must be a positive integer, got '1.5'/],
    [["--weight-rounding", "adaround", "--adaround-batch", "0"], /--adaround-batch must be a positive integer, got '0'/],
    [["--weight-rounding", "adaround", "--adaround-loss", "after"], /--adaround-loss must be pre or post, got 'after'/],
    [["--weight-rounding", "adaround", "--adaround-chunks", "2.5"], /--adaround-chunks must be a positive integer, got .2\.5./],
    [["--weight-rounding", "gptq", "--data-free"], /weight rounding 'gptq' learns from calibration data, which --data-free never reads; use nearest/],
  ])("%j: one line, exit 2, no output", async (flags, message) => {
    const out = at("bad.onnx");
    expectOneLine(await fixqMain("quantize", CNN, "-o", out, ...flags), message);
    expect(existsSync(out)).toBe(false);
  });

  it("recipe keys: a bad gptqActOrder, adaroundClipCompensation or adaroundExhaustive and a bad per-layer weightRounding name the file", async () => {
    for (const key of ["adaroundClipCompensation", "adaroundExhaustive"]) {
      writeFileSync(at("r3.json"), JSON.stringify({ weightRounding: "adaround", [key]: "yes" }));
      expectOneLine(await fixqMain("quantize", CNN, "-o", at("bad.onnx"), "--recipe", at("r3.json")), new RegExp(`r3\\.json.*${key}`));
    }
    writeFileSync(at("r1.json"), JSON.stringify({ weightRounding: "gptq", gptqActOrder: "yes" }));
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("bad.onnx"), "--recipe", at("r1.json")), /r1\.json.*gptqActOrder/);
    writeFileSync(at("r2.json"), JSON.stringify({ layers: [{ match: { op: "Conv" }, weightRounding: "gtpq" }] }));
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("bad.onnx"), "--recipe", at("r2.json")), /r2\.json.*layers\[0\]\.weightRounding' must be one of nearest, gptq, adaround, got 'gtpq'/);
  });
});
