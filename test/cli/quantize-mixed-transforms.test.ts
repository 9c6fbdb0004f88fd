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
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy } from "../../src/io/npy.js";
import { fixq } from "../helpers/fixq-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-mixed-tf-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SAMPLES = 48;

async function logits(path: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  try {
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", x, dims) });
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Mean over rows of KL(softmax(p) ‖ softmax(q)), written out here. */
function meanKl(p: Float32Array, q: Float32Array, cols: number): number {
  const rows = p.length / cols;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const lse = (v: Float32Array) => {
      const row = Array.from(v.subarray(r * cols, (r + 1) * cols));
      const m = Math.max(...row);
      return m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    };
    const [lp, lq] = [lse(p), lse(q)];
    for (let j = 0; j < cols; j++) {
      const a = p[r * cols + j]! - lp;
      total += Math.exp(a) * (a - (q[r * cols + j]! - lq));
    }
  }
  return total / rows;
}

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
      const kl = meanKl(f, q, f.length / SAMPLES);
      expect(kl).toBeGreaterThan(0);
      expect(Math.abs(m.search.ilp.measured - kl) / kl).toBeLessThan(0.01);
    }, 240_000);
  }
});
