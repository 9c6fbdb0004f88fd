/**
 * The CLI on torch seq-first encoder exports: `quantize --calib` and `--eval`
 * count samples along the batch (axis 1 of x [5, N, 32]), not sequence
 * positions; the export with src_key_padding_mask takes x and the bool mask
 * [N, 5] from one .npz, and `fixq emulate` reads the same file (the mask as
 * 0/1) and writes what the integer program computes; `fixq eval --engine
 * emulator` takes it too, within 0.5 dB of the QDQ model's SQNR.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { writeNpz } from "../../src/io/npz.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { fixq } from "../helpers/fixq-cli.js";
import { PADMASK, padmaskFeeds, padmaskInputs } from "../helpers/padmask-fixture.js";
import { ENCODERS, encoderInputs, encoderPath, modelTensor, programLayout, SEQ } from "../helpers/torch-encoder-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "fixq-padmask-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const N = 6;

describe("CLI on seq-first encoder exports", () => {
  it("seq-first.onnx: calibration counts the 6 samples of x [5, 6, 32], not its 5 positions", () => {
    const f = ENCODERS[0]!;
    const t = modelTensor(f, encoderInputs(f, N, 31), N);
    writeNpy(join(dir, "x.npy"), { dtype: "f4", shape: [...t.dims], data: t.data as Float32Array });
    const r = fixq("quantize", encoderPath(f.file), "--calib", join(dir, "x.npy"), "-o", join(dir, "sf.q.onnx"), "--eval", join(dir, "x.npy"));
    expect(r.status, r.stderr).toBe(0);
    // the summary goes to stderr, the evaluation to stdout
    expect(r.stderr).toMatch(/calibrated on 6 samples/);
    expect(r.stdout).toMatch(/^on 6 samples/m);
  }, 120_000);

  it("padmask.onnx: x and the bool mask from one .npz; emulate reads the same file and equals the program", () => {
    const s = padmaskInputs(N, 32);
    const feeds = padmaskFeeds(s, N);
    const npz = join(dir, "xm.npz");
    writeNpz(npz, { x: { dtype: "f4", shape: [...feeds.x!.dims], data: feeds.x!.data as Float32Array }, mask: { dtype: "b1", shape: [N, SEQ], data: feeds.mask!.data as Uint8Array } });
    const q = join(dir, "pm.q.onnx");
    const r = fixq("quantize", encoderPath(PADMASK.file), "--calib", npz, "-o", q, "--eval", npz);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/calibrated on 6 samples/);
    expect(r.stderr).toMatch(/Add: adds the attention mask of input 'mask'/);
    const e = fixq("emulate", q, "--data", npz, "--out", join(dir, "y.npy"));
    expect(e.status, e.stderr).toBe(0);
    const y = readNpy(join(dir, "y.npy"));
    expect(y.shape).toEqual([SEQ, N, 32]);
    const want = runProgram(integerizeModel(loadModel(q)), new Map([["x", s.x], ["mask", s.mask]]), N).outputs.get("y")!;
    expect([...programLayout(PADMASK, y.data as Float32Array, N)]).toEqual([...want]);
    // eval's emulator engine takes the bool mask too (as 0/1), next to ORT running the QDQ model
    const v = fixq("eval", encoderPath(PADMASK.file), q, "--data", npz, "--engine", "emulator", "--json");
    expect(v.status, v.stderr).toBe(0);
    const doc = JSON.parse(v.stdout);
    const m = doc.metrics;
    expect([m.candidate.all.engine, doc.inputs.samples]).toEqual(["emulator", N]);
    // the emulator (all) and the fake-quant QDQ model in ORT (disabled), both against float
    expect(m.candidate.all.sqnrDb).toBeGreaterThan(25);
    expect(Math.abs(m.candidate.all.sqnrDb - m.candidate.disabled.sqnrDb)).toBeLessThan(0.5);
  }, 120_000);
});
