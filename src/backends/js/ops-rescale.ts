/**
 * Rescale in generated JS: residual Add, Concat branches, standalone ReLU,
 * a change of scale, as one rounding of an exact sum:
 *   y = clamp(outZero + rshr(Σ_i (x_i − z_i)·m_i, shift), lo, hi),  rshr(t, s) = ⌊(t + 2^(s−1)) / 2^s⌋
 * The program bounds every term below 2^48, so the sum is exact in doubles.
 */
import type { RescaleOp } from "../../integer/program.js";
import { type OpEmitter, num, opFunctionName, opHeader, shapeText } from "./codegen.js";
import { minusZero } from "./ops-io.js";

export const emitRescale: OpEmitter<RescaleOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const where = `rescale '${op.source}'`;
  const n = op.inputs.length;
  if (op.inputZeros.length !== n || op.multipliers.length !== n) throw new Error(`${where}: ${n} inputs but ${op.inputZeros.length} zero points and ${op.multipliers.length} multipliers`);
  if (!Number.isInteger(op.shift) || op.shift < 0) throw new Error(`${where}: shift ${op.shift} is not a non-negative integer`);
  const terms = op.inputs
    .map((_, k) => ({ k, m: op.multipliers[k]!, z: op.inputZeros[k]! }))
    .filter((t) => t.m !== 0)
    .map((t) => `(${minusZero(`x${t.k}[j]`, t.z)}) * ${num(t.m)}`);
  const sum = terms.length > 0 ? terms.join(" + ") : "0";
  const s = op.shift;
  const shifted = s === 0 ? "t" : `Math.floor((t + ${num(2 ** (s - 1))}) * ${num(2 ** -s)})`;
  const what =
    `y = clamp(${op.outZero} + rshr(Σ (x_i − z_i)·m_i, ${s}), ${op.clampLo}, ${op.clampHi}), ` +
    `z = ${shapeText(op.inputZeros)}, m = ${shapeText(op.multipliers)}`;
  const args = op.inputs.map((_, k) => `x${k}`);
  const text = `${opHeader(op, ctx, what)}
function ${name}(${args.join(", ")}, y) {
  for (let j = 0; j < y.length; j++) {
    const t = ${sum}; // exact: |t| < 2^53
    const q = ${minusZero(shifted, -op.outZero)};
    y[j] = q < ${num(op.clampLo)} ? ${num(op.clampLo)} : q > ${num(op.clampHi)} ? ${num(op.clampHi)} : q;
  }
}`;
  return { name, text };
};
