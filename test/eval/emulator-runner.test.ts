/**
 * The emulator engine of `fixq eval` takes data in the model's layout. For a
 * torch seq-first encoder (x [5, N, 32], the program per sample [5, 32],
 * `batchAxis` 1) it moves the samples to the front and back: its output equals
 * the program run on the same samples laid out samples-first, also at N = 5,
 * where the two layouts have the same shape and a runner reading axis 0 as the
 * batch would silently compute on sequence positions. For the fixed-batch
 * export (one program sample is one whole run [5, 3, 32]) it takes runs
 * stacked along axis 0, as the data binding feeds them.
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { emulatorRunner } from "../../src/eval/emulator-runner.js";
import { ENCODERS, encoderInputs, encoderProgram, modelTensor, programLayout } from "../helpers/torch-encoder-fixture.js";

describe("emulatorRunner: the model's layout", () => {
  it.each([ENCODERS[0]!, ENCODERS[3]!])("$file", async (f) => {
    const { qdq, program } = await encoderProgram(f);
    expect(program.inputs[0]!.batchAxis).toBe(f.batchAxis === 1 ? 1 : undefined);
    const runner = emulatorRunner(qdq);
    for (const n of [5, 7]) {
      const x = encoderInputs(f, n, 10 + n);
      const want = runProgram(program, new Map([["x", x]]), n).outputs.get("y")!;
      const got = (await runner.run({ x: modelTensor(f, x, n) }))["y"]!;
      expect(got.dims).toEqual(modelTensor(f, want, n).dims);
      expect([...programLayout(f, got.data as Float32Array, n)]).toEqual([...want]);
    }
  }, 120_000);
});
