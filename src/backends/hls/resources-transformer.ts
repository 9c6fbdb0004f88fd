/**
 * Resource ESTIMATES of the transformer layers of the HLS design
 * (ops-transformer.ts), describing the code it writes: loops over one sample,
 * each innermost loop pipelined at II = 1, nothing unrolled, so each
 * multiplication in a loop body is one multiplier (reused every cycle) and
 * each constant table one ROM. The matmul is not here: a reuse-factor layer
 * (matmul-layer.ts), its row is in resources.ts's table.
 *   mul        1 multiplier (a − za)·(b − zb)
 *   table      ROM: entries · bits(entry)
 *   softmax    ROM: exp entries · bits(entry); multipliers e·c; 1 divider
 *   layernorm  ROM: C · (bits(g) + bits(b)); multipliers c², c·g, b·D; 1 divider, 1 integer square root
 *   addconst   ROM: offsets · bits(offset); multiplier (x − zx)·m
 *   gather     ROM: rows · width · bits(code) (the embedding table)
 *   slice      data movement
 * cycles: timing-transformer.ts's loop model (II = 1 loops, each invocation paying its fill).
 * Operand widths: signed bits of the certified (or type) range of each factor;
 * DSP48 per multiplier as for the MAC layers (resources.ts dspPerMultiplier:
 * 0 when an operand is ≤ 4 bits, else ⌈a/27⌉·⌈w/18⌉). Dividers and the
 * square root are counted, not costed.
 */
import { layerNormCMax } from "../../numerics/transformer-params.js";
import type { Certificate } from "../../integer/certify.js";
import type { IntOp, Program } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { isTransformerOp } from "../shared/transformer-c.js";
import { signedBits } from "./hls-types.js";
import { type LoopedOp, transformerTiming } from "./timing-transformer.js";
import { dspPerMultiplier } from "./resources.js";

export interface TransformerResources {
  readonly source: string;
  readonly kind: LoopedOp["kind"];
  /** Bits of the layer's constant tables (ROM). */
  readonly romBits: number;
  /** Operand widths [a, w] of each multiplier. */
  readonly multipliers: readonly (readonly [number, number])[];
  readonly dsp: number;
  readonly dividers: number;
  /** Cycles one sample spends in the layer (timing-transformer.ts). */
  readonly cycles: number;
}

const bitsOf = (xs: ArrayLike<number>) => {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < xs.length; i++) {
    lo = Math.min(lo, xs[i]!);
    hi = Math.max(hi, xs[i]!);
  }
  return signedBits(lo, hi);
};

export function estimateTransformerResources(p: Program, cert: Certificate): TransformerResources[] {
  const range = (v: string) => cert.ranges.get(v) ?? { lo: intMin(p.values.get(v)!.type), hi: intMax(p.values.get(v)!.type) };
  const span = (v: string, z: number) => signedBits(range(v).lo - z, range(v).hi - z);
  const last = (v: string) => p.values.get(v)!.shape.at(-1)!;
  const one = (op: LoopedOp): Omit<TransformerResources, "source" | "kind" | "dsp" | "cycles"> => {
    switch (op.kind) {
      case "mul":
        return { romBits: 0, multipliers: [[span(op.inputs[0], op.inputZeros[0]), span(op.inputs[1], op.inputZeros[1])]], dividers: 0 };
      case "table":
        return { romBits: op.table.length * bitsOf(op.table), multipliers: [], dividers: 0 };
      case "softmax":
        return { romBits: op.exp.length * bitsOf(op.exp), multipliers: [[bitsOf(op.exp), signedBits(0, op.numerator)]], dividers: 1 };
      case "layernorm": {
        const C = last(op.input);
        const r = range(op.input);
        const cMax = layerNormCMax(C, r.hi - r.lo, op.rmsZero !== undefined);
        const c = signedBits(-cMax, cMax);
        const D = signedBits(0, Math.ceil(Math.sqrt(C * cMax ** 2 * 4 ** op.varShift + op.epsilon)));
        return {
          romBits: C * (bitsOf(op.gamma) + bitsOf(op.beta)),
          multipliers: [
            [c, c],
            [c, bitsOf(op.gamma)],
            [bitsOf(op.beta), D],
          ],
          dividers: 1,
        };
      }
      case "addconst":
        return { romBits: op.offset.length * bitsOf(op.offset), multipliers: [[span(op.input, op.inputZero), signedBits(0, op.multiplier)]], dividers: 0 };
      case "gather":
        return { romBits: op.table.length * bitsOf(op.table), multipliers: [], dividers: 0 };
      case "slice":
        return { romBits: 0, multipliers: [], dividers: 0 };
    }
  };
  return p.ops.filter((op: IntOp): op is LoopedOp => isTransformerOp(op) && op.kind !== "matmul").map((op) => {
    const r = one(op);
    return { source: op.source, kind: op.kind, ...r, dsp: r.multipliers.reduce((s, [a, w]) => s + dspPerMultiplier(a, w), 0), cycles: transformerTiming(p, op).cycles };
  });
}

/** The report's text: one line per transformer layer, and the totals. */
export function formatTransformerResources(layers: readonly TransformerResources[]): string {
  const line = (l: TransformerResources) =>
    `${l.source.padEnd(40).slice(0, 40)} ${l.kind.padEnd(9)} ${String(l.romBits).padEnd(10)} ${(l.multipliers.map(([a, w]) => `${a}×${w}`).join(" ") || "-").padEnd(18)} ${String(l.dsp).padEnd(5)} ${String(l.dividers).padEnd(4)} ${l.cycles}`;
  const sum = (f: (l: TransformerResources) => number) => layers.reduce((s, l) => s + f(l), 0);
  return [
    "HLS transformer layers, resource ESTIMATES (not synthesis: II = 1 loops, one multiplier per product in a loop body; ROM = constant tables; dividers and square roots counted, not costed; cycles: the loop model of the timing table)",
    `${"layer".padEnd(40)} ${"kind".padEnd(9)} ${"ROM bits".padEnd(10)} ${"mults (a×w)".padEnd(18)} ${"DSP".padEnd(5)} ${"div".padEnd(4)} cycles`,
    ...layers.map(line),
    `total: ${sum((l) => l.romBits)} ROM bits, ${sum((l) => l.multipliers.length)} multipliers, ${sum((l) => l.dsp)} DSP48, ${sum((l) => l.dividers)} dividers, ${sum((l) => l.cycles)} layer cycles per sample`,
  ].join("\n");
}
