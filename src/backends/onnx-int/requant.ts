/**
 * requant and rescale in exact ONNX integer arithmetic on uint64 holding
 * values modulo 2^64 (Cast wraps, Mul/Add/Sub wrap), and the rounding shift
 * with its clamp (shift.ts); per channel by broadcasting [C, 1, …, 1]
 * constants. No int64 comparison is used (ORT 1.30 miscomputes int64
 * Max/Min/Clip/Sign, see shift.ts); the only clamp outside shift.ts is on int32.
 *
 * requant, single rounding:  y = clamp(rshr(acc·m, s) + z, lo, hi)
 *   - s ≥ 63: |acc·m| < 2^62 ≤ 2^(s−1), so the result is 0 (m := 0, s := 1);
 *   - s ≤ 0 (≥ −30): acc·m·2^−s = rshr(acc·(m·2^(1−s)), 1), with acc first
 *     clamped (int32 Max/Min, exact) to ±⌈2^33 / (m·2^−s)⌉ so the int64
 *     product cannot overflow; anything beyond lands past every int32 clamp
 *     bound either way.
 * requant, double rounding (gemmlowp; needs s ≥ 1, i.e. a left shift ≤ 30):
 *   w = SRDHM(acc·2^l, m) = rshr(acc·(m·2^l), 31),      l = max(0, 31 − s)
 *   y = clamp(RDBP(w, r) + z, lo, hi),                  r = max(0, s − 31)
 *   RDBP(w, r) = rshr(w − [w < 0], r) for r ≥ 1 (ties away from zero), and
 *   w = rshr(2w, 1) for r = 0; [w < 0] is w's sign bit (uint64 BitShift 63).
 *   Where gemmlowp's left shift could overflow int32 (over the certified
 *   accumulator range) the program is outside numerics' domain, and the
 *   back end's check (check.ts, shared/numerics-checks.ts) refuses it.
 * rescale:  y = clamp(z + rshr(Σ x_i·m_i − Σ z_i·m_i, s), lo, hi)
 *   (−Σ z_i·m_i goes into the shift's offset; s = 0 runs as multipliers 2·m_i and s = 1).
 */
import { DataType } from "../../ir/dtype.js";
import { FixqError } from "../../ir/errors.js";
import type { RequantOp, RescaleOp } from "../../integer/program.js";
import type { EmitContext, Emitted } from "./context.js";
import { type ChannelLayout, negativeBit, roundingShift, toU64 } from "./shift.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function clampOf(op: { clampLo: number; clampHi: number }) {
  return { lo: [BigInt(op.clampLo)], hi: [BigInt(op.clampHi)] };
}

function carrierBits(ctx: EmitContext, name: string, where: string): number {
  const c = ctx.carrier(name, where);
  return c === DataType.INT32 ? 32 : 8;
}

/**
 * The accumulator and, when its bias is still pending and can be folded,
 * the per-channel offsets bias[c]·m[c] for the rounding shift (acc·m =
 * (acc − bias)·m + bias·m) and the layout they run along.
 */
function accumulator(ctx: EmitContext, op: RequantOp, m: readonly bigint[], layout: ChannelLayout, canFold: boolean): { x: Emitted; pre?: bigint[]; layout: ChannelLayout } {
  const { e, bias } = ctx.getUnbiased(op.input, op.source);
  if (!bias || !canFold || (m.length !== 1 && bias.axis !== layout.axis)) return { x: ctx.get(op.input, op.source), layout };
  const pre = Array.from(bias.values, (b, c) => BigInt(b) * (m.length === 1 ? m[0]! : m[c]!));
  return { x: e, pre, layout: { axis: bias.axis, rank: bias.rank } };
}

export function emitRequant(ctx: EmitContext, op: RequantOp): void {
  const where = op.source;
  const xv = ctx.value(op.input, where);
  const channels = op.multipliers.length;
  if (channels !== 1 && xv.shape[op.axis] !== channels) {
    throw new FixqError("model", `integer ONNX export: requant has ${channels} multipliers for axis ${op.axis} of [${xv.shape.join(",")}]`, where);
  }
  const layout = { axis: op.axis, rank: xv.shape.length };
  const y = ctx.p.rounding === "double" ? requantDouble(ctx, op, layout) : requantSingle(ctx, op, layout);
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}

function requantSingle(ctx: EmitContext, op: RequantOp, layout: ChannelLayout): Emitted {
  // per channel: multiplier, shift, and the accumulator clamp (0 = none) for s ≤ 0
  const plan = op.multipliers.map((d): [bigint, number, number] => {
    if (d.m === 0 || d.s >= 63) return [0n, 1, 0];
    if (d.s >= 1) return [BigInt(d.m), d.s, 0];
    if (d.s < -30) throw new FixqError("unsupported", `integer ONNX export: multiplier ${d.m}·2^${-d.s} is too large (left shift above 30)`, op.source);
    const real = BigInt(d.m) << BigInt(-d.s);
    return [real * 2n, 1, Math.min(INT32_MAX, Number(((1n << 33n) + real - 1n) / real))];
  });
  const m = plan.map((c) => c[0]);
  const s = plan.map((c) => c[1]);
  const limit = plan.map((c) => c[2]);
  const acc0 = accumulator(ctx, op, m, layout, limit.every((l) => l === 0));
  let x = acc0.x;
  if (limit.some((l) => l > 0)) {
    x = ctx.cast(x, DataType.INT32, `${op.output}_acc32`);
    const lo = ctx.channelConst(DataType.INT32, limit.map((l) => (l > 0 ? -l : INT32_MIN)), layout.axis, layout.rank, "acc_lo");
    const hi = ctx.channelConst(DataType.INT32, limit.map((l) => (l > 0 ? l : INT32_MAX)), layout.axis, layout.rank, "acc_hi");
    x = ctx.binary("Min", ctx.binary("Max", x, lo, `${op.output}_acc_clamp`), hi, `${op.output}_acc_clamp`);
  }
  const acc = toU64(ctx, x, `${op.output}_acc`);
  const v = ctx.binary("Mul", acc, ctx.channelConst(DataType.UINT64, m, layout.axis, layout.rank, "m"), `${op.output}_prod`);
  const spec = { s, pre: acc0.pre, post: [BigInt(op.outZero)], clamp: clampOf(op), resultBits: carrierBits(ctx, op.output, op.source) };
  return roundingShift(ctx, v, spec, acc0.layout, `${op.output}_rshr`);
}

function requantDouble(ctx: EmitContext, op: RequantOp, layout: ChannelLayout): Emitted {
  for (const d of op.multipliers) {
    if (d.m !== 0 && (d.s < 1 || d.s > 62)) {
      throw new FixqError("unsupported", `integer ONNX export: double rounding needs shifts in 1…62, not ${d.s} (multiplier ${d.m})`, op.source);
    }
  }
  const m = op.multipliers.map((d) => (d.m === 0 ? 0n : BigInt(d.m) << BigInt(Math.max(0, 31 - d.s))));
  const right = op.multipliers.map((d) => (d.m === 0 ? 1 : Math.max(0, d.s - 31)));
  const konst = (values: bigint[], hint: string) => ctx.channelConst(DataType.UINT64, values, layout.axis, layout.rank, hint);
  const acc0 = accumulator(ctx, op, m, layout, true);
  const acc = toU64(ctx, acc0.x, `${op.output}_acc`);
  const v = ctx.binary("Mul", acc, konst(m, "m"), `${op.output}_prod`);
  const w = roundingShift(ctx, v, { s: [31], pre: acc0.pre }, acc0.layout, `${op.output}_srdhm`);
  // RDBP: rshr(w − [w<0], r) where r ≥ 1, rshr(2w, 1) = w where r = 0
  let arg: Emitted;
  const neg = () => negativeBit(ctx, w, `${op.output}_neg`);
  if (right.every((r) => r >= 1)) arg = ctx.binary("Sub", w, neg().name, `${op.output}_rdbp_arg`);
  else if (right.every((r) => r === 0)) arg = ctx.binary("Mul", w, ctx.b.scalar(DataType.UINT64, 2n, "two"), `${op.output}_rdbp_arg`);
  else {
    const scaled = ctx.binary("Mul", w, konst(right.map((r) => (r === 0 ? 2n : 1n)), "rdbp_f"), `${op.output}_rdbp_arg`);
    const ties = ctx.binary("Mul", neg(), konst(right.map((r) => (r === 0 ? 0n : 1n)), "rdbp_g"), `${op.output}_rdbp_ties`);
    arg = ctx.binary("Sub", scaled, ties.name, `${op.output}_rdbp_arg`);
  }
  const s = right.map((r) => Math.max(1, r));
  const spec = { s, post: [BigInt(op.outZero)], clamp: clampOf(op), resultBits: carrierBits(ctx, op.output, op.source) };
  return roundingShift(ctx, arg, spec, layout, `${op.output}_rdbp`);
}

export function emitRescale(ctx: EmitContext, op: RescaleOp): void {
  const where = op.source;
  if (op.inputs.length === 0 || op.inputs.length !== op.multipliers.length || op.inputs.length !== op.inputZeros.length) {
    throw new FixqError("model", "integer ONNX export: rescale needs one multiplier and zero point per input", where);
  }
  if (!Number.isInteger(op.shift) || op.shift < 0 || op.shift > 62) throw new FixqError("unsupported", `integer ONNX export: rescale shift ${op.shift} not in 0…62`, where);
  const twice = op.shift === 0 ? 2 : 1; // rshr(v, 0) = rshr(2v, 1)
  let sum: Emitted | undefined;
  let constant = 0n;
  op.inputs.forEach((name, i) => {
    const m = op.multipliers[i]! * twice;
    let t = toU64(ctx, ctx.get(name, where), `${op.output}_in${i}`);
    if (m !== 1) t = ctx.binary("Mul", t, ctx.b.scalar(DataType.UINT64, BigInt(m), "m"), `${op.output}_term${i}`);
    constant -= BigInt(op.inputZeros[i]!) * BigInt(m);
    sum = sum ? ctx.binary("Add", sum, t.name, `${op.output}_sum`) : t;
  });
  const layout = { axis: 0, rank: ctx.value(op.output, where).shape.length };
  const spec = { s: [Math.max(1, op.shift)], pre: [constant], post: [BigInt(op.outZero)], clamp: clampOf(op), resultBits: carrierBits(ctx, op.output, where) };
  const y = roundingShift(ctx, sum!, spec, layout, `${op.output}_rshr`);
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}
