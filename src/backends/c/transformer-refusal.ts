/**
 * The transformer ops (matmul of two activations, table, softmax, layernorm,
 * addconst, and BERT's gather and slice; issue 17) are not in the C back end yet: its check refuses them
 * with this reason, naming the op, so `fixq compile --target c` stops before
 * writing anything. The emulator, the generated JS and the integer-only ONNX
 * run them (numerics/transformer.ts is their one definition).
 */
import type { CheckTable } from "../contract.js";
import type { IntOp } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import type { COpCode } from "./op-code.js";

const none = (): string[] => [];
const notYet = (op: { readonly kind: string }): string[] => [`the C back end does not implement ${op.kind} ops yet (the emulator, --target js and --target onnx-int run them)`];

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
  matmul: notYet,
  mul: notYet,
  table: notYet,
  softmax: notYet,
  layernorm: notYet,
  addconst: notYet,
  gather: notYet,
  slice: notYet,
} satisfies CheckTable;

/** Never reached after the check refuses the op. */
export function refusedInC(op: IntOp): COpCode {
  throw new FixqError("unsupported", `C back end: ${op.kind} ops are not implemented`, op.source);
}
