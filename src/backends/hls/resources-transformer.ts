/**
 * Resource ESTIMATES of the transformer layers of the HLS design
 * (ops-transformer.ts), describing the code it writes: loops over one sample,
 * each innermost loop pipelined at II = 1, nothing unrolled, so each
 * multiplication in a loop body is one multiplier (reused every cycle) and
 * each constant table one ROM:
 *   matmul     1 multiplier (a − za)·(b − zb); cycles = MACs = rows·M·N·K
 *   mul        1 multiplier (a − za)·(b − zb); cycles = output elements
 *   table      ROM: entries · bits(entry); cycles = elements
 *   softmax    ROM: exp entries · bits(entry); multipliers e·c; 1 divider; cycles = 3 passes · elements
 *   layernorm  ROM: C · (bits(g) + bits(b)); multipliers c², c·g, b·D; 1 divider, 1 integer square root
 *              per row (≤ 32 steps); cycles = 3 passes · elements + 32 · rows
 *   addconst   ROM: offsets · bits(offset); multiplier (x − zx)·m; cycles = elements
 *   gather     ROM: rows · width · bits(code) (the embedding table); cycles = ids · width
 *   slice      data movement; cycles = elements out
 * Operand widths: signed bits of the certified (or type) range of each factor;
 * DSP48 per multiplier as for the MAC layers (resources.ts dspPerMultiplier:
 * 0 when an operand is ≤ 4 bits, else ⌈a/27⌉·⌈w/18⌉). Dividers and the
 * square root are counted, not costed.
 */
import type { Certificate } from "../../integer/certify.js";
import { type IntOp, type Program, sampleSize } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { isTransformerOp, type TransformerOp } from "../shared/transformer-c.js";
import { signedBits } from "./hls-types.js";
import { dspPerMultiplier } from "./resources.js";

export interface TransformerResources {
  readonly source: string;
  readonly kind: TransformerOp["kind"];
  /** Bits of the layer's constant tables (ROM). */
  readonly romBits: number;
  /** Operand widths [a, w] of each multiplier. */
  readonly multipliers: readonly (readonly [number, number])[];
  readonly dsp: number;
  readonly dividers: number;
  /** Cycles one sample spends in the layer (II = 1 loops, back to back). */
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
  const size = (v: string) => sampleSize(p.values.get(v)!.shape);
  const span = (v: string, z: number) => signedBits(range(v).lo - z, range(v).hi - z);
  const last = (v: string) => p.values.get(v)!.shape.at(-1)!;
  const one = (op: TransformerOp): Omit<TransformerResources, "source" | "kind" | "dsp"> => {
    switch (op.kind) {
      case "matmul": {
        const a = p.values.get(op.inputs[0])!.shape;
        return { romBits: 0, multipliers: [[span(op.inputs[0], op.inputZeros[0]), span(op.inputs[1], op.inputZeros[1])]], dividers: 0, cycles: size(op.output) * a.at(-1)! };
      }
      case "mul":
        return { romBits: 0, multipliers: [[span(op.inputs[0], op.inputZeros[0]), span(op.inputs[1], op.inputZeros[1])]], dividers: 0, cycles: size(op.output) };
      case "table":
        return { romBits: op.table.length * bitsOf(op.table), multipliers: [], dividers: 0, cycles: size(op.output) };
      case "softmax":
        return { romBits: op.exp.length * bitsOf(op.exp), multipliers: [[bitsOf(op.exp), signedBits(0, op.numerator)]], dividers: 1, cycles: 3 * size(op.output) };
      case "layernorm": {
        const C = last(op.input);
        const r = range(op.input);
        const c = signedBits(-(C - 1) * (r.hi - r.lo), (C - 1) * (r.hi - r.lo));
        const D = signedBits(0, Math.ceil(Math.sqrt(C * ((C - 1) * (r.hi - r.lo)) ** 2 * 4 ** op.varShift + op.epsilon)));
        return {
          romBits: C * (bitsOf(op.gamma) + bitsOf(op.beta)),
          multipliers: [
            [c, c],
            [c, bitsOf(op.gamma)],
            [bitsOf(op.beta), D],
          ],
          dividers: 1,
          cycles: 3 * size(op.output) + 32 * (size(op.output) / C),
        };
      }
      case "addconst":
        return { romBits: op.offset.length * bitsOf(op.offset), multipliers: [[span(op.input, op.inputZero), signedBits(0, op.multiplier)]], dividers: 0, cycles: size(op.output) };
      case "gather":
        return { romBits: op.table.length * bitsOf(op.table), multipliers: [], dividers: 0, cycles: size(op.output) };
      case "slice":
        return { romBits: 0, multipliers: [], dividers: 0, cycles: size(op.output) };
    }
  };
  return p.ops.filter((op: IntOp): op is TransformerOp => isTransformerOp(op)).map((op) => {
    const r = one(op);
    return { source: op.source, kind: op.kind, ...r, dsp: r.multipliers.reduce((s, [a, w]) => s + dspPerMultiplier(a, w), 0) };
  });
}

/** The report's text: one line per transformer layer, and the totals. */
export function formatTransformerResources(layers: readonly TransformerResources[]): string {
  const line = (l: TransformerResources) =>
    `${l.source.padEnd(40).slice(0, 40)} ${l.kind.padEnd(9)} ${String(l.romBits).padEnd(10)} ${(l.multipliers.map(([a, w]) => `${a}×${w}`).join(" ") || "-").padEnd(18)} ${String(l.dsp).padEnd(5)} ${String(l.dividers).padEnd(4)} ${l.cycles}`;
  const sum = (f: (l: TransformerResources) => number) => layers.reduce((s, l) => s + f(l), 0);
  return [
    "HLS transformer layers, resource ESTIMATES (not synthesis: II = 1 loops, one multiplier per product in a loop body; ROM = constant tables; dividers and square roots counted, not costed)",
    `${"layer".padEnd(40)} ${"kind".padEnd(9)} ${"ROM bits".padEnd(10)} ${"mults (a×w)".padEnd(18)} ${"DSP".padEnd(5)} ${"div".padEnd(4)} cycles`,
    ...layers.map(line),
    `total: ${sum((l) => l.romBits)} ROM bits, ${sum((l) => l.multipliers.length)} multipliers, ${sum((l) => l.dsp)} DSP48, ${sum((l) => l.dividers)} dividers, ${sum((l) => l.cycles)} layer cycles per sample`,
  ].join("\n");
}
