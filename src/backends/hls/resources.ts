/**
 * Per-layer resource ESTIMATES for an HLS design of an integer Program at a
 * reuse factor R (hls4ml's knob: each multiplier is reused R times, so a
 * layer's weights need M = W / R multipliers and the layer accepts a new
 * input every R cycles). Rough model, not synthesis results:
 *   weights W       conv: outC · inC/group · kh · kw;  dense: N · K
 *   MACs / sample   conv: W · outH · outW;  dense: W · (rows of the input)
 *   multipliers     M = W / R (R a divisor of W: the least ≥ the requested one)
 *   DSP48 per mult  0 when an operand is ≤ 4 bits (LUT multiplier), else
 *                   ⌈a/27⌉ · ⌈w/18⌉ with a ≥ w the operand widths (DSP48E2's
 *                   27 × 18 signed multiplier);  DSP = M · that
 *   operand widths  activation: the certified range of x − inputZero;
 *                   weight: the layer's exact weight type
 *   weight bits     W · weight width;  activation bits: output elements ·
 *                   the accumulator width
 *   accumulator     the certificate's minimal width for the layer's sum
 *   II requested    R
 * Without a reuse factor each layer gets its least R dividing W with
 * M ≤ 4096. A complete partition of the weights into M parallel elements is refused
 * above 4096 (config_array_partition -maximum_size 4096, Vivado's unroll
 * limit), naming the layer and the smallest reuse factor that fits.
 */
import type { Certificate } from "../../integer/certify.js";
import { type Program, sampleSize, weightTypeOf } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";

export const PARTITION_LIMIT = 4096;

export interface LayerResources {
  readonly source: string;
  readonly kind: "conv" | "dense";
  readonly weights: number;
  readonly macs: number;
  readonly reuseFactor: number;
  readonly multipliers: number;
  readonly operandBits: readonly [activation: number, weight: number];
  readonly dspPerMultiplier: number;
  readonly dsp: number;
  readonly weightBits: number;
  readonly activationBits: number;
  readonly accumulatorBits: number;
  readonly ii: number;
}

/** Bits of a signed integer holding lo…hi. */
function signedBits(lo: number, hi: number): number {
  let w = 1;
  while (-(2 ** (w - 1)) > lo || 2 ** (w - 1) - 1 < hi) w++;
  return w;
}

/** DSP48E2 slices for one a × w multiplier (see the file comment). */
export function dspPerMultiplier(a: number, w: number): number {
  if (Math.min(a, w) <= 4) return 0;
  const [big, small] = a >= w ? [a, w] : [w, a];
  return Math.ceil(big / 27) * Math.ceil(small / 18);
}

/** Divisors of n, ascending. */
function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/**
 * The estimates of every conv and dense op. A layer's reuse factor is the
 * least divisor of its weight count W that is ≥ `reuse` (as hls4ml picks a
 * valid factor near the requested one), or, when `reuse` is undefined, the
 * least divisor with W / R ≤ 4096. Throws a usage error naming the layer
 * when a requested factor leaves more than 4096 weights in parallel.
 */
export function estimateResources(p: Program, cert: Certificate, reuse?: number): LayerResources[] {
  const rows = new Map(cert.rows.filter((r) => r.accumulator).map((r) => [r.value, r]));
  const layers: LayerResources[] = [];
  for (const op of p.ops) {
    if (op.kind !== "conv" && op.kind !== "dense") continue;
    const weights = op.weight.length;
    const outSize = sampleSize(p.values.get(op.output)!.shape);
    const perOutput = op.kind === "conv" ? weights / op.weightShape[0] : op.inFeatures;
    const macs = outSize * perOutput;
    const r = reuse === undefined ? divisors(weights).find((d) => weights / d <= PARTITION_LIMIT)! : divisors(weights).find((d) => d >= reuse)!;
    const multipliers = weights / r;
    if (multipliers > PARTITION_LIMIT) {
      // every layer fits at any requested factor ≥ each layer's least fitting divisor
      const least = Math.max(
        ...p.ops.flatMap((o) => (o.kind === "conv" || o.kind === "dense" ? [divisors(o.weight.length).find((d) => o.weight.length / d <= PARTITION_LIMIT)!] : [])),
      );
      throw new FixqError(
        "usage",
        `${op.source}: reuse factor ${r} needs ${multipliers} weights partitioned in parallel, over the ${PARTITION_LIMIT} limit of config_array_partition; use --reuse-factor ${least} or larger (fits every layer)`,
      );
    }
    const inRange = cert.ranges.get(op.input) ?? { lo: -(2 ** 31), hi: 2 ** 31 - 1 };
    const a = signedBits(inRange.lo - op.inputZero, inRange.hi - op.inputZero);
    const w = weightTypeOf(op).bits;
    const per = dspPerMultiplier(a, w);
    const accBits = rows.get(op.output)?.width ?? p.values.get(op.output)!.type.bits;
    layers.push({
      source: op.source,
      kind: op.kind,
      weights,
      macs,
      reuseFactor: r,
      multipliers,
      operandBits: [a, w],
      dspPerMultiplier: per,
      dsp: multipliers * per,
      weightBits: weights * w,
      activationBits: outSize * accBits,
      accumulatorBits: accBits,
      ii: r,
    });
  }
  return layers;
}

/** The report's text: one line per layer, and the totals. */
export function formatResources(layers: readonly LayerResources[]): string {
  const head = `${"layer".padEnd(40)} kind   R     mults  a×w    DSP/m  DSP     weight bits  act bits  acc bits  II`;
  const line = (l: LayerResources) =>
    `${l.source.padEnd(40).slice(0, 40)} ${l.kind.padEnd(6)} ${String(l.reuseFactor).padEnd(5)} ${String(l.multipliers).padEnd(6)} ${`${l.operandBits[0]}×${l.operandBits[1]}`.padEnd(6)} ${String(l.dspPerMultiplier).padEnd(6)} ${String(l.dsp).padEnd(7)} ${String(l.weightBits).padEnd(12)} ${String(l.activationBits).padEnd(9)} ${String(l.accumulatorBits).padEnd(9)} ${l.ii}`;
  const sum = (f: (l: LayerResources) => number) => layers.reduce((s, l) => s + f(l), 0);
  return [
    "HLS resource ESTIMATES (rough model, not synthesis: multipliers = weights / R; DSP48 per multiplier = 0 if an operand is ≤ 4 bits, else ⌈a/27⌉·⌈w/18⌉)",
    head,
    ...layers.map(line),
    `total: ${sum((l) => l.multipliers)} multipliers, ${sum((l) => l.dsp)} DSP48, ${sum((l) => l.weightBits)} weight bits, ${sum((l) => l.activationBits)} activation bits`,
  ].join("\n");
}
