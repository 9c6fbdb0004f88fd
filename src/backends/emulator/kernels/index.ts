/** One kernel per op kind; a kind without a kernel is a compile error. */
import type { IntOpKind } from "../../../integer/program.js";
import type { Kernel } from "../kernel.js";
import { dequantizeKernel, quantizeKernel } from "./boundary.js";
import { convKernel } from "./conv.js";
import { denseKernel } from "./dense.js";
import { concatKernel, reshapeKernel, transposeKernel } from "./movement.js";
import { gatherKernelOp, sliceKernelOp } from "./gather.js";
import { remapKernelOp } from "./remap.js";
import { maxpoolKernel, sumpoolKernel } from "./pool.js";
import { requantKernel, rescaleKernel } from "./requant.js";
import { fixedRescaleKernel } from "./fixed.js";
import { addConstKernelOp, layerNormKernelOp, matmulKernelOp, mulKernelOp, softmaxKernelOp, tableKernelOp } from "./transformer.js";

export const KERNELS = {
  quantize: quantizeKernel,
  dequantize: dequantizeKernel,
  conv: convKernel,
  dense: denseKernel,
  sumpool: sumpoolKernel,
  maxpool: maxpoolKernel,
  requant: requantKernel,
  rescale: rescaleKernel,
  fixedrescale: fixedRescaleKernel,
  reshape: reshapeKernel,
  transpose: transposeKernel,
  concat: concatKernel,
  matmul: matmulKernelOp,
  mul: mulKernelOp,
  table: tableKernelOp,
  softmax: softmaxKernelOp,
  layernorm: layerNormKernelOp,
  addconst: addConstKernelOp,
  gather: gatherKernelOp,
  slice: sliceKernelOp,
  remap: remapKernelOp,
} satisfies { [K in IntOpKind]: Kernel<K> };
