/**
 * The rounding right shift, with an optional clamp, as ONNX Runtime runs it
 * exactly. ORT's BitShift takes unsigned types only (int64/int32/int8 are
 * rejected as invalid models), and ORT 1.30's int64 Max, Min, Clip and Sign
 * compare wrongly when both operands share their upper 32 bits and differ
 * in bit 31 of the lower word (measured: Min(7, 2^31) = 2^31,
 * Sign(2^31) = −1), while uint64 Add/Mul/Max/Min/BitShift are exact and every
 * integer Cast wraps modulo 2^bits (measured on random data). So the
 * arithmetic runs on uint64 holding values modulo 2^64 (two's complement),
 * offset to be non-negative where it is compared or shifted:
 *
 *   u = v + ((pre + 2^63 + 2^(s−1)) mod 2^64)         (uint64 Add, wrapping)
 *     = v + pre + 2^(s−1) + 2^63                      (exactly, in [0, 2^64))
 *   u ← min(max(u, T_lo), T_hi)                        (uint64 Max/Min)
 *   q = u >> s = floor((v + pre + 2^(s−1)) / 2^s) + 2^(63−s)
 *   y = q + ((post − 2^(63−s)) mod 2^64) ≡ rshr(v + pre, s) + post   (mod 2^64)
 *
 * with T_lo = (lo − post + 2^(63−s))·2^s and T_hi = (hi − post + 2^(63−s) + 1)·2^s − 1
 * (floor is monotone, so clamping u clamps y to [lo, hi]), each limited to
 * [0, 2^64 − 1]. Needs 1 ≤ s ≤ 62 and |v + pre| + 2^(s−1) < 2^63. A Cast of
 * the uint64 result to the carrier type then yields y (it is in range).
 * When only the low b bits are kept and s ≤ 63 − b, post is folded into the
 * offset instead (post·2^s), saving the last Add (see `resultBits`).
 * `s`, `pre`, `post`, `lo`, `hi` may be per channel.
 */
import { DataType } from "../../ir/dtype.js";
import { stringAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";

const TWO63 = 1n << 63n;
const U64_MAX = (1n << 64n) - 1n;
const mod64 = (x: bigint) => x & U64_MAX;

export interface ChannelLayout {
  readonly axis: number;
  readonly rank: number;
}

export interface ShiftSpec {
  /** Shift per channel (or one), 1…62. */
  readonly s: readonly number[];
  /** Added before the shift (default 0). */
  readonly pre?: readonly bigint[];
  /** Added after the shift (default 0). */
  readonly post?: readonly bigint[];
  /** Clamp of the result (after `post`). */
  readonly clamp?: { readonly lo: readonly bigint[]; readonly hi: readonly bigint[] };
  /**
   * The caller keeps only the low `resultBits` bits (a Cast to a carrier of
   * that width). Where s ≤ 63 − resultBits (so 2^(63−s) ≡ 0 mod 2^resultBits)
   * and |post|·2^s + 2^(s−1) ≤ 2^62, post goes into the offset as post·2^s and
   * the last Add is dropped; |v + pre| + |post|·2^s + 2^(s−1) < 2^63 is then
   * required (it holds for |v + pre| ≤ 2^62 + 2^34, the most any caller passes).
   */
  readonly resultBits?: number;
}

/** Per-channel entry k of a list that is per channel or has one entry. */
function at<T>(a: readonly T[] | undefined, k: number, dflt: T): T {
  if (!a || a.length === 0) return dflt;
  return a.length === 1 ? a[0]! : a[k]!;
}

/** A signed integer tensor (any width) as uint64 modulo 2^64. */
export function toU64(ctx: EmitContext, v: Emitted, hint: string): Emitted {
  return ctx.cast(v, DataType.UINT64, hint);
}

/** rshr(v + pre, s) + post, optionally clamped, as uint64 modulo 2^64; v is any integer tensor. */
export function roundingShift(ctx: EmitContext, v: Emitted, spec: ShiftSpec, layout: ChannelLayout, hint = "rshr"): Emitted {
  const n = Math.max(spec.s.length, spec.pre?.length ?? 1, spec.post?.length ?? 1, spec.clamp?.lo.length ?? 1, spec.clamp?.hi.length ?? 1);
  const s = Array.from({ length: n }, (_, k) => at(spec.s, k, 1));
  for (const k of s) if (!Number.isInteger(k) || k < 1 || k > 62) throw new RangeError(`roundingShift: shift ${k} not in 1…62`);
  let pre = s.map((_, k) => at(spec.pre, k, 0n));
  let post = s.map((_, k) => at(spec.post, k, 0n));
  const abs = (x: bigint) => (x < 0n ? -x : x);
  const fold =
    spec.resultBits !== undefined &&
    s.every((k, c) => k <= 63 - spec.resultBits! && (abs(post[c]!) << BigInt(k)) + (1n << BigInt(k - 1)) <= 1n << 62n);
  if (fold) {
    pre = pre.map((p, c) => p + (post[c]! << BigInt(s[c]!)));
    post = post.map(() => 0n);
  }
  const konst = (values: bigint[], name: string) => ctx.channelConst(DataType.UINT64, values.map(mod64), layout.axis, layout.rank, `${hint}_${name}`);
  const offset = s.map((k, c) => pre[c]! + TWO63 + (1n << BigInt(k - 1)));
  let u = ctx.binary("Add", toU64(ctx, v, `${hint}_u64`), konst(offset, "offset"), `${hint}_biased`);
  if (spec.clamp) {
    const limit = (x: bigint) => (x < 0n ? 0n : x > U64_MAX ? U64_MAX : x);
    const tLo = s.map((k, c) => limit((at(spec.clamp!.lo, c, 0n) - post[c]! + (1n << BigInt(63 - k))) << BigInt(k)));
    const tHi = s.map((k, c) => limit(((at(spec.clamp!.hi, c, 0n) - post[c]! + (1n << BigInt(63 - k)) + 1n) << BigInt(k)) - 1n));
    if (tLo.some((t) => t > 0n)) u = ctx.binary("Max", u, konst(tLo, "lo"), `${hint}_clamp`);
    if (tHi.some((t) => t < U64_MAX)) u = ctx.binary("Min", u, konst(tHi, "hi"), `${hint}_clamp`);
  }
  const q = shiftRight(ctx, u, konst(s.map(BigInt), "s"), `${hint}_shifted`);
  if (fold) return q; // q ≡ y (mod 2^resultBits)
  return ctx.binary("Add", q, konst(s.map((k, c) => post[c]! - (1n << BigInt(63 - k))), "post"), hint);
}

/** [v < 0] as uint64 0/1 for a uint64 tensor holding a signed value: its bit 63 (no int64 comparison). */
export function negativeBit(ctx: EmitContext, v: Emitted, hint: string): Emitted {
  return shiftRight(ctx, v, ctx.b.scalar(DataType.UINT64, 63n, "sixty_three"), hint);
}

function shiftRight(ctx: EmitContext, u: Emitted, by: string, hint: string): Emitted {
  return { name: ctx.b.op("BitShift", [u.name, by], [stringAttr("direction", "RIGHT")], hint), dtype: DataType.UINT64 };
}
