/** The C back end refuses the transformer ops by name (src/backends/c/transformer-refusal.ts) until it implements them. */
import { describe, expect, it } from "vitest";
import { checkC, emitC } from "../../../src/backends/c/emit.js";
import { I32, ProgramBuilder, U8 } from "../js/program-builder.js";

describe("C back end and the transformer ops", () => {
  it("checks and refuses a matmul of two activations, naming the op", () => {
    const b = new ProgramBuilder();
    const a = b.input([2, 3], U8, Math.fround(0.1), 0);
    const c = b.input([3, 2], U8, Math.fround(0.1), 0);
    b.values.set("acc", { name: "acc", shape: [2, 2], type: I32 });
    b.ops.push({ kind: "matmul", source: "MatMul '/attn/mm'", inputs: [a, c], output: "acc", inputZeros: [0, 0] });
    b.output(b.requant("acc", [{ m: 1518500250, s: 45 }], 0, U8, 0), Math.fround(0.05));
    const p = b.build();
    expect(checkC(p).map((d) => d.message)).toEqual(["the C back end does not implement matmul ops yet (the emulator, --target js and --target onnx-int run them)"]);
    expect(() => emitC(p)).toThrow(/c back end cannot run matmul op 2: the C back end does not implement matmul ops yet/);
  });
});
