/**
 * `fixq quantize` with float formats (--format, --weights/--acts fp8-*, mx*,
 * nvfp4, --fp4-storage): bad input gives one-line usage errors (exit 2) that
 * list the valid names, state the block size a format needs, or name the
 * opset a format needs; good input writes a model that evaluates.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixq } from "../helpers/fixq-cli.js";
import { metadataOf, opsetVersion } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-qfmt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function usageError(args: string[], msg: RegExp) {
  const r = fixq("quantize", "models/mlp.onnx", "-o", join(tmp, "never.onnx"), ...args);
  expect(r.status).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(msg);
}

describe("fixq quantize: float formats, bad input", () => {
  it("an unknown format name lists the valid ones", () => {
    usageError(["--format", "fp7"], /--format must be one of fp8-e4m3, fp8-e5m2, mxfp8, mxfp8-e5m2, mxfp6, mxfp6-e3m2, mxfp4, mxint8, nvfp4, int4-block:N, uint4-block:N, fixed<W,I\[,Q,O\[,N\]\]>, ufixed<…>, fixed<W>; got 'fp7'/);
    usageError(["--weights", "mxfp5"], /--weights must be one of int8, uint8, int4, uint4, int16, int2, int3, int5, int6, int7, int4-block:N, uint4-block:N, fp8-e4m3, .*nvfp4, fixed<W,I\[,Q,O\[,N\]\]>, ufixed<…>, fixed<W>; got 'mxfp5'/);
    usageError(["--acts", "fp8-e3m4"], /--acts must be one of uint8, int8, uint16, int16, fp8-e4m3, .*nvfp4, float, fixed<W,I\[,Q,O\[,N\]\]>, ufixed<…>, fixed<W>; got 'fp8-e3m4'/);
    usageError(["--weights", "fixed<16,6,RND,FOO>"], /^error: --weights 'fixed<16,6,RND,FOO>': unknown overflow mode 'FOO'/);
    usageError(["--acts", "ufixed<8,x>"], /^error: --acts 'ufixed<8,x>': I must be an integer, not 'x'$/);
    usageError(["--weights", "mxfp4", "--fp4-storage", "packed"], /--fp4-storage must be one of native, dequantized; got 'packed'/);
  });

  it("a block size illegal for the format: MX is 32, NVFP4 is 16, FP8 has none", () => {
    usageError(["--weights", "mxfp4:16"], /--weights mxfp4:16: MX blocks are 32 elements \(OCP MX v1\.0\), not 16/);
    usageError(["--format", "nvfp4:32"], /--format nvfp4:32: NVFP4 blocks are 16 elements, not 32/);
    usageError(["--weights", "mxfp8", "--granularity", "per-block:16"], /--granularity per-block:16 does not fit mxfp8 weights: MX blocks are 32 elements .*\(per-block:32\)/);
    usageError(["--weights", "nvfp4", "--granularity", "per-channel"], /--granularity per-channel does not fit nvfp4 weights: NVFP4 blocks are 16 elements \(per-block:16\)/);
    usageError(["--weights", "fp8-e4m3", "--granularity", "per-block:32"], /fp8-e4m3 weights take per-channel or per-tensor scales; for FP8 blocks use --weights mxfp8/);
    usageError(["--weights", "fp8-e5m2:32"], /fp8-e5m2 has per-tensor or per-channel scales, not blocks/);
  });

  it("a format the chosen --opset cannot express names the opset it needs", () => {
    usageError(["--weights", "mxfp4", "--opset", "21"], /mxfp4 weights \(FLOAT4E2M1 DequantizeLinear\) need opset 23; --opset 21 cannot express them/);
    usageError(["--format", "fp8-e4m3", "--opset", "17"], /fp8-e4m3 weights \(FLOAT8 DequantizeLinear\) need opset 19; --opset 17 cannot express them/);
    usageError(["--format", "mxfp8", "--opset", "19"], /mxfp8 weights \(blocked DequantizeLinear\) need opset 21/);
    usageError(["--weights", "int4", "--opset", "13"], /int4 formats \(QuantizeLinear\/DequantizeLinear-21\) need opset 21; --opset 13/);
    usageError(["--weights", "mxfp6"], /mxfp6 weights: no ONNX opset \(up to 25\) lets DequantizeLinear read FLOAT6 tensors; use --fp4-storage dequantized/);
  });

  it("--eval of native FP4 weights, which ONNX Runtime cannot run, says how to evaluate them", () => {
    usageError(["--weights", "nvfp4", "--eval"], /--eval: ONNX Runtime cannot run FLOAT4E2M1 weights \(nvfp4\); add --fp4-storage dequantized to evaluate/);
  });

  it("--weight-bits is for integer weights", () => {
    usageError(["--weights", "fp8-e4m3", "--weight-bits", "7"], /--weight-bits applies to integer weights, not fp8-e4m3/);
  });
});

describe("fixq quantize: float formats", () => {
  it("--format mxfp8 --eval: runs in ORT, the note says how, the recipe is recorded", () => {
    const out = join(tmp, "mlp.mxfp8.onnx");
    const r = fixq("quantize", "models/mlp.onnx", "-o", out, "--format", "mxfp8", "--calib-samples", "64", "--eval");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/note {2}ONNX Runtime \(CPU\) has no FP8\/MX\/NVFP4 kernels/);
    expect(r.stdout).toMatch(/^top-1 on 2000 samples: float \d+\.\d\d%, quantized \d+\.\d\d% in ORT \(DequantizeLinear \+ float ops\)/);
    const m = loadModel(out);
    expect(opsetVersion(m)).toBe(21);
    const recipe = JSON.parse(Object.fromEntries(metadataOf(m))["fixq.recipe"]!);
    expect([recipe.weights, recipe.acts, recipe.granularity, recipe.weightFormat, recipe.actFormat]).toEqual(["mxfp8", "mxfp8", "per-block:32", "mxfp8", "mxfp8"]);
  });

  it("--weights nvfp4 --acts fp8-e4m3 --fp4-storage dequantized --json evaluates; --format int4-block:128 is int4 weights per-block:128", () => {
    const r = fixq("quantize", "models/mlp.onnx", "-o", join(tmp, "mlp.nvfp4.onnx"), "--weights", "nvfp4", "--acts", "fp8-e4m3", "--fp4-storage", "dequantized", "--calib-samples", "64", "--eval", "--json");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.recipe.fp4Storage).toBe("dequantized");
    expect(s.eval.agreement).toBeGreaterThan(0.95);
    const out = join(tmp, "mlp.int4b.onnx");
    const b = fixq("quantize", "models/mlp.onnx", "-o", out, "--format", "int4-block:128", "--calib-samples", "64", "--json");
    expect(b.status).toBe(0);
    expect(JSON.parse(b.stdout).recipe).toMatchObject({ weights: "int4", acts: "uint8", granularity: "per-block:128" });
  });
});
