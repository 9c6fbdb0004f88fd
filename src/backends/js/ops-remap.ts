/**
 * The remap op in generated JS (no arithmetic on the values): one Int32Array
 * of flat input offsets per output axis, nested loops over the output axes,
 *   y[n, j] = x[n, Σ_a R_a[i_a]]          (j the flat output index of sample n)
 */
import type { RemapOp } from "../../integer/program.js";
import { type OpEmitter, numList, opFunctionName, opHeader, product } from "./codegen.js";

export const emitRemap: OpEmitter<RemapOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const inSize = product(ctx.value(op.input).shape);
  const outSize = product(ctx.value(op.output).shape);
  const table = (a: number) => `REMAP${ctx.index}_${a}`;
  const rank = op.offsets.length;
  const pad = (k: number) => "  ".repeat(k + 2);
  const loops = op.offsets.map((t, a) => `${pad(a)}for (let i${a} = 0; i${a} < ${t.length}; i${a}++) {\n${pad(a + 1)}const s${a} = ${a === 0 ? "xb" : `s${a - 1}`} + ${table(a)}[i${a}];`);
  const close = op.offsets.map((_, a) => `${pad(rank - 1 - a)}}`);
  const text = `${opHeader(op, ctx, "y[i_0, ...] = x[sum_a R_a[i_a]]")}
${op.offsets.map((t, a) => `const ${table(a)} = Int32Array.from(${numList(t)});`).join("\n")}
function ${name}(x, y, batch) {
  for (let n = 0; n < batch; n++) {
    const xb = n * ${inSize};
    let j = n * ${outSize};
${loops.join("\n")}
${pad(rank)}y[j++] = x[${rank === 0 ? "xb" : `s${rank - 1}`}];
${close.join("\n")}
  }
}`;
  return { name, text };
};
