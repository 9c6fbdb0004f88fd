/**
 * The program's float boundary in generated JS, printed from numerics'
 * definitions (numerics/definitions.ts):
 *   quantize:   q = clamp(roundHalfEven(float32(x / scale)) + zeroPoint, qmin, qmax)   (ONNX QuantizeLinear)
 *   dequantize: y = float32(float32(q − zeroPoint) · scale)                            (ONNX DequantizeLinear)
 * Scales are rounded to float32 first, as ONNX stores them. A NaN input quantizes to NaN, which the Int32Array stores as 0.
 */
import type { DequantizeOp, QuantizeOp } from "../../integer/program.js";
import { dequantizeDef, quantizeDef } from "../../numerics/definitions.js";
import { type Expr, num as numE, substitute } from "../../numerics/expr.js";
import { printJs } from "../shared/print-js.js";
import { type OpEmitter, num, opFunctionName, opHeader } from "./codegen.js";

/** `x − z` as text, simplified for z = 0 and negative z. */
export function minusZero(x: string, z: number): string {
  if (z === 0) return x;
  return z < 0 ? `${x} + ${num(-z)}` : `${x} - ${num(z)}`;
}

/** The loop body assigning `y[i]`: the definition with its constants bound, printed. */
function elementwise(body: Expr, consts: Readonly<Record<string, number>>, input: string): string {
  const bind = Object.fromEntries(Object.entries(consts).map(([k, x]): [string, Expr] => [k, numE(x)]));
  const p = printJs(substitute(body, bind), {}, new Map([[input, "x[i]"]]));
  return [...p.hoisted, ...p.body, `y[i] = ${p.value};`].map((l) => `    ${l}`).join("\n");
}

export const emitQuantize: OpEmitter<QuantizeOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const scale = Math.fround(op.scale); // ONNX scales are float32
  const what = `q = clamp(roundHalfEven(float32(x / ${num(scale)})) + ${num(op.zeroPoint)}, ${op.qmin}, ${op.qmax})`;
  const text = `${opHeader(op, ctx, what)}
function ${name}(x, y) {
  for (let i = 0; i < y.length; i++) {
${elementwise(quantizeDef.body, { scale, z: op.zeroPoint, qmin: op.qmin, qmax: op.qmax }, "x")}
  }
}`;
  return { name, text };
};

export const emitDequantize: OpEmitter<DequantizeOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const scale = Math.fround(op.scale);
  const what = `y = float32(float32(q − ${num(op.zeroPoint)}) · ${num(scale)})`;
  const text = `${opHeader(op, ctx, what)}
function ${name}(x, y) {
  for (let i = 0; i < y.length; i++) {
${elementwise(dequantizeDef.body, { scale, z: op.zeroPoint }, "q")}
  }
}`;
  return { name, text };
};
