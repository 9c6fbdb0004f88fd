/**
 * The activation × activation matmul (attention's Q·Kᵀ and P·V) as the HLS
 * design plans it (matmul-layer.ts writes it, resources.ts and timing.ts
 * estimate it): inputs a [H, M, K] and b [H, K, N] per sample (H the product
 * of the leading axes, e.g. the heads) into y [H, M, N],
 *   y[h, m, n] = Σ_k (a[h, m, k] − za) · (b[h, k, n] − zb).
 * One row is (h, m): N outputs over K taps each, W = K·N products, the same
 * block a dense layer's row is, with b[h] − zb (copied into the layer, one
 * head at a time) in the role of the weights. Widths, all from the
 * certificate:
 *   a − za, b − zb   signed bits of the certified range minus the zero point
 *   accumulator      the certificate's proven width of the sum (the matmul's
 *                    accumulator row); without a row, the signed width of
 *                    ±K·max|a − za|·max|b − zb| over the input types
 */
import type { Certificate } from "../../integer/certify.js";
import type { MatMulOp, Program } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { signedBits } from "./hls-types.js";

export interface MatMulShape {
  /** Leading (batch) positions per sample: the heads. */
  readonly heads: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** Signed widths of a − za and b − zb over the certified ranges. */
  readonly aBits: number;
  readonly bBits: number;
  /** Signed width of the sum (see the file comment). */
  readonly accBits: number;
}

/** K (a's last axis, the taps of a row) and N (b's last axis, the outputs of a row): a row's W = K·N products. */
export function matmulKN(p: Program, op: MatMulOp): { k: number; n: number } {
  return { k: p.values.get(op.inputs[0])!.shape.at(-1)!, n: p.values.get(op.inputs[1])!.shape.at(-1)! };
}

export function matmulShape(p: Program, cert: Certificate, op: MatMulOp): MatMulShape {
  const a = p.values.get(op.inputs[0])!;
  const r = a.shape.length;
  const { k, n } = matmulKN(p, op);
  const m = a.shape[r - 2]!;
  const heads = a.shape.slice(0, r - 2).reduce((x, y) => x * y, 1);
  const range = (v: string) => cert.ranges.get(v) ?? { lo: intMin(p.values.get(v)!.type), hi: intMax(p.values.get(v)!.type) };
  const span = (v: string, z: number) => {
    const q = range(v);
    return { lo: q.lo - z, hi: q.hi - z };
  };
  const sa = span(op.inputs[0], op.inputZeros[0]);
  const sb = span(op.inputs[1], op.inputZeros[1]);
  const row = cert.rows.find((x) => x.accumulator && x.value === op.output);
  const worst = k * Math.max(Math.abs(sa.lo), Math.abs(sa.hi)) * Math.max(Math.abs(sb.lo), Math.abs(sb.hi));
  return {
    heads,
    m,
    k,
    n,
    aBits: signedBits(sa.lo, sa.hi),
    bBits: signedBits(sb.lo, sb.hi),
    accBits: row ? row.width : signedBits(-worst, worst),
  };
}
