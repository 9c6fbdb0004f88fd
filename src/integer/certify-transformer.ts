/**
 * Certified ranges of the transformer ops:
 *   matmul:   K·min(products) … K·max(products), products of the endpoints of
 *             a − z_a and b − z_b (every term of the sum lies between them)
 *   mul:      min(products) … max(products), the same four endpoint products
 *             (each output is one of them, exactly)
 *   table:    the extremes of the table entries the input range reaches
 *   addconst: the monotone map of the input's endpoints with the smallest and
 *             largest offset, then the clamp
 */
import type { AddConstOp, MatMulOp, MulOp, TableOp } from "./program.js";
import { type ChannelRanges, scalarRange } from "./certify-ranges.js";

interface R {
  readonly lo: number;
  readonly hi: number;
}

export function matmulRange(op: MatMulOp, a: R, b: R, aShape: readonly number[]): ChannelRanges {
  const K = aShape[aShape.length - 1]!;
  const [za, zb] = op.inputZeros;
  const ps = [(a.lo - za) * (b.lo - zb), (a.lo - za) * (b.hi - zb), (a.hi - za) * (b.lo - zb), (a.hi - za) * (b.hi - zb)];
  return scalarRange(K * Math.min(...ps), K * Math.max(...ps));
}

export function mulRange(op: MulOp, a: R, b: R): ChannelRanges {
  return matmulRange({ ...op, kind: "matmul" }, a, b, [1]);
}

export function tableRange(op: TableOp, x: R): ChannelRanges {
  let lo = Infinity;
  let hi = -Infinity;
  const from = Math.max(0, x.lo - op.inputMin);
  const to = Math.min(op.table.length - 1, x.hi - op.inputMin);
  for (let i = from; i <= to; i++) {
    lo = Math.min(lo, op.table[i]!);
    hi = Math.max(hi, op.table[i]!);
  }
  return lo > hi ? scalarRange(op.table[0]!, op.table[0]!) : scalarRange(lo, hi);
}

export function addConstRange(op: AddConstOp, x: R): ChannelRanges {
  let omin = Infinity;
  let omax = -Infinity;
  for (const o of op.offset) {
    omin = Math.min(omin, o);
    omax = Math.max(omax, o);
  }
  const y = (t: number) => Math.min(op.clampHi, Math.max(op.clampLo, op.outZero + Math.floor((t + (op.shift === 0 ? 0 : 2 ** (op.shift - 1))) / 2 ** op.shift)));
  return scalarRange(y((x.lo - op.inputZero) * op.multiplier + omin), y((x.hi - op.inputZero) * op.multiplier + omax));
}
