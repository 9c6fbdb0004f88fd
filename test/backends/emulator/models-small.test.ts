import { describe, it } from "vitest";
import { runProgram } from "../../../src/backends/emulator/run.js";
import { integerizeModel } from "../../../src/integer/integerize.js";
import { evalX } from "../../helpers/bundled-data.js";
import { expectSame } from "./check.js";
import { describeModels, quantized } from "./model-checks.js";

describeModels(["mlp", "cnn", "resnet", "resnet.bn"]);

describe("emulator engines on resnet with other integerize options", () => {
  it.each([
    [{ rounding: "double" as const }],
    [{ multiplierBits: 16 }],
    [{ rounding: "double" as const, multiplierBits: 31 }],
  ])("%o: the SIMD engine gives the JS engine's (numerics') bits", async (opts) => {
    const p = integerizeModel(await quantized("resnet"), opts);
    const out = p.outputs[0]!.name;
    const feeds = new Map([[p.inputs[0]!.name, evalX.data.subarray(0, 24 * 784)]]);
    const simd = runProgram(p, feeds, 24, { simd: true });
    const js = runProgram(p, feeds, 24, { simd: false });
    expectSame(simd.ints.get(out)!, js.ints.get(out)!, `${JSON.stringify(opts)} ints`);
    expectSame(simd.outputs.get(out)!, js.outputs.get(out)!, `${JSON.stringify(opts)} floats`);
  });
});
