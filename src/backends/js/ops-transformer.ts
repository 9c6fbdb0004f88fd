/**
 * The transformer ops in generated JS. Their arithmetic is numerics'
 * (numerics/transformer.ts): the module embeds the source text of those
 * kernels once (`transformerPreludeText`), and each op calls its kernel with
 * its constants, so the module and the emulator run the same code.
 */
import type { AddConstOp, GatherOp, LayerNormOp, MatMulOp, MulOp, SliceOp, SoftmaxOp, TableOp } from "../../integer/program.js";
import { sampleSize } from "../../integer/program.js";
import { addConstKernel, layerNormKernel, matmulKernel, mulKernel, softmaxKernel, tableKernel } from "../../numerics/transformer.js";
import { gatherKernel, sliceKernel } from "../../numerics/gather.js";
import { intsExpr } from "./blob.js";
import { numList, type OpEmitter, opFunctionName, opHeader, product } from "./codegen.js";

/** Name in the module → [numerics kernel, its source file]. */
const KERNELS: Readonly<Record<string, readonly [(...args: never[]) => void, string]>> = {
  fixqMatmul: [matmulKernel, "transformer"],
  fixqMul: [mulKernel, "transformer"],
  fixqTable: [tableKernel, "transformer"],
  fixqSoftmax: [softmaxKernel, "transformer"],
  fixqLayerNorm: [layerNormKernel, "transformer"],
  fixqAddConst: [addConstKernel, "transformer"],
  fixqGather: [gatherKernel, "gather"],
  fixqSlice: [sliceKernel, "gather"],
};

/** Definitions of the numerics kernels the op texts call, each once. */
export function transformerPreludeText(opTexts: readonly string[]): string {
  return Object.entries(KERNELS)
    .filter(([name]) => opTexts.some((t) => t.includes(`${name}(`)))
    .map(([name, [fn, file]]) => `// numerics/${file}.ts ${fn.name}, verbatim\nconst ${name} = ${fn.toString()};`)
    .join("\n\n");
}

export const emitGather: OpEmitter<GatherOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const text = `${opHeader(op, ctx, `y[i, :] = table[ids[i], :], ${op.rows} rows of ${op.width}`)}
const ROWS${ctx.index} = ${intsExpr(op.table)};
function ${name}(x, y) {
  fixqGather(x, y, ROWS${ctx.index}, ${op.rows}, ${op.width});
}`;
  return { name, text };
};

export const emitSlice: OpEmitter<SliceOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const s = ctx.value(op.input).shape;
  const text = `${opHeader(op, ctx, `rows ${op.start}…${op.end - 1} of axis ${op.axis}`)}
function ${name}(x, y, batch) {
  fixqSlice(x, y, batch * ${product(s.slice(0, op.axis))}, ${s[op.axis]}, ${product(s.slice(op.axis + 1))}, ${op.start}, ${op.end});
}`;
  return { name, text };
};

export const emitMatMul: OpEmitter<MatMulOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const a = ctx.value(op.inputs[0]).shape;
  const b = ctx.value(op.inputs[1]).shape;
  const r = a.length;
  const [M, K, N] = [a[r - 2]!, a[r - 1]!, b[r - 1]!];
  const lead = sampleSize(a.slice(0, r - 2));
  const text = `${opHeader(op, ctx, `acc = Σ_k (a − ${op.inputZeros[0]})·(b − ${op.inputZeros[1]}), [${M}×${K}]·[${K}×${N}]`)}
function ${name}(a, b, y, batch) {
  fixqMatmul(a, ${op.inputZeros[0]}, b, ${op.inputZeros[1]}, y, batch * ${lead}, ${M}, ${K}, ${N});
}`;
  return { name, text };
};

export const emitMul: OpEmitter<MulOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const [a, b, y] = [ctx.value(op.inputs[0]).shape, ctx.value(op.inputs[1]).shape, ctx.value(op.output).shape];
  const text = `${opHeader(op, ctx, `acc = (a − ${op.inputZeros[0]})·(b − ${op.inputZeros[1]}), [${a}] ⊙ [${b}] → [${y}]`)}
function ${name}(a, b, y, batch) {
  fixqMul(a, ${op.inputZeros[0]}, b, ${op.inputZeros[1]}, y, batch, ${numList(y)}, ${numList(a)}, ${numList(b)});
}`;
  return { name, text };
};

export const emitTable: OpEmitter<TableOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const t = `TABLE${ctx.index}`;
  const text = `${opHeader(op, ctx, `y = table[x − ${op.inputMin}]`)}
const ${t} = Int32Array.from(${numList(op.table)});
function ${name}(x, y) {
  fixqTable(x, y, ${t}, ${op.inputMin});
}`;
  return { name, text };
};

export const emitSoftmax: OpEmitter<SoftmaxOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const s = ctx.value(op.input).shape;
  const t = `EXP${ctx.index}`;
  const text = `${opHeader(op, ctx, `softmax over ${s[s.length - 1]}${op.mask === undefined ? "" : " (keys where mask ≠ 0 excluded)"}, exp table, y = clamp(${op.outZero} + ⌊(e·${op.numerator} + Σ·2^${op.shift - 1}) / (Σ·2^${op.shift})⌋)`)}
const ${t} = Int32Array.from(${numList(op.exp)});
function ${name}(x, ${op.mask === undefined ? "" : "mask, "}y) {
  fixqSoftmax(x, y, ${s[s.length - 1]}, ${t}, ${op.numerator}, ${op.shift}, ${op.outZero}, ${op.clampLo}, ${op.clampHi}${op.mask === undefined ? "" : ", mask"});
}`;
  return { name, text };
};

export const emitLayerNorm: OpEmitter<LayerNormOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const s = ctx.value(op.input).shape;
  const text = `${opHeader(op, ctx, `${op.rmsZero === undefined ? "layernorm" : `rmsnorm (zero point ${op.rmsZero})`} over ${s[s.length - 1]}, k = ${op.varShift}, F = ${op.fracBits}, E = ${op.epsilon}`)}
const GAMMA${ctx.index} = ${numList(op.gamma)};
const BETA${ctx.index} = ${numList(op.beta)};
function ${name}(x, y) {
  fixqLayerNorm(x, y, ${s[s.length - 1]}, GAMMA${ctx.index}, BETA${ctx.index}, ${op.varShift}, ${op.fracBits}, ${op.epsilon}, ${op.outZero}, ${op.clampLo}, ${op.clampHi}, ${op.rmsZero ?? null});
}`;
  return { name, text };
};

export const emitAddConst: OpEmitter<AddConstOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const text = `${opHeader(op, ctx, `y = clamp(${op.outZero} + rshr((x − ${op.inputZero})·${op.multiplier} + offset[i], ${op.shift}))`)}
const OFFSET${ctx.index} = ${numList(op.offset)};
function ${name}(x, y) {
  fixqAddConst(x, y, ${op.inputZero}, ${op.multiplier}, OFFSET${ctx.index}, ${op.shift}, ${op.outZero}, ${op.clampLo}, ${op.clampHi});
}`;
  return { name, text };
};
