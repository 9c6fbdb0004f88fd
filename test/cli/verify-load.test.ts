/**
 * `quantize` and `compile` open every model they write in ONNX Runtime first:
 * a model ORT refuses fails with one line and leaves no file behind;
 * `--no-verify-load` writes it anyway, for other runtimes.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { fixq } from "../helpers/fixq-cli.js";
import { graph, model, node, value } from "../ir/builders.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-verify-load-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A QDQ model (re-exported by quantize without calibration) whose last node is an op ONNX Runtime does not know. */
function qdqWithUnknownOp(path: string) {
  const scale = makeFloatTensor("s", [], [0.05]);
  const zp = { name: "zp", dtype: DataType.UINT8, dims: [], raw: Uint8Array.of(128) };
  const m = model(
    graph(
      [
        node("QuantizeLinear", ["x", "s", "zp"], ["xq"], [], "x_Q"),
        node("DequantizeLinear", ["xq", "s", "zp"], ["xd"], [], "x_DQ"),
        node("NoSuchOp", ["xd"], ["y"], [], "mystery"),
      ],
      [value("x", DataType.FLOAT, [1, 4])],
      [value("y", DataType.FLOAT, [1, 4])],
      [scale, zp],
    ),
    13,
  );
  saveModel(m, path);
}

describe("load check on write", () => {
  it("quantize: ORT's refusal is one line naming the node, exit 1, and no file (not even a temporary one)", () => {
    const input = join(tmp, "in.onnx");
    qdqWithUnknownOp(input);
    const out = join(tmp, "out", "q.onnx");
    const r = fixq("quantize", input, "-o", out);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*q\.onnx: nothing written: ONNX Runtime cannot load the model/);
    expect(lines[0]).toContain("NoSuchOp");
    expect(existsSync(out)).toBe(false);
    if (existsSync(join(tmp, "out"))) expect(readdirSync(join(tmp, "out"))).toEqual([]);

    const skipped = fixq("quantize", input, "-o", out, "--no-verify-load");
    expect(skipped.status).toBe(0);
    expect(skipped.stderr).toContain("not opened in ONNX Runtime before writing (--no-verify-load)");
    expect(existsSync(out)).toBe(true);
  });

  it("quantize reports the check in its summary, text and JSON", () => {
    const out = join(tmp, "cnn.q.onnx");
    const text = fixq("quantize", "models/cnn.onnx", "-o", out, "--calib-samples", "32");
    expect(text.status).toBe(0);
    expect(text.stderr).toContain("ONNX Runtime loads it (graph optimizations all)");
    const json = fixq("quantize", "models/cnn.onnx", "-o", out, "--calib-samples", "32", "--format", "fp8-e4m3", "--json");
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).ortLoad).toEqual({ checked: true, optimization: "disabled" });
  });
});
