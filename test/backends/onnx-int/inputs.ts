/**
 * Float feeds for a program's inputs: random values spread over (and a
 * little beyond) each input quantizer's range, exact half-way points that
 * exercise round-half-even, and extreme batches (all 0, all at the top of
 * the range, all at the bottom, ±1e6 that saturate the quantizer, and an
 * alternating max/min pattern).
 */
import type { Program, QuantizeOp } from "../../../src/integer/program.js";
import { sampleSize } from "../../../src/integer/program.js";
import type { Rng } from "../../helpers/prng.js";

export interface Feeds {
  readonly label: string;
  readonly batch: number;
  readonly feeds: Map<string, Float32Array>;
}

function quantizerOf(p: Program, input: string): QuantizeOp {
  const q = p.ops.find((op) => op.kind === "quantize" && op.input === input);
  if (q?.kind !== "quantize") throw new Error(`no quantize op for ${input}`);
  return q;
}

export function feedSets(p: Program, rng: Rng, batch: number): Feeds[] {
  const make = (label: string, f: (q: QuantizeOp, i: number) => number): Feeds => ({
    label,
    batch,
    feeds: new Map(
      p.inputs.map((io) => {
        const q = quantizerOf(p, io.name);
        return [io.name, Float32Array.from({ length: batch * sampleSize(io.shape) }, (_, i) => f(q, i))];
      }),
    ),
  });
  const real = (q: QuantizeOp, v: number) => (v - q.zeroPoint) * q.scale;
  return [
    make("random", (q) => real(q, q.qmin - 4 + rng.float() * (q.qmax - q.qmin + 8))),
    make("half-way points", (q) => real(q, rng.range(q.qmin, q.qmax) + 0.5)),
    make("all zero", () => 0),
    make("all max", (q) => real(q, q.qmax)),
    make("all min", (q) => real(q, q.qmin)),
    make("beyond range (+1e6)", () => 1e6),
    make("beyond range (-1e6)", () => -1e6),
    make("alternating max/min", (q, i) => real(q, i % 2 ? q.qmax : q.qmin)),
  ];
}
