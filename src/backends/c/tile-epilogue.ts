/**
 * The epilogue of the batch functions' conv and dense layers (batch-tile.ts,
 * tile-conv.ts, tile-depthwise.ts): the lines storing one channel's 16 results
 * of one output position, while they are still in registers or L1:
 *   without a fused requant:  y[at·16 + b] = acc_b                                    (int32)
 *   with one:                 y[at·16 + b] = clamp(R(acc_b, m[c]·2^−s[c]) + z, lo, hi)  (requantParts, printed from numerics)
 * for b < 16, c the channel (0 for a per-tensor requant).
 */
import type { RequantOp } from "../../integer/program.js";
import type { CEmitCtx } from "./op-code.js";
import { storage } from "./op-code.js";
import { requantParts } from "./ops-requant.js";
import { TILE } from "./tile-kernel.js";

const L = TILE;

/** `value(b)` is sample b's int32 sum of channel `o`; `at` the element index of (o, position) in the output value. */
export function epilogue(ctx: CEmitCtx, rq: RequantOp | undefined, o: string, at: string, value: (b: string) => string, pad: string): string {
  // a pointer per channel row: indexing y directly, gcc 12 vectorizes across channels and scatters the stores
  if (!rq) return `${pad}{\n${pad}  int32_t *restrict yo = y + (${at}) * ${L};\n${pad}  for (int b = 0; b < ${L}; b++) yo[b] = ${value("b")};\n${pad}}`;
  const parts = requantParts(rq, { ...ctx, index: ctx.program.ops.indexOf(rq) });
  const yT = storage(ctx, rq.output);
  return [
    `${pad}{`,
    `${pad}  int32_t sums[${L}];`,
    `${pad}  const int c = ${rq.multipliers.length === 1 ? "0" : o};`,
    `${pad}  const int32_t *xc = sums;`,
    `${pad}  ${yT} *yc = y + (${at}) * ${L};`,
    `${pad}  for (int b = 0; b < ${L}; b++) sums[b] = ${value("b")};`,
    parts.loop(L, `${pad}  `),
    `${pad}}`,
  ].join("\n");
}

/**
 * The lines storing `n` contiguous int32 sums of channel `c` (a C expression;
 * `n` a count or a C expression) from `src` to `dst`: through the fused
 * requant, or copied where there is none. One channel's constants serve all n.
 */
export function runEpilogue(ctx: CEmitCtx, rq: RequantOp | undefined, c: string, src: string, dst: string, n: number | string, pad: string): string {
  if (!rq) return `${pad}for (int j = 0; j < ${n}; j++) (${dst})[j] = (${src})[j];`;
  const parts = requantParts(rq, { ...ctx, index: ctx.program.ops.indexOf(rq) });
  const yT = storage(ctx, rq.output);
  return [`${pad}{`, `${pad}  const int c = ${rq.multipliers.length === 1 ? "0" : c};`, `${pad}  const int32_t *xc = ${src};`, `${pad}  ${yT} *yc = ${dst};`, parts.loop(n, `${pad}  `), `${pad}}`].join("\n");
}
