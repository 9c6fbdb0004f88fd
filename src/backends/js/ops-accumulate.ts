/**
 * Accumulating ops in generated JS, exact int32 arithmetic:
 *   conv:    acc[o, oh, ow] = bias[o] + Σ_{c, kh, kw} (x[c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw] − inputZero) · w[o, c, kh, kw]
 *            (padded positions skipped: they contribute 0)
 *   dense:   acc[r, j] = bias[j] + Σ_k (x[r, k] − inputZero) · w[j, k]
 *   sumpool: acc = Σ_window (x − inputZero) over the positions inside the input
 *   maxpool: max over the window's positions inside the input (padding ignored)
 * Conv gathers each sample's (x − inputZero) into an im2col patch through a
 * gather table precomputed at load (padding reads 0); conv and dense then
 * share the prelude's `gemm`, in float64, which is exact when
 * |bias| + Σ|w|·max|x − z| < 2^53 for every output row (checked here from the
 * weights and the input type's range). Otherwise they use `gemmInt`: int32
 * products (Math.imul) and sums (| 0), the exact sum modulo 2^32. Either way
 * the result equals the exact sum whenever it fits int32, as the accumulator
 * certificate guarantees. Depthwise convs take ops-depthwise.ts. An int64
 * accumulator (program.ts ACC64, a Float64Array) must take `gemm`: a layer
 * whose partial sums could reach 2^53 is refused, naming the node.
 */
import { type ConvOp, type DenseOp, isWideValue, type MaxPoolOp, type ProgramValue, type SumPoolOp, weightTypeOf } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import { intMax, intMin, intTypeName } from "../../numerics/int.js";
import { intsExpr } from "./blob.js";
import { type OpEmitter, opFunctionName, opHeader, product, shapeText } from "./codegen.js";
import { depthwiseFunction } from "./ops-depthwise.js";
import { minusZero } from "./ops-io.js";

function chw(v: ProgramValue, what: string): [number, number, number] {
  if (v.shape.length !== 3) throw new Error(`${what}: value '${v.name}' has per-sample shape ${shapeText(v.shape)}, expected [C, H, W]`);
  return v.shape as unknown as [number, number, number];
}

/** Largest |x − inputZero| over the input type's range. */
function maxAbsInput(v: ProgramValue, inputZero: number): number {
  return Math.max(Math.abs(intMin(v.type) - inputZero), Math.abs(intMax(v.type) - inputZero));
}

/** Whether every partial sum bias[o] + Σ w·(x − z) stays below 2^53 in magnitude, so doubles compute it exactly. */
export function exactInDoubles(weight: Int32Array, rows: number, bias: Int32Array | undefined, maxAbsX: number): boolean {
  const K = weight.length / rows;
  for (let o = 0; o < rows; o++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.abs(weight[o * K + k]!);
    if (Math.abs(bias?.[o] ?? 0) + s * maxAbsX >= 2 ** 53) return false;
  }
  return true;
}

/** exactInDoubles for an op, refusing an int64 accumulator it does not prove exact (gemmInt would wrap at 2^32). */
function exactFor(op: ConvOp | DenseOp, out: ProgramValue, rows: number, maxAbsX: number): boolean {
  const exact = exactInDoubles(op.weight, rows, op.bias, maxAbsX);
  if (!exact && isWideValue(out)) throw new FixqError("unsupported", `${op.kind} '${op.source}': its int64 accumulator's sums could reach 2^53, past what the generated JS computes exactly`);
  return exact;
}

/** The kernel, weight and bias declarations, and patch array type of a conv or dense op. */
function operands(i: number, weight: Int32Array, rows: number, bias: Int32Array | undefined, exact: boolean) {
  const arr = exact ? "Float64Array" : "Int32Array";
  const wrap = (e: string) => (exact ? `Float64Array.from(${e})` : e);
  return {
    kernel: exact ? "gemm" : "gemmInt",
    arr,
    decls:
      `const W${i} = ${wrap(intsExpr(weight))};\n` + `const B${i} = ${bias ? wrap(intsExpr(bias)) : `new ${arr}(${rows})`};`,
  };
}

export const emitConv: OpEmitter<ConvOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const i = ctx.index;
  const xv = ctx.value(op.input);
  const [C, H, W] = chw(xv, `conv '${op.source}'`);
  const [O, OH, OW] = chw(ctx.value(op.output), `conv '${op.source}'`);
  const [wo, cg, KH, KW] = op.weightShape;
  if (wo !== O || cg * op.group !== C || O % op.group !== 0 || op.weight.length !== O * cg * KH * KW) {
    throw new Error(`conv '${op.source}': weight ${shapeText(op.weightShape)} and group ${op.group} do not fit input [${C}, ${H}, ${W}] → [${O}, ${OH}, ${OW}]`);
  }
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  const zin = op.inputZero;
  const K = cg * KH * KW;
  const P = OH * OW;
  const { kernel, arr, decls } = operands(i, op.weight, O, op.bias, exactFor(op, ctx.value(op.output), O, maxAbsInput(xv, zin)));
  const what =
    `kernel ${KH}×${KW}, strides ${SH}×${SW}, pads ${shapeText(op.pads)}, dilations ${DH}×${DW}, group ${op.group}, ` +
    `input zero ${zin}: acc = bias + Σ (x − ${zin})·w`;
  const header = `${opHeader(op, ctx, what)}
/** Weights ${shapeText(op.weightShape)} ${intTypeName(weightTypeOf(op))} (OIHW, weight zero point subtracted): row o holds the ${K} weights of output channel o. */
${decls}`;
  if (cg === 1 && O === op.group && kernel === "gemm" && K <= 49) {
    // depthwise: one channel per group, taps unrolled over a zero-padded plane (ops-depthwise.ts)
    return { name, text: `${header}\n${depthwiseFunction(op, i, name, { C, H, W, OH, OW, KH, KW })}` };
  }
  const text = `${header}
/** im2col gather table of one group: ${P} positions × ${K} taps (CG, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW). */
const IDX${i} = convIndex(${[cg, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW].join(", ")});
function ${name}(x, y, batch) {
  const patch = new ${arr}(${P * K}); // x − inputZero per (position, tap), 0 in the padding
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < ${op.group}; g++) {
      const xo = (n * ${C} + g * ${cg}) * ${H * W};
      for (let q = 0; q < ${P * K}; q++) {
        const j = IDX${i}[q];
        patch[q] = j < 0 ? 0 : ${minusZero("x[xo + j]", zin)};
      }
      ${kernel}(patch, ${P}, ${K}, W${i}, B${i}, g * ${O / op.group}, (g + 1) * ${O / op.group}, y, n * ${O * P}, ${P}, 1);
    }
  }
}`;
  return { name, text };
};

export const emitDense: OpEmitter<DenseOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const i = ctx.index;
  const xv = ctx.value(op.input);
  const inShape = xv.shape;
  const K = op.inFeatures;
  const N = op.outFeatures;
  if (inShape[inShape.length - 1] !== K || op.weight.length !== K * N) {
    throw new Error(`dense '${op.source}': weight [${N}, ${K}] does not fit input ${shapeText(inShape)}`);
  }
  const rows = product(inShape.slice(0, -1));
  const zin = op.inputZero;
  const { kernel, arr, decls } = operands(i, op.weight, N, op.bias, exactFor(op, ctx.value(op.output), N, maxAbsInput(xv, zin)));
  const text = `${opHeader(op, ctx, `K = ${K}, N = ${N}, input zero ${zin}: acc = bias + Σ (x − ${zin})·w`)}
/** Weights [${N}, ${K}] ${intTypeName(weightTypeOf(op))} (weight zero point subtracted). */
${decls}
function ${name}(x, y, batch) {
  const xz = new ${arr}(x.length); // x − inputZero
  for (let j = 0; j < x.length; j++) xz[j] = ${minusZero("x[j]", zin)};
  ${kernel}(xz, batch * ${rows}, ${K}, W${i}, B${i}, 0, ${N}, y, 0, 1, ${N});
}`;
  return { name, text };
};

export const emitSumPool: OpEmitter<SumPoolOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const [C, H, W] = chw(ctx.value(op.input), `sumpool '${op.source}'`);
  const [, OH, OW] = chw(ctx.value(op.output), `sumpool '${op.source}'`);
  const [KH, KW] = op.kernel;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const zin = op.inputZero;
  const what = `kernel ${KH}×${KW}, strides ${SH}×${SW}, pads ${shapeText(op.pads)}: acc = Σ_window (x − ${zin})`;
  const text = `${opHeader(op, ctx, what)}
function ${name}(x, y, batch) {
  const H = ${H}, W = ${W}, OH = ${OH}, OW = ${OW}, KH = ${KH}, KW = ${KW};
  for (let p = 0; p < batch * ${C}; p++) {
    const xo = p * H * W, yo = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const ih = oh * ${SH} - ${PT};
      const khLo = Math.max(0, -ih), khHi = Math.min(KH, H - ih);
      for (let ow = 0; ow < OW; ow++) {
        const iw = ow * ${SW} - ${PL};
        const kwLo = Math.max(0, -iw), kwHi = Math.min(KW, W - iw);
        let acc = 0;
        for (let kh = khLo; kh < khHi; kh++) {
          const r = xo + (ih + kh) * W + iw;
          for (let kw = kwLo; kw < kwHi; kw++) acc += ${minusZero("x[r + kw]", zin)};
        }
        y[yo + oh * OW + ow] = acc;
      }
    }
  }
}`;
  return { name, text };
};

export const emitMaxPool: OpEmitter<MaxPoolOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const [C, H, W] = chw(ctx.value(op.input), `maxpool '${op.source}'`);
  const [, OH, OW] = chw(ctx.value(op.output), `maxpool '${op.source}'`);
  const [KH, KW] = op.kernel;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  const what = `kernel ${KH}×${KW}, strides ${SH}×${SW}, pads ${shapeText(op.pads)}, dilations ${DH}×${DW}: max over the window, padding ignored`;
  const text = `${opHeader(op, ctx, what)}
function ${name}(x, y, batch) {
  const H = ${H}, W = ${W}, OH = ${OH}, OW = ${OW}, KH = ${KH}, KW = ${KW};
  for (let p = 0; p < batch * ${C}; p++) {
    const xo = p * H * W, yo = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let m = -Infinity;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * ${SH} - ${PT} + kh * ${DH};
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * ${SW} - ${PL} + kw * ${DW};
            if (iw < 0 || iw >= W) continue;
            const v = x[xo + ih * W + iw];
            if (v > m) m = v;
          }
        }
        y[yo + oh * OW + ow] = m;
      }
    }
  }
}`;
  return { name, text };
};
