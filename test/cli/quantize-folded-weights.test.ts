/**
 * A weight an export computes from an initializer is quantized as a weight:
 * libonnx-testdata's torch Linear without bias (IR 3) feeds MatMul through
 * Transpose(W). `fixq quantize` folds the Transpose (passes/fold-constants.ts),
 * so the weight gets the per-channel int8 format, and the model then goes
 * through `fixq emulate`, `compile --target onnx-int` (run in ONNX Runtime)
 * and `compile --target c` (built and run) to the same bits. Skips with a
 * notice when libonnx-testdata, gcc or make is absent (fails instead with
 * FIXQ_REQUIRE_DATA=1).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { run, tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { fixq } from "../helpers/fixq-cli.js";
import { runModelFile } from "../helpers/ort-run.js";
import { Rng } from "../helpers/prng.js";
import { dataAvailable } from "../helpers/require-data.js";

const MODEL = "/usr/share/libonnx-testdata/data/pytorch-converted/test_Linear_no_bias/model.onnx";
const present = dataAvailable(MODEL, "libonnx-testdata (Debian package libonnx-testdata)");
const HAVE_C = present && toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-folded-weights-");
afterAll(tmp.remove);
const path = (name: string) => join(tmp.dir, name);
const N = 64; // samples of 10 features; the model itself takes a fixed batch of 4

function writeData(): Float32Array {
  const rng = new Rng(3);
  const x = Float32Array.from({ length: N * 10 }, () => rng.float() * 2 - 1);
  writeNpy(path("x.npy"), { dtype: "f4", shape: [N, 10], data: x });
  writeFileSync(path("x.bin"), Buffer.from(x.buffer));
  return x;
}

describe.skipIf(!present)("fixq quantize: Transpose of an initializer feeding MatMul (libonnx test_Linear_no_bias)", () => {
  const x = present ? writeData() : new Float32Array(0);

  it("quantizes the folded weight per channel as int8, with no float Transpose left, and ORT runs it close to the float model", async () => {
    const r = fixq("quantize", MODEL, "--calib", path("x.npy"), "-o", path("q.onnx"), "--json");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.passes.map((p: { pass: string }) => p.pass)).toContain("fold-constants");
    const weights = s.formats.filter((f: { role: string }) => f.role === "weight");
    expect(weights).toEqual([expect.objectContaining({ tensor: "2", granularity: "per-channel", format: expect.stringMatching(/^int8/) })]);
    const q = loadModel(path("q.onnx")).graph!;
    expect(q.nodes.some((n) => n.opType === "Transpose")).toBe(false);
    const feeds = { "0": new ort.Tensor("float32", x.slice(0, 40), [4, 10]) };
    const want = (await runModelFile(MODEL, feeds))["3"]!.data as Float32Array;
    const got = (await runModelFile(path("q.onnx"), feeds))["3"]!.data as Float32Array;
    const peak = Math.max(...want.map(Math.abs));
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(0.05 * peak);
  });

  it("emulate, compile --target onnx-int (in ORT) and compile --target c (built, run) give the same bits", async () => {
    expect(fixq("emulate", path("q.onnx"), "--data", path("x.npy"), "--out", path("y.npy")).status).toBe(0);
    const y = readNpy(path("y.npy")).data as Float32Array;
    expect(y).toHaveLength(N * 8);
    expect(fixq("compile", path("q.onnx"), "--target", "onnx-int", "-o", path("qi.onnx")).status).toBe(0);
    const yi = (await runModelFile(path("qi.onnx"), { "0": new ort.Tensor("float32", x.slice(0, 40), [4, 10]) }))["3"]!.data as Float32Array;
    expect(Buffer.from(yi.buffer, yi.byteOffset, yi.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, 4 * 8 * 4))).toBe(true);
    if (!HAVE_C) return;
    const c = fixq("compile", path("q.onnx"), "--target", "c", "-o", path("c"));
    expect(c.stderr).toBe("");
    expect(c.status).toBe(0);
    run("make", ["-s", "-C", path("c")]);
    run(path("c/model_run"), [path("x.bin"), path("y.bin")]);
    expect(readFileSync(path("y.bin")).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))).toBe(true);
  });
});
