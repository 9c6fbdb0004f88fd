/**
 * The fixed-point rescale (program.ts `fixedrescale`, numerics/fixed-rescale.ts)
 * in exact ONNX integer arithmetic, on uint64 holding values modulo 2^64 (two's
 * complement), for the reasons shift.ts gives (ORT's BitShift is unsigned
 * only; its int64 comparisons are unreliable; uint64 Add, Mul, Max, Min,
 * BitShift and integer Casts are exact and wrap). Subtraction is an Add of
 * y·(2^64 − 1). Each rounding mode is floor((t + off) / 2^s) with
 *
 *   off = a + b·[t < 0] + c·bit_s(t)        (bit_s(t) = T mod 2, the parity of ⌊t/2^s⌋)
 *   TRN 0;  RND h;  RND_MIN_INF h − 1;  TRN_ZERO (2^s − 1)·[t<0];
 *   RND_ZERO h − 1 + [t<0];  RND_INF h − [t<0];  RND_CONV h − 1 + bit_s(t)      (h = 2^(s−1))
 *
 * computed as q = (t + 2^63 + off) >> s = R + 2^(63−s) (non-negative, so the
 * logical shift floors). Overflow on R (kept as Y = R + 2^63, where uint64
 * order is signed order):
 *   SAT, SAT_SYM   the final clamp, narrowed to [min, max] / [−max, max]
 *   WRAP, N = 0    signed: ((R + 2^(W−1)) mod 2^W) − 2^(W−1); unsigned: R mod 2^W
 *   SAT_ZERO, WRAP with N ≥ 1: the in-range flag k = 1 − min((Y − min − 2^63) >> W, 1)
 *                  selects Y or the overflow value: Y' = V + k·(Y − V)
 *                  (V = 0 for SAT_ZERO; V = L + 2^(W−1) − 2^(W−N) − [R<0]·(2^W − 2^(W−N)),
 *                  L = R mod 2^(W−N), signed; V = L + 2^W − 2^(W−N) unsigned)
 * then the clamp [lo, hi] with uint64 Max/Min, minus 2^63, and a Cast to the
 * carrier (wrapping, exact for values in range).
 */
import { DataType } from "../../ir/dtype.js";
import type { FixedRescaleOp } from "../../integer/program.js";
import { stringAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";
import { negativeBit, toU64 } from "./shift.js";

const U64_MAX = (1n << 64n) - 1n;
const TWO63 = 1n << 63n;

export function emitFixedRescale(ctx: EmitContext, op: FixedRescaleOp): void {
  const where = op.source;
  const hint = op.output;
  const c = op.cast;
  const s = op.shift;
  const k64 = (v: bigint, name: string) => ctx.b.scalar(DataType.UINT64, v & U64_MAX, `${hint}_${name}`);
  const add = (x: Emitted, y: Emitted | string, name: string) => ctx.binary("Add", x, typeof y === "string" ? y : y.name, `${hint}_${name}`);
  const mul = (x: Emitted, y: Emitted | string, name: string) => ctx.binary("Mul", x, typeof y === "string" ? y : y.name, `${hint}_${name}`);
  const sub = (x: Emitted, y: Emitted, name: string) => add(x, mul(y, k64(U64_MAX, "minus_one"), `${name}_neg`), name);
  const shift = (x: Emitted, by: number, dir: "RIGHT" | "LEFT", name: string): Emitted => ({
    name: ctx.b.op("BitShift", [x.name, k64(BigInt(by), "by")], [stringAttr("direction", dir)], `${hint}_${name}`),
    dtype: DataType.UINT64,
  });
  /** x mod 2^k on a uint64 pattern. */
  const lowBits = (x: Emitted, k: number, name: string) => sub(x, shift(shift(x, k, "RIGHT", `${name}_hi`), k, "LEFT", `${name}_hi2`), name);

  // t = Σ x_i·m_i
  let t: Emitted | undefined;
  op.inputs.forEach((name, i) => {
    let x = toU64(ctx, ctx.get(name, where), `${hint}_in${i}`);
    const m = op.multipliers[i]!;
    if (m !== 1) x = mul(x, k64(BigInt(m), "m"), `term${i}`);
    t = t ? add(t, x, "sum") : x;
  });
  // R = round_Q(t / 2^s), as uint64 mod 2^64
  let R = t!;
  if (s > 0) {
    const h = 1n << BigInt(s - 1);
    const [a, b, withParity] = roundOffset(c.round, s, h);
    let u = add(R, k64(TWO63 + a, "offset"), "biased");
    if (b !== 0n) u = add(u, mul(negativeBit(ctx, R, `${hint}_neg`), k64(b, "b"), "neg_off"), "biased_neg");
    if (withParity) u = add(u, lowBits(shift(R, s, "RIGHT", "T"), 1, "parity"), "biased_even");
    R = add(shift(u, s, "RIGHT", "q"), k64(-(1n << BigInt(63 - s)), "unbias"), "rounded");
  }
  // Y = O(R) + 2^63
  const W = c.bits;
  const wmin = c.signed ? -(1n << BigInt(W - 1)) : 0n;
  const wmax = c.signed ? (1n << BigInt(W - 1)) - 1n : (1n << BigInt(W)) - 1n;
  let Y = add(R, k64(TWO63, "y"), "y");
  let lo = BigInt(op.clampLo);
  let hi = BigInt(op.clampHi);
  if (c.overflow === "AP_SAT" || c.overflow === "AP_SAT_SYM") {
    const floor = c.overflow === "AP_SAT_SYM" && c.signed && W > 1 ? wmin + 1n : wmin;
    lo = lo > floor ? lo : floor;
    hi = hi < wmax ? hi : wmax;
  } else if (c.overflow === "AP_WRAP" && c.satBits === 0) {
    const low = c.signed ? lowBits(add(R, k64(1n << BigInt(W - 1), "half"), "half_up"), W, "low") : lowBits(R, W, "low");
    Y = add(low, k64(TWO63 + (c.signed ? -(1n << BigInt(W - 1)) : 0n), "wrap_off"), "wrapped");
  } else {
    // SAT_ZERO, or WRAP with N ≥ 1: select Y (in range) or V
    const d = add(Y, k64(-(TWO63 + wmin), "dmin"), "d");
    const out = ctx.binary("Min", shift(d, W, "RIGHT", "d_hi"), k64(1n, "one"), `${hint}_outside`);
    let V: Emitted;
    if (c.overflow === "AP_SAT_ZERO") V = { name: k64(TWO63, "zero"), dtype: DataType.UINT64 };
    else {
      const keep = W - c.satBits;
      const L = lowBits(R, keep, "L");
      const top = 1n << BigInt(W);
      const kk = 1n << BigInt(keep);
      if (c.signed) {
        const base = add(L, k64(TWO63 + top / 2n - kk, "wrapn_pos"), "wrapn");
        V = sub(base, mul(negativeBit(ctx, R, `${hint}_rneg`), k64(top - kk, "wrapn_span"), "wrapn_negoff"), "wrapn_v");
      } else V = add(L, k64(TWO63 + top - kk, "wrapn_u"), "wrapn_v");
    }
    // Y' = Y − outside·(Y − V)
    Y = sub(Y, mul(out, sub(Y, V, "dv"), "sel"), "selected");
  }
  Y = ctx.binary("Max", Y, k64(lo + TWO63, "lo"), `${hint}_clamp`);
  Y = ctx.binary("Min", Y, k64(hi + TWO63, "hi"), `${hint}_clamp`);
  const y = add(Y, k64(-TWO63, "unoffset"), "value");
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}

/** off = a + b·[t<0] + [parity]·bit_s(t) for each rounding mode (see the module comment). */
function roundOffset(mode: FixedRescaleOp["cast"]["round"], s: number, h: bigint): [bigint, bigint, boolean] {
  switch (mode) {
    case "AP_TRN":
      return [0n, 0n, false];
    case "AP_RND":
      return [h, 0n, false];
    case "AP_RND_MIN_INF":
      return [h - 1n, 0n, false];
    case "AP_TRN_ZERO":
      return [0n, (1n << BigInt(s)) - 1n, false];
    case "AP_RND_ZERO":
      return [h - 1n, 1n, false];
    case "AP_RND_INF":
      return [h, U64_MAX, false]; // h − [t<0]: −1 is 2^64 − 1 modulo 2^64
    case "AP_RND_CONV":
      return [h - 1n, 0n, true];
  }
}
