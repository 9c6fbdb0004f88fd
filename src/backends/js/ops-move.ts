/**
 * Data movement in generated JS (no arithmetic):
 *   reshape:   a copy (row-major order is unchanged)
 *   transpose: y[n, i] = x[n, MAP[i]], MAP precomputed per sample from the shape and perm
 *   concat:    per sample, for each index before `axis`, each input's contiguous block in turn
 */
import type { ConcatOp, ReshapeOp, TransposeOp } from "../../integer/program.js";
import { type OpEmitter, opFunctionName, opHeader, product, shapeText } from "./codegen.js";

export const emitReshape: OpEmitter<ReshapeOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const text = `${opHeader(op, ctx, "copy")}
function ${name}(x, y) {
  y.set(x);
}`;
  return { name, text };
};

export const emitTranspose: OpEmitter<TransposeOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const shape = ctx.value(op.input).shape;
  const size = product(shape);
  const map = `MAP${ctx.index}`;
  const text = `${opHeader(op, ctx, `perm ${shapeText(op.perm)}`)}
const ${map} = transposeMap(${shapeText(shape)}, ${shapeText(op.perm)});
function ${name}(x, y, batch) {
  for (let n = 0; n < batch; n++) {
    const o = n * ${size};
    for (let i = 0; i < ${size}; i++) y[o + i] = x[o + ${map}[i]];
  }
}`;
  return { name, text };
};

export const emitConcat: OpEmitter<ConcatOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const outShape = ctx.value(op.output).shape;
  const outer = product(outShape.slice(0, op.axis));
  const inner = product(outShape.slice(op.axis + 1));
  const blocks = op.inputs.map((n) => ctx.value(n).shape[op.axis]! * inner);
  const args = op.inputs.map((_, i) => `x${i}`);
  const copies = blocks
    .map((b, i) => `    y.set(x${i}.subarray(m * ${b}, (m + 1) * ${b}), o);\n    o += ${b};`)
    .join("\n");
  const text = `${opHeader(op, ctx, `axis ${op.axis}`)}
function ${name}(${args.join(", ")}, y, batch) {
  for (let m = 0, o = 0; m < batch * ${outer}; m++) {
${copies}
  }
}`;
  return { name, text };
};
