/**
 * The transformer ops (matmul of two activations, mul, table, softmax,
 * layernorm, addconst, gather, slice) in the generated C's batch functions,
 * whose values live in the batch layout (element i of sample l at i·16 + l,
 * batch-tile.ts): so a transformer program's dense layers, requants,
 * rescales and data movement take the CNN ops' 16-sample kernels, and only
 * these ops are printed here. Each keeps the one definition of its
 * arithmetic (shared/transformer-c.ts, restating numerics/transformer.ts):
 *   table      elementwise and independent of the element's index: the
 *              one-sample function over each run of |x| elements of the
 *              16·|x| (the same table lookup, in another order);
 *   addconst   the one-sample body with a lane loop inside (offset[i mod n]
 *              by the element i, the same for its 16 lanes);
 *   the others per sample: lane l of each input is copied out into a
 *              sample-major scratch array, the one-sample function runs on it
 *              (the same function NAME_run calls), and its output goes back
 *              into lane l. A status other than 0 (an id outside its table)
 *              is returned at once, as a failing tile of the CNN ops is.
 * The scratch arrays are thread-local under -DFIXQ_THREADS (batch-api.ts).
 */
import { opInputs } from "../../integer/program.js";
import { type TransformerOp, transformerText } from "../shared/transformer-c.js";
import { type CEmitCtx, type COpCode, opComment, opName, storage } from "./op-code.js";
import { TILE } from "./tile-kernel.js";

const L = TILE;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The op's batch function `static int tileI_kind(const Tx *restrict x0…, Ty *restrict y)` over 16 samples. */
export function emitTileTransformer(op: TransformerOp, ctx: CEmitCtx): COpCode {
  const name = opName(ctx.index, op, L);
  const one = opName(ctx.index, op);
  const ins = opInputs(op);
  const xT = ins.map((v) => storage(ctx, v));
  const yT = storage(ctx, op.output);
  const params = [...ins.map((_, k) => `const ${xT[k]} *restrict x${k}`), `${yT} *restrict y`].join(", ");
  const n = size(ctx.value(op.output).shape);
  if (op.kind === "table") {
    const text = `${opComment(op, ctx, `as ${one}, over each sample's run of ${n} elements of the ${L}-sample tile (a lookup: any order)`)}
static int ${name}(${params}) {
  for (int c = 0; c < ${L}; c++) (void)${one}(x0 + c * ${n}, y + c * ${n});
  return 0;
}`;
    return { name, text };
  }
  if (op.kind === "addconst") {
    const k = transformerText(op, { program: ctx.program, index: ctx.index, read: (_v, e) => e, write: (v, e) => `(${storage(ctx, v)})(${e})`, lanes: L });
    const text = `${opComment(op, ctx, `${k.what}, ${L} samples`)}\nstatic int ${name}(const ${xT[0]} *restrict x, ${yT} *restrict y) {\n${k.body}\n}`;
    return { name, text };
  }
  // per sample: out of the lanes, through the one-sample function, back into lane l
  const sizes = ins.map((v) => size(ctx.value(v).shape));
  const scratch: Record<string, number> = { [`laney:${yT}`]: n };
  ins.forEach((_, k) => {
    scratch[`lane${k}:${xT[k]}`] = sizes[k]!;
  });
  const copyIn = ins.map((_, k) => `    for (int i = 0; i < ${sizes[k]}; i++) s${k}[i] = x${k}[i * ${L} + l];`).join("\n");
  const text = `${opComment(op, ctx, `as ${one}, one sample of the ${L} at a time`)}
static int ${name}(${params}) {
${ins.map((_, k) => `  ${xT[k]} *restrict s${k} = fixq_lane${k}_${xT[k]};`).join("\n")}
  ${yT} *restrict sy = fixq_laney_${yT};
  for (int l = 0; l < ${L}; l++) {
${copyIn}
    const int st = ${one}(${[...ins.map((_, k) => `s${k}`), "sy"].join(", ")});
    if (st != 0) return st;
    for (int i = 0; i < ${n}; i++) y[i * ${L} + l] = sy[i];
  }
  return 0;
}`;
  return { name, text, scratch };
}
