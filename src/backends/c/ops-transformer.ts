/**
 * The transformer ops in the generated C (matmul of two activations, table,
 * softmax, layernorm, addconst, gather, slice), one sample per call: the
 * bodies are shared/transformer-c.ts's (the same text the HLS back end
 * prints), over the values' C storage types. A gather whose id lies outside
 * its table returns FIXQ_EINDEX (the emulator throws there).
 */
import { type TransformerOp, transformerText } from "../shared/transformer-c.js";
import { type CEmitCtx, type COpCode, opComment, opName, storage } from "./op-code.js";

/** The op's C function `static int opI_kind(const Tx *restrict x…, Ty *restrict y)`. */
export function emitTransformerOp(op: TransformerOp, ctx: CEmitCtx): COpCode {
  const name = opName(ctx.index, op);
  const k = transformerText(op, {
    program: ctx.program,
    index: ctx.index,
    read: (_v, element) => element,
    write: (v, e) => `(${storage(ctx, v)})(${e})`,
    reciprocal: true,
  });
  const args =
    op.kind === "matmul" || op.kind === "mul"
      ? [`const ${storage(ctx, op.inputs[0])} *restrict a`, `const ${storage(ctx, op.inputs[1])} *restrict b`]
      : [`const ${storage(ctx, op.input)} *restrict x`, ...(op.kind === "softmax" && op.mask !== undefined ? [`const ${storage(ctx, op.mask)} *restrict m`] : [])];
  return {
    name,
    decls: k.consts.join("\n"),
    text: `${opComment(op, ctx, k.what)}\nstatic int ${name}(${[...args, `${storage(ctx, op.output)} *restrict y`].join(", ")}) {\n${k.body}\n}`,
  };
}
