import { describe, it } from "vitest";
import type { ConcatOp, IntOp, MaxPoolOp, ProgramValue, SumPoolOp, TransposeOp } from "../../../src/integer/program.js";
import { Rng } from "../../helpers/prng.js";
import { checkInt } from "./check.js";
import { acc, act, type InputSpec, INT8, makeProgram, randomActType, randomFeeds, UINT8 } from "./programs.js";

function poolCase(rng: Rng, kind: "sumpool" | "maxpool"): { ops: IntOp[]; values: ProgramValue[]; input: InputSpec; out: string } {
  for (;;) {
    const c = rng.range(1, 5);
    const kernel: [number, number] = [rng.range(1, 4), rng.range(1, 4)];
    const strides: [number, number] = [rng.range(1, 3), rng.range(1, 3)];
    const dilations: [number, number] = kind === "maxpool" ? [rng.range(1, 2), rng.range(1, 2)] : [1, 1];
    const pads: [number, number, number, number] = [rng.range(0, 1), rng.range(0, 1), rng.range(0, 1), rng.range(0, 1)];
    const ekh = (kernel[0] - 1) * dilations[0] + 1;
    const ekw = (kernel[1] - 1) * dilations[1] + 1;
    const h = rng.range(Math.max(1, ekh - pads[0] - pads[2]), 12);
    const w = rng.range(Math.max(1, ekw - pads[1] - pads[3]), 12);
    const oh = Math.floor((h + pads[0] + pads[2] - ekh) / strides[0]) + 1;
    const ow = Math.floor((w + pads[1] + pads[3] - ekw) / strides[1]) + 1;
    // MaxPool windows entirely in the padding are not ONNX-valid; draw again
    const emptyWindow = (o: number, s: number, p: number, d: number, k: number, n: number) => {
      for (let i = 0; i < o; i++) {
        let any = false;
        for (let t = 0; t < k; t++) {
          const y = i * s - p + t * d;
          if (y >= 0 && y < n) any = true;
        }
        if (!any) return true;
      }
      return false;
    };
    if (emptyWindow(oh, strides[0], pads[0], dilations[0], kernel[0], h) || emptyWindow(ow, strides[1], pads[1], dilations[1], kernel[1], w)) continue;
    const { type, zeroPoint } = randomActType(rng, true);
    const input: InputSpec = { name: "x", shape: [c, h, w], type, zeroPoint };
    if (kind === "sumpool") {
      const op: SumPoolOp = { kind, source: "AveragePool 'p'", input: "x", output: "s", inputZero: zeroPoint, kernel, strides, pads };
      return { ops: [op], values: [acc("s", [c, oh, ow])], input, out: "s" };
    }
    const op: MaxPoolOp = { kind, source: "MaxPool 'p'", input: "x", output: "m", kernel, strides, pads, dilations };
    return { ops: [op], values: [act("m", [c, oh, ow], type, zeroPoint)], input, out: "m" };
  }
}

describe("pool kernels", () => {
  for (const kind of ["sumpool", "maxpool"] as const) {
    it(`${kind} matches the reference on random windows, strides, pads${kind === "maxpool" ? ", dilations" : ""} and types`, () => {
      const rng = new Rng(kind === "sumpool" ? 11 : 12);
      for (let t = 0; t < 40; t++) {
        const { ops, values, input, out } = poolCase(rng, kind);
        const p = makeProgram([input], ops, values, [out]);
        const batch = rng.range(1, 5);
        checkInt(p, randomFeeds(rng, [input], batch), batch, `${kind} case ${t}`);
      }
    });
  }

  it("2×2 stride-2 max pooling (the vector kernel) on odd and even sizes", () => {
    const rng = new Rng(14);
    for (let t = 0; t < 20; t++) {
      const [c, h, w] = [rng.range(1, 5), rng.range(2, 19), rng.range(2, 19)];
      const { type, zeroPoint } = randomActType(rng, true);
      const input: InputSpec = { name: "x", shape: [c, h, w], type, zeroPoint };
      const op: MaxPoolOp = { kind: "maxpool", source: "MaxPool '2x2'", input: "x", output: "m", kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] };
      const p = makeProgram([input], [op], [act("m", [c, Math.floor(h / 2), Math.floor(w / 2)], type, zeroPoint)], ["m"]);
      const batch = rng.range(1, 4);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `maxpool 2×2 case ${t}`);
    }
  });

  it("global sum pooling over a whole plane", () => {
    const rng = new Rng(13);
    const input: InputSpec = { name: "x", shape: [7, 5, 6], type: UINT8, zeroPoint: 131 };
    const op: SumPoolOp = { kind: "sumpool", source: "GlobalAveragePool 'g'", input: "x", output: "s", inputZero: 131, kernel: [5, 6], strides: [1, 1], pads: [0, 0, 0, 0] };
    const p = makeProgram([input], [op], [acc("s", [7, 1, 1])], ["s"]);
    checkInt(p, randomFeeds(rng, [input], 9), 9, "global sumpool");
  });
});

describe("movement kernels", () => {
  it("transpose matches the reference on random ranks and permutations", () => {
    const rng = new Rng(21);
    for (let t = 0; t < 30; t++) {
      const rank = rng.range(1, 4);
      const shape = Array.from({ length: rank }, () => rng.range(1, 5));
      const perm = Array.from({ length: rank }, (_, i) => i);
      for (let i = rank - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const input: InputSpec = { name: "x", shape, type: INT8, zeroPoint: -3 };
      const op: TransposeOp = { kind: "transpose", source: "Transpose 't'", input: "x", output: "y", perm };
      const p = makeProgram([input], [op], [act("y", perm.map((a) => shape[a]!), INT8, -3)], ["y"]);
      const batch = rng.range(1, 4);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `transpose case ${t}`);
    }
  });

  it("concat matches the reference along every axis, with reshape aliases feeding it", () => {
    const rng = new Rng(22);
    for (let t = 0; t < 30; t++) {
      const rank = rng.range(1, 3);
      const axis = rng.int(rank);
      const base = Array.from({ length: rank }, () => rng.range(1, 4));
      const n = rng.range(1, 3);
      const inputs: InputSpec[] = Array.from({ length: n }, (_, i) => ({
        name: `x${i}`,
        shape: base.map((d, a) => (a === axis ? rng.range(1, 4) : d)),
        type: UINT8,
        zeroPoint: 7,
      }));
      // route the first input through a reshape to [size] and back (aliases of one buffer)
      const size = inputs[0]!.shape.reduce((a, b) => a * b, 1);
      const ops: IntOp[] = [
        { kind: "reshape", source: "Reshape 'r1'", input: "x0", output: "flat" },
        { kind: "reshape", source: "Reshape 'r2'", input: "flat", output: "back" },
      ];
      const cat: ConcatOp = { kind: "concat", source: "Concat 'c'", inputs: ["back", ...inputs.slice(1).map((i) => i.name)], output: "y", axis };
      ops.push(cat);
      const outShape = base.map((d, a) => (a === axis ? inputs.reduce((s, i) => s + i.shape[a]!, 0) : d));
      const values = [act("flat", [size], UINT8, 7), act("back", inputs[0]!.shape, UINT8, 7), act("y", outShape, UINT8, 7)];
      const p = makeProgram(inputs, ops, values, ["y", "flat"]);
      const batch = rng.range(1, 4);
      checkInt(p, randomFeeds(rng, inputs, batch), batch, `concat case ${t}`);
    }
  });
});
