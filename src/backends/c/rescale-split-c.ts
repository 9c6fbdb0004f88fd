/**
 * The rescale (residual adds) on int32 where numerics' split form applies
 * (numerics/rescale-split.ts, where the identity and the bounds are derived):
 *   a_i = x_i − z_i,  H = Σ a_i·h_i,  L = Σ a_i·l_i + 2^(s−1)
 *   y = clamp(z + ((H + (L >> k)) >> (s − k)), lo, hi)          (>> an arithmetic shift: fixq_shr32)
 * The int64 loop printed from rescaleDef stays where the form does not exist
 * (inputs wider than the bound allows, s = 0). On int32 the loop vectorizes
 * (8 lanes per AVX2 register instead of 4 int64 ones, no 64-bit multiply).
 */
import type { RescaleOp } from "../../integer/program.js";
import { splitRescale } from "../../numerics/rescale-split.js";
import { cInt } from "../shared/print-c.js";
import type { Printed } from "../shared/print-expr.js";
import { maxAbsShifted } from "./c-types.js";
import type { CEmitCtx } from "./op-code.js";

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** The statements and value of the split form for element j (inputs x0[j], x1[j], …), or undefined where it does not apply. */
export function splitRescalePrinted(op: RescaleOp, ctx: CEmitCtx): Printed | undefined {
  const spans = op.inputs.map((x, i) => maxAbsShifted(ctx.value(x), op.inputZeros[i]!));
  const f = splitRescale(op.multipliers, op.shift, spans, op.outZero);
  if (!f) return undefined;
  const used = op.inputs.map((_, i) => f.h[i] !== 0 || f.l[i] !== 0);
  const terms = (c: readonly number[]) => used.flatMap((u, i) => (u && c[i] !== 0 ? [`a${i} * ${cInt(c[i]!)}`] : []));
  const zero = (i: number) => op.inputZeros[i]!;
  const body = [
    ...used.flatMap((u, i) => (u ? [`const int32_t a${i} = (int32_t)x${i}[j]${zero(i) === 0 ? "" : zero(i) < 0 ? ` + ${-zero(i)}` : ` - ${zero(i)}`};`] : [])),
    `const int32_t H = ${[...terms(f.h), "0"].join(" + ")};`,
    `const int32_t L = ${[...terms(f.l), cInt(f.r)].join(" + ")};`,
    `const int32_t t = fixq_shr32(H + fixq_shr32(L, ${f.k}), ${f.s2})${op.outZero === 0 ? "" : ` + ${cInt(op.outZero)}`};`,
  ];
  let value = "t";
  if (op.clampLo > I32_MIN) value = `(t < ${cInt(op.clampLo)} ? ${cInt(op.clampLo)} : ${value})`;
  if (op.clampHi < I32_MAX) value = `(${cInt(op.clampHi)} < t ? ${cInt(op.clampHi)} : ${value})`;
  return { hoisted: [], constants: [], body, value };
}
