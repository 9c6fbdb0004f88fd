/**
 * Shared by the `fixq compile --target c|hls` CLI suites: the quantized
 * bundled CNN and N eval images as .npy and raw float32 .bin in a folder,
 * and the check that a generated harness (model_run, csim_run) writes
 * exactly the bytes `fixq emulate --out` / `--out-int` give.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { evalX } from "../helpers/bundled-data.js";
import { run } from "../helpers/c-toolchain.js";
import { fixq } from "../helpers/fixq-cli.js";
import { quantizedCnn } from "../helpers/qdq-models.js";

/** Writes dir/cnn.q.onnx, dir/x.npy and dir/x.bin (the first n eval images). */
export async function writeCnnFixture(dir: string, n: number): Promise<void> {
  const x = evalX.data.subarray(0, n * 784);
  saveModel((await quantizedCnn()).quantized, join(dir, "cnn.q.onnx"));
  writeNpy(join(dir, "x.npy"), { dtype: "f4", shape: [n, 1, 28, 28], data: x });
  writeFileSync(join(dir, "x.bin"), Buffer.from(x.buffer, x.byteOffset, x.byteLength));
}

/** Runs `exe x.bin y.bin --int yi.bin` and expects emulate's floats (bytes) and integers. */
export function expectHarnessEqualsEmulate(exe: string, dir: string): void {
  const path = (name: string) => join(dir, name);
  run(exe, [path("x.bin"), path("y.bin"), "--int", path("yi.bin")]);
  expect(fixq("emulate", path("cnn.q.onnx"), "--data", path("x.npy"), "--out", path("y.npy"), "--out-int", path("yi.npy")).status).toBe(0);
  const y = readNpy(path("y.npy")).data as Float32Array;
  const yi = readNpy(path("yi.npy")).data as Uint8Array;
  expect(readFileSync(path("y.bin")).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))).toBe(true);
  const raw = readFileSync(path("yi.bin"));
  const ints = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  expect(Array.from(ints)).toEqual(Array.from(yi));
}
