/**
 * `fixq quantize --weight-only-op matmulnbits`: the written file holds
 * MatMulNBits nodes and no DequantizeLinear feeding a MatMul; wrong
 * combinations are usage errors (exit 2, one line, nothing written).
 * `--int4-grid full` writes no zero points and negative scales.
 * `--acts dynamic-uint8` writes DynamicQuantizeLinear + MatMulInteger.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-nbits-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const MLP = join(MODELS_DIR, "mlp.onnx");

describe("quantize --weight-only-op", () => {
  it("writes MatMulNBits for int4 blocks with float activations", async () => {
    const out = join(tmp, "mlp.nbits.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, "--weights", "int4", "--granularity", "per-block:16", "--acts", "float", "--weight-only-op", "matmulnbits", "--nbits-accuracy-level", "4", "--calib-samples", "32");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/MatMulNBits {2}\d+ layers \(4-bit block 16\)/);
    // The note says how ORT runs these layers: its n-bit kernels, not DequantizeLinear + float ops.
    expect(r.stderr).toContain("MatMulNBits kernels");
    expect(r.stderr).not.toContain("DequantizeLinear + float ops");
    const nodes = loadModel(out).graph!.nodes;
    const nbits = nodes.filter((n) => n.opType === "MatMulNBits");
    expect(nbits.length).toBeGreaterThan(0);
    expect(nbits.every((n) => n.domain === "com.microsoft" && n.attributes.some((a) => a.name === "accuracy_level" && Number(a.i) === 4))).toBe(true);
    expect(nodes.some((n) => n.opType === "MatMul" || n.opType === "Gemm")).toBe(false);
  }, 60_000);

  it("--int4-grid full writes MatMulNBits without zero points, with negative block scales where a block's extreme is positive", async () => {
    const out = join(tmp, "mlp.full.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, "--weights", "int4", "--granularity", "per-block:16", "--acts", "float", "--weight-only-op", "matmulnbits", "--int4-grid", "full", "--calib-samples", "32");
    expect(r.status, r.stderr).toBe(0);
    const g = loadModel(out).graph!;
    const nbits = g.nodes.filter((n) => n.opType === "MatMulNBits");
    expect(nbits.length).toBeGreaterThan(0);
    expect(nbits.every((n) => !n.inputs[3])).toBe(true); // no zero points input: the implicit 8
    const scales = nbits.flatMap((n) => Array.from(tensorToFloat64(g.initializers.find((t) => t.name === n.inputs[2])!)));
    expect(scales.some((s) => s < 0) && scales.some((s) => s > 0)).toBe(true);
  }, 60_000);

  it("--acts dynamic-uint8 writes DynamicQuantizeLinear + MatMulInteger for every layer", async () => {
    const out = join(tmp, "mlp.dyn.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, "--acts", "dynamic-uint8", "--calib-samples", "32");
    expect(r.status, r.stderr).toBe(0);
    const ops = loadModel(out).graph!.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === "DynamicQuantizeLinear").length).toBe(ops.filter((o) => o === "MatMulInteger").length);
    expect(ops.some((o) => o === "MatMul" || o === "Gemm" || o === "DequantizeLinear")).toBe(false);
  }, 60_000);

  it.each([
    [["--acts", "dynamic-uint8", "--weights", "int4"], /--acts dynamic-uint8 takes int8 weights, not int4/],
    [["--acts", "dynamic-uint8", "--weight-only-op", "matmulnbits"], /--acts dynamic-uint8 writes MatMulInteger layers: drop --weight-only-op/],
    [["--smooth", "1.5"], /--smooth expects α in \(0, 1\), got '1.5'/],
    [["--weights", "int4", "--granularity", "per-block:16", "--int4-grid", "full"], /--int4-grid full is for weight-only int4 blocks: it needs --weights int4 --granularity per-block:N --acts float/],
    [["--weights", "int4", "--granularity", "per-block:16", "--acts", "float", "--int4-grid", "wide"], /--int4-grid must be symmetric or full, got 'wide'/],
  ])("%j is a usage error", async (flags, message) => {
    const out = join(tmp, "bad-dyn.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, ...flags);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [["--weight-only-op", "gguf"], /--weight-only-op expects qdq \| matmulnbits, got 'gguf'/],
    [["--weight-only-op", "matmulnbits"], /writes weight-only layers: add --acts float \(not uint8\)/],
    [["--acts", "float", "--weight-only-op", "matmulnbits", "--nbits-accuracy-level", "7"], /--nbits-accuracy-level expects 0…4, got '7'/],
    [["--nbits-accuracy-level", "4"], /--nbits-accuracy-level needs --weight-only-op matmulnbits/],
  ])("%j is a usage error", async (flags, message) => {
    const out = join(tmp, "bad.onnx");
    const r = await fixqMain("quantize", MLP, "-o", out, "--weights", "int4", "--granularity", "per-block:16", ...flags);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});
