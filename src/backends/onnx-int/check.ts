/**
 * The domain the integer-only ONNX export implements, narrower than numerics'
 * (shared/numerics-checks.ts, checked first):
 *   quantize              an output of ≤ 16 bits (QuantizeLinear's types); a scale that is a float32
 *   dequantize            a scale that is a float32; above 16 bits, q − zeroPoint inside int32
 *   requant, single       m·2^−s with a left shift of at most 30 (s ≥ −30), so acc·m·2^−s fits uint64
 *   requant, double       s ≥ 1 (a left shift of at most 30)
 *   sumpool, maxpool      [C, H, W] inputs
 * Carriers: ≤ 8 bits → (u)int8, else int32; numerics-checks already refuses uint32.
 * (rescale: numerics' shifts ≤ 52 are inside the graph's 1…62.)
 *   matmul                8-bit operands with zero points inside their carrier (MatMulInteger)
 */
import type { CheckTable } from "../contract.js";
import type { Program } from "../../integer/program.js";
import { intMax, intMin, intTypeName } from "../../numerics/int.js";

const float32Scale = (scale: number): string[] => (scale > 0 && Number.isFinite(scale) && Math.fround(scale) === scale ? [] : [`scale ${scale} is not a positive finite float32`]);

const none = (): string[] => [];

/** MatMulInteger takes 8-bit operands whose zero point fits their (possibly shifted to uint8) carrier. */
const byteMatMulOperand = (p: Program, input: string, zero: number): string[] => {
  const t = p.values.get(input)?.type;
  if (!t || t.bits > 8) return [`matmul operand '${input}' is wider than 8 bits (MatMulInteger takes uint8/int8)`];
  const [lo, hi] = t.signed ? [-128, 127] : [0, 255];
  return zero >= lo && zero <= hi ? [] : [`matmul operand '${input}' has zero point ${zero} outside its 8-bit carrier`];
};

const windowInput = (p: Program, kind: string, input: string): string[] => {
  const shape = p.values.get(input)?.shape ?? [];
  return shape.length === 3 ? [] : [`${kind} needs a [C, H, W] input, not [${shape.join(",")}]`];
};

export const ONNX_INT_CHECKS = {
  quantize: (op, { program }) => {
    const t = program.values.get(op.output)?.type;
    if (program.inputs.some((io) => io.name === op.input && io.integer === true)) return []; // an int64 clamp, not QuantizeLinear (gather.ts)
    const qdq = t && t.bits > 16 ? [`QuantizeLinear/DequantizeLinear have no ${intTypeName(t)} type (at most 16 bits)`] : [];
    return [...qdq, ...float32Scale(op.scale)];
  },
  dequantize: (op, { program }) => {
    const t = program.values.get(op.input)?.type;
    const wide = t && t.bits > 16 && (intMin(t) - op.zeroPoint < -(2 ** 31) || intMax(t) - op.zeroPoint > 2 ** 31 - 1);
    return [...float32Scale(op.scale), ...(wide ? [`dequantizing ${intTypeName(t)} with zero point ${op.zeroPoint} can overflow int32`] : [])];
  },
  conv: none,
  dense: none,
  sumpool: (op, { program }) => windowInput(program, "sumpool", op.input),
  maxpool: (op, { program }) => windowInput(program, "maxpool", op.input),
  requant: (op, { program }) => {
    const issues: string[] = [];
    for (const d of op.multipliers) {
      if (d.m === 0) continue;
      if (program.rounding === "single" && d.s < -30) issues.push(`multiplier ${d.m}·2^${-d.s} is too large (left shift above 30)`);
      if (program.rounding === "double" && d.s < 1) issues.push(`double rounding needs shifts in 1…62, not ${d.s} (multiplier ${d.m})`);
    }
    return issues;
  },
  rescale: none,
  fixedrescale: none,
  reshape: none,
  transpose: none,
  concat: none,
  matmul: (op, { program }) => op.inputs.flatMap((i, k) => byteMatMulOperand(program, i, op.inputZeros[k]!)),
  mul: none,
  table: none,
  softmax: none,
  layernorm: none,
  addconst: none,
  gather: none,
  slice: none,
  remap: none,
} satisfies CheckTable;
