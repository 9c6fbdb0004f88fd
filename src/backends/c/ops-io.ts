/**
 * The float boundary and data movement in the generated C, one sample at a time.
 * Printed from numerics' definitions (numerics/definitions.ts):
 *   quantize:   q = clamp(roundHalfEven(float32(x / scale)) + zeroPoint, qmin, qmax)   (ONNX QuantizeLinear;
 *               a NaN input gives 0, as the emulator's int32 store of NaN does)
 *   dequantize: y = float32(float32(q − zeroPoint) · scale)                            (ONNX DequantizeLinear)
 * Scales are rounded to float32 first, as ONNX stores them. Data movement:
 *   reshape: a copy;  transpose: y[i] = x[MAP[i]], MAP computed here;  concat: each input's block in turn.
 */
import type { ConcatOp, DequantizeOp, QuantizeOp, ReshapeOp, TransposeOp } from "../../integer/program.js";
import { laneQuantizeLoop } from "./quantize-avx2.js";
import { dequantizeDef, quantizeDef } from "../../numerics/definitions.js";
import { type Expr, num as numE, substitute } from "../../numerics/expr.js";
import { cDouble, printC } from "../shared/print-c.js";
import { C_BYTES, cList } from "./c-types.js";
import { type COpEmitter, opComment, opName, storage } from "./op-code.js";

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The loop body assigning `target` (default y[i]) from the definition with its constants bound. */
export function elementwise(body: Expr, consts: Readonly<Record<string, number>>, names: ReadonlyMap<string, string>, store: (value: string) => string, target = "y[i]", pad = "    "): string {
  const bind = Object.fromEntries(Object.entries(consts).map(([k, x]): [string, Expr] => [k, numE(x)]));
  const p = printC(substitute(body, bind), { reals: new Set(["x", "scale"]) }, names);
  return [...p.hoisted, ...p.body, `${target} = ${store(p.value)};`].map((l) => `${pad}${l}`).join("\n");
}

export const emitQuantize: COpEmitter<QuantizeOp> = (op, ctx) => {
  const name = opName(ctx.index, op);
  const scale = Math.fround(op.scale);
  const yT = storage(ctx, op.output);
  const n = size(ctx.value(op.output).shape);
  const what = `q = clamp(roundHalfEven(float32(x / ${cDouble(scale)})) + ${op.zeroPoint}, ${op.qmin}, ${op.qmax})`;
  const body = elementwise(quantizeDef.body, { scale, z: op.zeroPoint, qmin: op.qmin, qmax: op.qmax }, new Map([["x", "(double)x[i]"]]), (v) => `(${yT})fixq_d2i32(${v})`); // clamped into [qmin, qmax] ⊂ int32 first
  const lanes = laneQuantizeLoop(op, yT, "x", "y", n, "  ");
  return { name, text: `${opComment(op, ctx, what)}\nstatic int ${name}(const float *restrict x, ${yT} *restrict y) {\n  int i = 0;\n${lanes ? `${lanes}\n` : ""}  for (; i < ${n}; i++) {\n${body}\n  }\n  return 0;\n}` };
};

export const emitDequantize: COpEmitter<DequantizeOp> = (op, ctx) => {
  const name = opName(ctx.index, op);
  const scale = Math.fround(op.scale);
  const xT = storage(ctx, op.input);
  const n = size(ctx.value(op.input).shape);
  const what = `y = float32(float32(q - ${op.zeroPoint}) * ${cDouble(scale)})`;
  const body = elementwise(dequantizeDef.body, { scale, z: op.zeroPoint }, new Map([["q", "(int64_t)x[i]"]]), (v) => `(float)(${v})`);
  return { name, text: `${opComment(op, ctx, what)}\nstatic int ${name}(const ${xT} *restrict x, float *restrict y) {\n  for (int i = 0; i < ${n}; i++) {\n${body}\n  }\n  return 0;\n}` };
};

export const emitReshape: COpEmitter<ReshapeOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const xT = storage(ctx, op.input);
  const yT = storage(ctx, op.output);
  const n = size(ctx.value(op.input).shape) * lanes; // the batch layout keeps the flat order, TILE lanes per element
  const copy = xT === yT ? `memcpy(y, x, ${n * C_BYTES[xT]});` : `for (int i = 0; i < ${n}; i++) y[i] = (${yT})x[i];`;
  return { name, text: `${opComment(op, ctx, "copy")}\nstatic int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {\n  ${copy}\n  return 0;\n}` };
};

/** For each flat index of the transposed tensor, the flat index it reads. */
function transposeMap(shape: readonly number[], perm: readonly number[]): Int32Array {
  const rank = shape.length;
  const inStride: number[] = new Array(rank);
  let n = 1;
  for (let k = rank - 1; k >= 0; k--) {
    inStride[k] = n;
    n *= shape[k]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const stride = perm.map((p) => inStride[p]!);
  const map = new Int32Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let k = 0; k < rank; k++) off += idx[k]! * stride[k]!;
    map[i] = off;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return map;
}

export const emitTranspose: COpEmitter<TransposeOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const shape = ctx.value(op.input).shape;
  const xT = storage(ctx, op.input);
  const yT = storage(ctx, op.output);
  const map = transposeMap(shape, op.perm);
  const move =
    lanes === 1
      ? `for (int i = 0; i < ${map.length}; i++) y[i] = (${yT})x[MAP${ctx.index}[i]];`
      : `for (int i = 0; i < ${map.length}; i++)\n    for (int b = 0; b < ${lanes}; b++) y[i * ${lanes} + b] = (${yT})x[MAP${ctx.index}[i] * ${lanes} + b];`;
  return {
    name,
    decls: `static const int32_t MAP${ctx.index}[${map.length}] = ${cList(map)};`,
    text: `${opComment(op, ctx, `perm [${op.perm.join(", ")}]`)}\nstatic int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {\n  ${move}\n  return 0;\n}`,
  };
};

export const emitConcat: COpEmitter<ConcatOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const outShape = ctx.value(op.output).shape;
  const yT = storage(ctx, op.output);
  const outer = size(outShape.slice(0, op.axis));
  const inner = size(outShape.slice(op.axis + 1)) * lanes; // blocks stay contiguous in the batch layout
  const blocks = op.inputs.map((n) => ctx.value(n).shape[op.axis]! * inner);
  const args = op.inputs.map((x, k) => `const ${storage(ctx, x)} *restrict x${k}`);
  const copies = blocks.map((b, k) => `    for (int j = 0; j < ${b}; j++) y[o + j] = (${yT})x${k}[m * ${b} + j];\n    o += ${b};`).join("\n");
  return {
    name,
    text: `${opComment(op, ctx, `axis ${op.axis}`)}\nstatic int ${name}(${args.join(", ")}, ${yT} *restrict y) {\n  int o = 0;\n  for (int m = 0; m < ${outer}; m++) {\n${copies}\n  }\n  return 0;\n}`,
  };
};
