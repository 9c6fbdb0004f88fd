/**
 * The fixed-point rescale as an HLS layer (program.ts `fixedrescale`):
 *   y = clamp(O(round_Q(Σ_i x_i·m_i / 2^shift)), lo, hi)
 * printed from numerics' definition (numerics/fixed-rescale.ts) by the shared
 * C printer (int64_t arithmetic, which is C++ too), like the requant and
 * rescale layers (ops-data.ts). It is the value HLS gives for the assignment
 * `ap_fixed<W,W,Q,O> y = t·2^−shift` (test/backends/hls/fixed-cast.test.ts
 * checks that on fixq's ap_fixed.h, every mode).
 */
import type { FixedRescaleOp } from "../../integer/program.js";
import { fixedRescaleBody, fixedRescaleSummary } from "../shared/fixed-rescale-body.js";
import { printC } from "../shared/print-c.js";
import type { HlsDesign } from "./design.js";
import { readInt } from "./hls-types.js";
import { elementwiseLayer } from "./ops-data.js";

export function fixedRescaleLayer(d: HlsDesign, op: FixedRescaleOp, i: number): string {
  const p = printC(fixedRescaleBody(op), { where: `fixed rescale ${op.source}: ` }, new Map(op.inputs.map((_, k) => [`x${k}`, readInt(`x${k}[j]`, d.mode)])));
  return elementwiseLayer(d, i, op.source, fixedRescaleSummary(op), op.inputs, op.output, p);
}
