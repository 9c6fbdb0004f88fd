/**
 * Every transformer deployment path on the BERT-style fixture (int64 ids and
 * mask, shape arithmetic, Gather embeddings, post-LN encoder, Erf GELU,
 * Softmax): dynamic uint8 activations and MatMulNBits int4 are written, load
 * in ONNX Runtime and keep the float model's output (SQNR on generated
 * inputs); --smooth refuses this post-LN model with its reason (every norm
 * also feeds a residual Add, so nothing folds). Static QDQ is the corpus test's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CORPUS, runCorpusCase } from "../helpers/corpus.js";

const dir = mkdtempSync(join(tmpdir(), "fixq-bert-transformer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bert = CORPUS.find((c) => c.name.startsWith("BERT"))!;

describe("BERT-style model, transformer paths", () => {
  it.each([
    ["dynamic-uint8", ["--acts", "dynamic-uint8"], /dynamic-uint8 {2}14 MatMul\/Gemm layers/, 30],
    ["MatMulNBits int4 block 32", ["--weights", "int4", "--granularity", "per-block:32", "--acts", "float", "--weight-only-op", "matmulnbits"], /MatMulNBits {2}14 layers \(4-bit block 32\)/, 15],
  ] as const)("%s: written, loads in ORT, SQNR above its floor", { timeout: 240_000 }, async (_, args, line, minSqnr) => {
    const row = await runCorpusCase(bert, dir, { calibSamples: 16, evalSamples: 32, extraArgs: [...args] });
    expect(row.status, row.stderr).toBe(0);
    expect(row.stderr).toMatch(line);
    expect(row.ortLoads, row.ortError).toBe(true);
    expect(row.sqnrDb!).toBeGreaterThan(minSqnr);
  });

  it("--smooth refuses the post-LN encoder with its reason, writing nothing", { timeout: 240_000 }, async () => {
    const fresh = mkdtempSync(join(dir, "smooth-"));
    const row = await runCorpusCase(bert, fresh, { calibSamples: 16, evalSamples: 16, extraArgs: ["--smooth", "0.5"] });
    expect(row.status).toBe(1);
    expect(row.stderr).toMatch(/^error: --smooth: no LayerNormalization feeds only MatMul\/Gemm layers with constant weights/m);
    expect(row.written).toBe(false);
  });
});
