/**
 * `--mixed` with `--rotate` or `--smooth`: the sensitivities, the ILP and
 * the local search run on the rotated or smoothed float model, the one that
 * is quantized and written. Checked from outside: with the search scoring
 * only the ILP optimum (`--mixed-search 1`), its reported calibration error
 * must be the KL divergence between the float model's softmax and the
 * written model's on the same calibration samples, computed here with
 * ONNX Runtime directly. (Measured on the untransformed model, as before,
 * it would be the error of a different quantized model.)
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy } from "../../src/io/npy.js";
import { fixq } from "../helpers/fixq-cli.js";
import { firstOutput, meanSoftmaxKl } from "../helpers/softmax-kl.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-mixed-tf-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SAMPLES = 48;

const logits = (path: string, x: Float32Array, dims: number[]) => firstOutput(path, { dims, data: x });

describe("fixq quantize --mixed with --rotate / --smooth", () => {
  const calib = readNpy("models/data/calib.npy");
  const dims = [SAMPLES, ...calib.shape.slice(1)];
  const x = (calib.data as Float32Array).slice(0, dims.reduce((a, b) => a * b, 1));
  for (const flag of [["--rotate"], ["--smooth", "0.5"]]) {
    it(`${flag[0]}: the search scores the very model that is written`, async () => {
      const out = join(tmp, `vit${flag[0]}.onnx`);
      const r = fixq("quantize", "models/vit.onnx", "-o", out, ...flag, "--calib-samples", String(SAMPLES), "--mixed", "int4,int8", "--budget", "size=70%", "--sensitivity-samples", "16", "--mixed-search", "1", "--sensitivity-cache", join(tmp, "cache"), "--json");
      expect(r.status, r.stderr).toBe(0);
      const m = JSON.parse(r.stdout).mixed as { search: { evaluations: number; ilp: { measured: number } } };
      expect(m.search.evaluations).toBe(1);
      const [f, q] = [await logits("models/vit.onnx", x, dims), await logits(out, x, dims)];
      const kl = meanSoftmaxKl(f, q, SAMPLES);
      expect(kl).toBeGreaterThan(0);
      expect(Math.abs(m.search.ilp.measured - kl) / kl).toBeLessThan(0.01);
    }, 240_000);
  }

  it("--rotate online with --mixed is refused in one line, exit 2, nothing written", () => {
    const out = join(tmp, "online.onnx");
    const r = fixq("quantize", "models/vit.onnx", "-o", out, "--rotate", "online", "--mixed", "int4,int8", "--budget", "size=70%");
    expect([r.status, r.stderr.trim().split("\n")]).toEqual([2, ["error: --rotate online and --mixed do not combine: the inserted Hadamard MatMuls need int8 weights, and --mixed would choose their formats (use --rotate folded)"]]);
    expect(existsSync(out)).toBe(false);
  });
});
