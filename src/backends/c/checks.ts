/**
 * What the C back end refuses beyond numerics' domain: a softmax whose exp
 * table does not cover every difference of its input's type (the
 * generated code indexes it without a bound check; fixq's lowering always
 * builds full tables, so only a hand-made program meets this).
 */
import type { CheckTable } from "../contract.js";
import { softmaxCoverage } from "../shared/transformer-c.js";

const none = (): string[] => [];

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
  mul: none,
  table: none,
  softmax: (op, ctx) => softmaxCoverage(op, ctx.typeRange),
  layernorm: none,
  addconst: none,
  gather: none,
  slice: none,
  remap: none,
} satisfies CheckTable;
