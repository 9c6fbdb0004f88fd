/**
 * The HLS design's per-layer types: every value of the integer Program is
 * written by one op (index i) and gets the typedef `layer<i>_t`, or
 * `layer<i>_acc_t` for the sum of a conv, dense or sumpool, whose width is
 * exactly the accumulator certificate's proven width W (ap_int<W>; the sum
 * then never wraps, and partial sums that would wrap in W bits still end
 * exact, since ap_int's += wraps modulo 2^W). Other values take their storage
 * type (uint8 → ap_uint<8> …). With `--hls-types stdint` an accumulator is
 * int32_t where the layer's worst case |bias| + Σ|w|·max|x − z| < 2^31 (no
 * partial sum overflows), else int64_t.
 */
import type { Certificate } from "../../integer/certify.js";
import { type ConvOp, type DenseOp, type IntOp, type Program, weightTypeOf } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { type HlsTypes, intTypeName, signedBits } from "./hls-types.js";
import type { LayerResources } from "./resources.js";

export interface HlsDesign {
  readonly program: Program;
  readonly cert: Certificate;
  readonly mode: HlsTypes;
  /** The conv/dense/matmul plan (reuse factor …) by op source. */
  readonly layers: ReadonlyMap<string, LayerResources>;
  /** typedef name of each value. */
  readonly typeOf: ReadonlyMap<string, string>;
  /** `typedef … layer<i>_t;` lines, in program order. */
  readonly typedefs: readonly string[];
  /** The op index writing each value. */
  readonly producer: ReadonlyMap<string, number>;
}

const isAcc = (op: IntOp) => op.kind === "conv" || op.kind === "dense" || op.kind === "sumpool";

/** Whether every partial sum of the layer stays below 2^31 in magnitude, in any order. */
export function partialSumsFitInt32(p: Program, op: ConvOp | DenseOp): boolean {
  const x = p.values.get(op.input)!.type;
  const maxX = Math.max(Math.abs(intMin(x) - op.inputZero), Math.abs(intMax(x) - op.inputZero));
  const rows = op.kind === "conv" ? op.weightShape[0] : op.outFeatures;
  const k = op.weight.length / rows;
  for (let o = 0; o < rows; o++) {
    let s = Math.abs(op.bias?.[o] ?? 0);
    for (let j = 0; j < k; j++) s += Math.abs(op.weight[o * k + j]!) * maxX;
    if (s >= 2 ** 31) return false;
  }
  return true;
}

export function planDesign(p: Program, cert: Certificate, layers: readonly LayerResources[], mode: HlsTypes): HlsDesign {
  const width = new Map(cert.rows.filter((r) => r.accumulator).map((r) => [r.value, r]));
  const typeOf = new Map<string, string>();
  const producer = new Map<string, number>();
  const typedefs: string[] = [];
  p.ops.forEach((op, i) => {
    if (op.kind === "dequantize") return;
    const v = p.values.get(op.output)!;
    producer.set(op.output, i);
    if (isAcc(op)) {
      const row = width.get(op.output);
      const t = row ? { bits: row.width, signed: row.signed } : v.type;
      const name = `layer${i}_acc_t`;
      const spelled =
        mode === "ap" || op.kind === "sumpool" ? intTypeName(t, mode) : partialSumsFitInt32(p, op as ConvOp | DenseOp) && t.bits <= 32 ? "int32_t" : "int64_t";
      typedefs.push(`typedef ${spelled} ${name}; /* ${op.source}: ${row ? `the certificate's proven ${row.width}-bit ${row.signed ? "signed" : "unsigned"} range [${row.range.lo}, ${row.range.hi}]` : `int${v.type.bits}`} */`);
      typeOf.set(op.output, name);
    } else {
      const name = `layer${i}_t`;
      typedefs.push(`typedef ${intTypeName(v.type, mode)} ${name}; /* ${op.kind} ${op.source}: ${v.type.signed ? "" : "u"}int${v.type.bits} storage */`);
      typeOf.set(op.output, name);
    }
    if (op.kind === "conv" || op.kind === "dense") {
      const r = cert.ranges.get(op.input) ?? { lo: intMin(p.values.get(op.input)!.type), hi: intMax(p.values.get(op.input)!.type) };
      typedefs.push(`typedef ${intTypeName({ bits: signedBits(r.lo - op.inputZero, r.hi - op.inputZero), signed: true }, mode)} layer${i}_x_t; /* x - ${op.inputZero} over x's certified range [${r.lo}, ${r.hi}] */`);
      const wt = weightTypeOf(op);
      typedefs.push(`typedef ${intTypeName(wt, mode)} layer${i}_weight_t; /* the layer's weight type, int${wt.bits} */`);
    }
  });
  return { program: p, cert, mode, layers: new Map(layers.map((l) => [l.source, l])), typeOf, typedefs, producer };
}
