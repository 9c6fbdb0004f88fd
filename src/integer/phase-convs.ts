/**
 * Emits an upsampling layer computed phase by phase (ConvTranspose,
 * bilinear Resize by an integer factor): for each output phase (r_h, r_w)
 * one stride-1 `conv` of the input, its `requant` into the layer's output
 * spec, then a `concat` of the phases and one `remap` interleaving them
 * (conv-transpose-phases.ts interleaveOffsets):
 *
 *   acc_r = bias + Σ (x − z_x)·W_r,  y_r = requant(acc_r, S_x·S_W[c]/S_y),  y[c, o] = y_{o mod s}[c, ⌊o/s⌋ + off]
 *
 * Requant is elementwise per channel, so requantizing each phase equals
 * requantizing the interleaved accumulator. A single phase that already is
 * the output (stride 1, offset 0, full length) writes the output directly.
 */
import type { Node } from "../ir/graph.js";
import type { IntType } from "../numerics/int.js";
import type { ActivationTail } from "./activation-tail.js";
import { interleaveOffsets, type PhaseLayout } from "./conv-transpose-phases.js";
import { requantInto } from "./lower-linear.js";
import { INT32, type LoweringContext, label } from "./lowering-context.js";

/** One phase's conv: OIHW weight, pads [top, left, bottom, right], dilations. */
export interface PhaseConv {
  readonly weight: Int32Array;
  readonly weightShape: [number, number, number, number];
  readonly pads: [number, number, number, number];
  readonly dilations: [number, number];
}

export interface PhaseLayer {
  /** The integer input value. */
  readonly input: string;
  /** Row-major over (r_h, r_w): layouts[0].phases.length × layouts[1].phases.length convs. */
  readonly convs: readonly PhaseConv[];
  readonly layouts: readonly [PhaseLayout, PhaseLayout];
  readonly group: number;
  readonly weightType: IntType;
  readonly bias?: Int32Array;
  /** S_W per output channel (the accumulator's scale is S_x·S_W[c]). */
  readonly weightScales: Float64Array;
  /** The layer's per-sample output shape [M, O_h, O_w]. */
  readonly shape: readonly number[];
  readonly tail: ActivationTail;
}

export function emitPhaseLayer(ctx: LoweringContext, n: Node, l: PhaseLayer): void {
  const xs = ctx.specOfInt(l.input);
  const [ph, pw] = l.layouts;
  const M = l.shape[0]!;
  const phaseShape = [M, ph.length, pw.length];
  const single = l.convs.length === 1 && ph.phases[0]!.offset === 0 && pw.phases[0]!.offset === 0 && ph.length === l.shape[1] && pw.length === l.shape[2];
  const parts = l.convs.map((c, k) => {
    const tag = single ? "" : `_phase${Math.floor(k / pw.phases.length)}_${k % pw.phases.length}`;
    const acc = ctx.addValue(`${n.outputs[0]}_acc${tag}`, phaseShape, INT32);
    ctx.ops.push({
      kind: "conv",
      source: label(n),
      input: l.input,
      output: acc,
      inputZero: xs.zeroPoint,
      weight: c.weight,
      weightType: l.weightType,
      weightShape: c.weightShape,
      ...(l.bias ? { bias: l.bias } : {}),
      strides: [1, 1],
      pads: c.pads,
      dilations: c.dilations,
      group: l.group,
    });
    const out = ctx.addValue(`${l.tail.value}_q${tag}`, phaseShape, l.tail.spec.type, l.tail.spec);
    requantInto(ctx, n, acc, 0, xs.scale, l.weightScales, l.tail, out);
    return out;
  });
  if (single) {
    ctx.lowered.set(l.tail.value, parts[0]!);
    return;
  }
  const stacked = ctx.addValue(`${l.tail.value}_phases`, [M * parts.length, ph.length, pw.length], l.tail.spec.type, l.tail.spec);
  ctx.ops.push({ kind: "concat", source: label(n), inputs: parts, output: stacked, axis: 0 });
  const out = ctx.addValue(`${l.tail.value}_q`, l.shape, l.tail.spec.type, l.tail.spec);
  ctx.ops.push({ kind: "remap", source: label(n), input: stacked, output: out, offsets: interleaveOffsets([ph, pw], M, l.shape) });
  ctx.lowered.set(l.tail.value, out);
}
