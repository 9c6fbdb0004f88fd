/**
 * The activation × activation matmul as an HLS layer in the reuse-factor
 * style of the conv/dense layers (mac-layer.ts), over one sample:
 *   y[h, m, n] = Σ_k (a[h, m, k] − za) · (b[h, k, n] − zb)
 * (shapes and widths: matmul-shape.ts). Per head h, b[h] − zb is copied into
 * a local block bt[n·K + k] (its transpose, `Load`, pipelined at II = 1),
 * which plays the weights' part: a row (h, m) is W = K·N products run as R
 * reuse steps of BF = W / R products, product t = ir + R·im of step ir,
 *   acc[t / K] += (a[h, m, t mod K] − za) · bt[t],
 * so bt in BF blocks (`ARRAY_RESHAPE block factor=BF`) gives each step one
 * element per bank; the row loop has `PIPELINE II=R` and `ALLOCATION … mul
 * limit=BF`, the row's taps and accumulators are partitioned completely.
 * Types: ap mode, the operands ap_int of their certified widths and the
 * accumulator ap_int of the certificate's proven width, so the sum is exact
 * in any order and the store into the int32 output keeps it (ap_int's
 * construction keeps the low bits: the emulator's Int32Array store);
 * stdint, the C back end's choice (int32_t where no partial sum can reach
 * 2^31 over the input types, else int64_t stored modulo 2^32, fixq_wrap32).
 * The same integers as shared/transformer-c.ts's loop, summed in another
 * order: integer sums, so the bits are the same.
 */
import type { MatMulOp } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { cInt, cComment } from "../shared/print-c.js";
import type { HlsDesign } from "./design.js";
import { intTypeName, readInt, writeInt } from "./hls-types.js";
import { matmulShape } from "./matmul-shape.js";

export function matmulLayer(d: HlsDesign, op: MatMulOp, i: number): string {
  const p = d.program;
  const plan = d.layers.get(op.source);
  if (!plan) throw new Error(`${op.source}: no reuse plan`);
  const s = matmulShape(p, d.cert, op);
  const { heads: H, m: M, k: K, n: N } = s;
  const R = plan.reuseFactor;
  const W = K * N;
  const BF = W / R;
  const [za, zb] = op.inputZeros;
  const minus = (e: string, z: number) => (z === 0 ? e : `${e} - ${cInt(z)}`);
  const [aT, bT, accT] = [`layer${i}_a_t`, `layer${i}_b_t`, `layer${i}_acc_t`];
  const outBits = p.values.get(op.output)!.type.bits;
  let acc: string;
  let product: string;
  let store: string;
  if (d.mode === "ap") {
    acc = intTypeName({ bits: s.accBits, signed: true }, "ap");
    product = `av[t % ${K}] * bt[t]`;
    store = "acc[n]";
  } else {
    // the C back end's choice, over the input types (shared/transformer-c.ts)
    const typeMax = (v: string, z: number) => Math.max(Math.abs(intMin(p.values.get(v)!.type) - z), Math.abs(intMax(p.values.get(v)!.type) - z));
    const narrow = K * typeMax(op.inputs[0], za) * typeMax(op.inputs[1], zb) < 2 ** 31;
    acc = narrow ? "int32_t" : "int64_t";
    product = `(${accT})av[t % ${K}] * (${accT})bt[t]`;
    store = narrow || outBits > 32 ? "acc[n]" : "fixq_wrap32(acc[n])";
  }
  const yT = d.typeOf.get(op.output)!;
  const size = (v: string) => p.values.get(v)!.shape.reduce((x, y) => x * y, 1);
  const arg = (v: string, x: string, out = false) => `${out ? "" : "const "}${d.typeOf.get(v)!} ${x}[${size(v)}]`;
  return `/* layer ${i}: ${cComment(op.source)}, ${H} x [${M}x${K}].[${K}x${N}]
 * y[h, m, n] = sum_k (a - ${za}) * (b - ${zb}) in ${accT}; per head b - ${zb} is loaded transposed into bt;
 * reuse factor ${R}: each row's ${W} products in ${R} step(s) of ${BF} (product t = ir + ${R} * im),
 * ${BF} multipliers, one row every ${R} cycle(s). */
typedef ${intTypeName({ bits: s.aBits, signed: true }, d.mode)} ${aT}; /* a - ${za} over a's certified range */
typedef ${intTypeName({ bits: s.bBits, signed: true }, d.mode)} ${bT}; /* b - ${zb} over b's certified range */
typedef ${acc} ${accT}; /* ${d.mode === "ap" ? `the certificate's proven ${s.accBits}-bit range of the sum` : "the C back end's sum type"} */
static int layer${i}(${arg(op.inputs[0], "a")}, ${arg(op.inputs[1], "b")}, ${arg(op.output, "y", true)}) {
  Head: for (int h = 0; h < ${H}; h++) {
    ${bT} bt[${W}];
#pragma HLS ARRAY_RESHAPE variable=bt block factor=${BF} dim=1
    Load: for (int k = 0; k < ${K}; k++) {
      for (int n = 0; n < ${N}; n++) {
#pragma HLS PIPELINE II=1
        bt[n * ${K} + k] = ${writeInt(bT, minus(readInt(`b[(h * ${K} + k) * ${N} + n]`, d.mode), zb), d.mode)};
      }
    }
    Row: for (int m = 0; m < ${M}; m++) {
#pragma HLS PIPELINE II=${R}
#pragma HLS ALLOCATION operation instances=mul limit=${BF}
      ${aT} av[${K}];
#pragma HLS ARRAY_PARTITION variable=av complete dim=1
      ${accT} acc[${N}];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
      Gather: for (int k = 0; k < ${K}; k++) av[k] = ${writeInt(aT, minus(readInt(`a[(h * ${M} + m) * ${K} + k]`, d.mode), za), d.mode)};
      Init: for (int n = 0; n < ${N}; n++) acc[n] = ${writeInt(accT, "0", d.mode)};
      Reuse: for (int ir = 0; ir < ${R}; ir++) {
        Mac: for (int im = 0; im < ${BF}; im++) {
#pragma HLS UNROLL
          const int t = ir + ${R} * im;
          acc[t / ${K}] += ${product};
        }
      }
      Store: for (int n = 0; n < ${N}; n++) y[(h * ${M} + m) * ${N} + n] = ${writeInt(yT, store, d.mode)};
    }
  }
  return 0;
}`;
}
