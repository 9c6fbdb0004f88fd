/**
 * `fixq emulate` on a torch seq-first encoder (x [5, N, 32]): the data file
 * is in the model's layout, samples along axis 1 as for `quantize --calib`,
 * and so is the output file; they equal the program run on the same samples
 * laid out samples first. An array in the program's layout ([N, 5, 32]) does
 * not fit and is named with the shape wanted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { fixq } from "../helpers/fixq-cli.js";
import { ENCODERS, encoderInputs, encoderProgram, modelTensor, programLayout } from "../helpers/torch-encoder-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "fixq-emulate-axis-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("emulate: a model whose samples run along axis 1", () => {
  it("reads and writes the model's layout", async () => {
    const f = ENCODERS[0]!;
    const { qdq, program } = await encoderProgram(f);
    const model = join(dir, "enc.q.onnx");
    saveModel(qdq, model);
    const n = 5;
    const x = encoderInputs(f, n, 21);
    const t = modelTensor(f, x, n);
    writeNpy(join(dir, "x.npy"), { dtype: "f4", shape: [...t.dims], data: t.data as Float32Array });
    const r = fixq("emulate", model, "--data", join(dir, "x.npy"), "--out", join(dir, "y.npy"));
    expect(r.status, r.stderr).toBe(0);
    const y = readNpy(join(dir, "y.npy"));
    expect(y.shape).toEqual([5, n, 32]);
    const want = runProgram(program, new Map([["x", x]]), n).outputs.get("y")!;
    expect([...programLayout(f, y.data as Float32Array, n)]).toEqual([...want]);
    writeNpy(join(dir, "xp.npy"), { dtype: "f4", shape: [7, 5, 32], data: encoderInputs(f, 7, 22) });
    const bad = fixq("emulate", model, "--data", join(dir, "xp.npy"), "--out", join(dir, "yp.npy"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/array of shape \[7,5,32\] does not fit input 'x' of shape \[5,N,32\]/);
  }, 120_000);
});
