/**
 * What the C back end refuses beyond numerics' domain: a softmax whose exp
 * table does not cover every difference of its input's type (the
 * generated code indexes it without a bound check; fixq's lowering always
 * builds full tables, so only a hand-made program meets this), and the mul
 * op (activation ⊙ activation), not implemented in C/HLS yet.
 */
import type { CheckTable } from "../contract.js";
import type { IntOp } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import { softmaxCoverage } from "../shared/transformer-c.js";
import type { COpCode } from "./op-code.js";

const none = (): string[] => [];
const notYet = (op: { readonly kind: string }): string[] => [`the C back end does not implement ${op.kind} ops yet (the emulator, --target js and --target onnx-int run them)`];

/** The emitter of the ops `notYet` refuses: never reached after the check. */
export function refusedInC(op: IntOp): COpCode {
  throw new FixqError("unsupported", `C back end: ${op.kind} ops are not implemented`, op.source);
}

export const C_CHECKS = {
  quantize: none,
  dequantize: none,
  conv: none,
  dense: none,
  sumpool: none,
  maxpool: none,
  requant: none,
  rescale: none,
  fixedrescale: none,
  reshape: none,
  transpose: none,
  concat: none,
  matmul: none,
  mul: notYet,
  table: none,
  softmax: (op, ctx) => softmaxCoverage(op, ctx.typeRange),
  layernorm: none,
  addconst: none,
  gather: none,
  slice: none,
} satisfies CheckTable;
