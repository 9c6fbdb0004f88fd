/**
 * The program's float boundary in generated JS:
 *   quantize:   q = clamp(roundHalfEven(float32(x / scale)) + zeroPoint, qmin, qmax)   (ONNX QuantizeLinear)
 *   dequantize: y = float32(float32(q − zeroPoint) · scale)                            (ONNX DequantizeLinear)
 * Scales are rounded to float32 first, as ONNX stores them. A NaN input quantizes to NaN, which the Int32Array stores as 0.
 */
import type { DequantizeOp, QuantizeOp } from "../../integer/program.js";
import { type OpEmitter, num, opFunctionName, opHeader } from "./codegen.js";

/** `x − z` as text, simplified for z = 0 and negative z. */
export function minusZero(x: string, z: number): string {
  if (z === 0) return x;
  return z < 0 ? `${x} + ${num(-z)}` : `${x} - ${num(z)}`;
}

export const emitQuantize: OpEmitter<QuantizeOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const scale = Math.fround(op.scale); // ONNX scales are float32
  const what = `q = clamp(roundHalfEven(float32(x / ${num(scale)})) + ${num(op.zeroPoint)}, ${op.qmin}, ${op.qmax})`;
  const text = `${opHeader(op, ctx, what)}
function ${name}(x, y) {
  for (let i = 0; i < y.length; i++) {
    const q = ${minusZero(`roundHalfEven(Math.fround(x[i] / ${num(scale)}))`, -op.zeroPoint)};
    y[i] = q < ${num(op.qmin)} ? ${num(op.qmin)} : q > ${num(op.qmax)} ? ${num(op.qmax)} : q;
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
  for (let i = 0; i < y.length; i++) y[i] = Math.fround(Math.fround(${minusZero("x[i]", op.zeroPoint)}) * ${num(scale)});
}`;
  return { name, text };
};
