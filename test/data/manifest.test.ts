/**
 * bundledModelFor: a bundled model is recognised by its file, reached
 * directly, through `..`, or through a symlink (a linked models/ folder, a
 * package installed by `npm link`); any other file is not bundled.
 */
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundledModelFor, MODELS_DIR } from "../../src/data/manifest.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-manifest-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("bundledModelFor", () => {
  it("finds models/resnet.onnx by its path, through '..' and through a symlinked folder", () => {
    symlinkSync(MODELS_DIR, join(tmp, "linked-models"));
    for (const p of [join(MODELS_DIR, "resnet.onnx"), join(MODELS_DIR, "data", "..", "resnet.onnx"), join(tmp, "linked-models", "resnet.onnx")]) {
      expect(bundledModelFor(p)?.file, p).toBe("resnet.onnx");
    }
  });

  it("does not take a copy, or a missing file, for the bundled model", () => {
    copyFileSync(join(MODELS_DIR, "resnet.onnx"), join(tmp, "resnet.onnx"));
    expect(bundledModelFor(join(tmp, "resnet.onnx"))).toBeUndefined();
    expect(bundledModelFor(join(tmp, "missing.onnx"))).toBeUndefined();
  });
});
