/** `fixq quantize --target-cpu` and the CPU note, run as a user would. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { metadataOf } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { detectCpu } from "../../src/runtime/cpu-features.js";
import { fixq } from "../helpers/fixq-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-cpu-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const maxAbsWeightCode = (path: string): number => {
  const g = loadModel(path).graph!;
  let max = 0;
  for (const t of g.initializers) if (t.dtype === DataType.INT8 && t.dims.length >= 2) for (const v of tensorToFloat64(t)) max = Math.max(max, Math.abs(v));
  return max;
};

describe("fixq quantize --target-cpu", () => {
  it("vnni writes full 8-bit weights, portable [-64, 64]; the JSON summary names the detected CPU", () => {
    const [vnni, portable] = [join(tmp, "vnni.onnx"), join(tmp, "portable.onnx")];
    const r = fixq("quantize", "models/mlp.onnx", "-o", vnni, "--calib-samples", "64", "--target-cpu", "vnni", "--json");
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.cpu).toEqual({ model: detectCpu().model, arch: detectCpu().arch, features: detectCpu().features, u8s8: detectCpu().u8s8 });
    expect(JSON.parse(Object.fromEntries(metadataOf(loadModel(vnni)))["fixq.recipe"]!)).toMatchObject({ targetCpu: "vnni", weightBits: 8 });
    expect(maxAbsWeightCode(vnni)).toBe(127);
    expect(fixq("quantize", "models/mlp.onnx", "-o", portable, "--calib-samples", "64").status).toBe(0);
    expect(maxAbsWeightCode(portable)).toBe(64);
  });

  it(`warns about full 8-bit weights exactly when this CPU saturates (${detectCpu().summary})`, () => {
    const r = fixq("quantize", "models/mlp.onnx", "-o", join(tmp, "w8.onnx"), "--calib-samples", "64", "--weight-bits", "8");
    expect(r.status, r.stderr).toBe(0);
    const warned = /saturates ONNX Runtime's u8×s8 int16 pair sums/.test(r.stderr);
    expect(warned).toBe(detectCpu().u8s8 === "saturating-int16-pairs");
  });

  it("refuses an unknown CPU name with one line, exit 2", () => {
    const r = fixq("quantize", "models/mlp.onnx", "-o", join(tmp, "x.onnx"), "--target-cpu", "avx9");
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--target-cpu must be one of portable, vnni, native, got 'avx9'/);
  });
});
