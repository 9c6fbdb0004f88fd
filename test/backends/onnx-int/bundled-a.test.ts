/**
 * Bundled models (mlp cnn resnet), default recipe: the integer-only ONNX export run by
 * ONNX Runtime equals the emulator bit for bit, raw integers and floats, on
 * the eval set, random and extreme inputs (see bundled.ts); the export
 * passes the integer-only proof.
 */
import { describe, expect, it } from "vitest";
import { checkBundledModel } from "./bundled.js";

describe("integer ONNX export of the bundled models", () => {
  for (const name of ["mlp", "cnn", "resnet"]) {
    it(`${name}: ORT equals the emulator bit for bit`, async () => {
      const r = await checkBundledModel(name);
      expect(r.problems).toEqual([]);
      expect(r.samples["eval"]).toBe(2000);
      expect(r.compared).toBeGreaterThan(0);
      expect({ ints: r.intMismatches, floats: r.floatMismatches }).toEqual({ ints: 0, floats: 0 });
    }, 60_000);
  }
});
