/**
 * The requantization of every layer of an integer program, for reports
 * (`compile --json` `requant`, and the HTML report's lowering section):
 * per requant op the dyadic multipliers M ≈ m·2^−s (one per channel, or one
 * per tensor) summarized by their extremes; per rescale op its shared shift
 * and per-input multipliers.
 */
import type { Program } from "./program.js";

export interface RequantRow {
  readonly source: string;
  readonly kind: "requant" | "rescale";
  /** The accumulator (requant) or first input (rescale) the op reads. */
  readonly input: string;
  /** The activation the op writes. */
  readonly output: string;
  /** Multipliers (per channel for requant, per input for rescale). */
  readonly count: number;
  readonly minMultiplier: number;
  readonly maxMultiplier: number;
  readonly minShift: number;
  readonly maxShift: number;
  /** The real scales m·2^−s the multipliers stand for: smallest and largest. */
  readonly minScale: number;
  readonly maxScale: number;
  /** The output clamp (ReLU/ReLU6 live in it). */
  readonly clamp: readonly [number, number];
}

const extent = (xs: readonly number[]) => [Math.min(...xs), Math.max(...xs)] as const;

/** One row per requant or rescale op, in program order. */
export function requantJson(program: Program): RequantRow[] {
  const rows: RequantRow[] = [];
  for (const op of program.ops) {
    if (op.kind === "requant") {
      const [m0, m1] = extent(op.multipliers.map((d) => d.m));
      const [s0, s1] = extent(op.multipliers.map((d) => d.s));
      const [r0, r1] = extent(op.multipliers.map((d) => d.m * 2 ** -d.s));
      rows.push({ source: op.source, kind: "requant", input: op.input, output: op.output, count: op.multipliers.length, minMultiplier: m0, maxMultiplier: m1, minShift: s0, maxShift: s1, minScale: r0, maxScale: r1, clamp: [op.clampLo, op.clampHi] });
    } else if (op.kind === "rescale") {
      const [m0, m1] = extent(op.multipliers);
      rows.push({ source: op.source, kind: "rescale", input: op.inputs[0] ?? "", output: op.output, count: op.multipliers.length, minMultiplier: m0, maxMultiplier: m1, minShift: op.shift, maxShift: op.shift, minScale: m0 * 2 ** -op.shift, maxScale: m1 * 2 ** -op.shift, clamp: [op.clampLo, op.clampHi] });
    }
  }
  return rows;
}
