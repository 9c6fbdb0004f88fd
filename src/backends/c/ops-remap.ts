/**
 * The remap op (numerics/remap.ts) in the generated C: one table of flat
 * input offsets per output axis (file-scope constants), nested loops over the
 * output axes, and
 *   y[j] = x[Σ_a R_a[i_a]]                    (j the flat output index)
 * In the batch layout (lanes = TILE) element i of sample b sits at i·TILE + b,
 * so each move copies TILE lanes.
 */
import type { RemapOp } from "../../integer/program.js";
import { cList } from "./c-types.js";
import { type COpEmitter, opComment, opName, storage } from "./op-code.js";

export const emitRemap: COpEmitter<RemapOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const xT = storage(ctx, op.input);
  const yT = storage(ctx, op.output);
  const table = (a: number) => `REMAP${ctx.index}_${a}`;
  const decls = op.offsets.map((t, a) => `static const int32_t ${table(a)}[${t.length}] = ${cList(t)};`).join("\n");
  const rank = op.offsets.length;
  const pad = (k: number) => "  ".repeat(k + 1);
  const loops = op.offsets.map((t, a) => `${pad(a)}for (int i${a} = 0; i${a} < ${t.length}; i${a}++) {\n${pad(a + 1)}const int32_t s${a} = ${a === 0 ? "" : `s${a - 1} + `}${table(a)}[i${a}];`);
  const src = rank === 0 ? "0" : `s${rank - 1}`;
  const move =
    lanes === 1 ? `${pad(rank)}y[j++] = (${yT})x[${src}];` : `${pad(rank)}for (int b = 0; b < ${lanes}; b++) y[j * ${lanes} + b] = (${yT})x[${src} * ${lanes} + b];\n${pad(rank)}j++;`;
  const close = op.offsets.map((_, a) => `${pad(rank - 1 - a)}}`);
  return {
    name,
    decls,
    text: `${opComment(op, ctx, "y[i_0, ...] = x[sum_a R_a[i_a]]: a gather with a compile-time index map")}\nstatic int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {\n  int j = 0;\n${loops.join("\n")}\n${move}\n${close.join("\n")}\n  return 0;\n}`,
  };
};
