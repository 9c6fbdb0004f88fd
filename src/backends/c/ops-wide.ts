/**
 * Conv and dense into an int64 accumulator (program.ts ACC64), in the
 * generated C: chosen only for layers whose certified accumulator range
 * leaves int32 (integer/widen-accumulators.ts); every other layer keeps the
 * int32 kernels of ops-accumulate.ts.
 *
 *   conv:  acc[o, oh, ow] = bias[o] + Σ_{c, kh, kw} (x[c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw] − inputZero) · w[o, c, kh, kw]
 *   dense: acc[r, j] = bias[j] + Σ_k (x[r, k] − inputZero) · w[j, k]
 *
 * Products and sums are int64_t. Every partial sum is bounded by
 * B = max_o |bias[o]| + Σ_k |w[o, k]|·max|x − z|, checked below 2^63 here, so
 * no step can overflow and the result is the exact sum the emulator computes.
 * Plain loops with bounds checks (padded taps add 0): a reference-grade
 * kernel, not a tuned one.
 */
import type { ConvOp, DenseOp, ProgramValue } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import { cInt } from "../shared/print-c.js";
import { cList, maxAbsShifted, minusZero } from "./c-types.js";
import { type CEmitCtx, type COpCode, type COpEmitter, denseGeometry, opComment, opName, storage } from "./op-code.js";

const INT64_LIMIT = 2 ** 63;

/** Throws, naming the node, unless every partial sum stays below 2^63 in magnitude. */
function checkFits64(op: ConvOp | DenseOp, rows: number, xv: ProgramValue): void {
  const K = op.weight.length / rows;
  const d = maxAbsShifted(xv, op.inputZero);
  for (let o = 0; o < rows; o++) {
    let s = Math.abs(op.bias?.[o] ?? 0);
    for (let k = 0; k < K; k++) s += Math.abs(op.weight[o * K + k]!) * d;
    // doubles round up at most one ulp here; a bound within 2^10 of 2^63 is refused as well
    if (s >= INT64_LIMIT - 2 ** 10) throw new FixqError("unsupported", `${op.kind} ${op.source}: its accumulator's partial sums could leave int64 (bound ${s}); narrow the weights or activations`);
  }
}

function decls(i: number, op: ConvOp | DenseOp, rows: number): string {
  return `static const int32_t W${i}[${op.weight.length}] = ${cList(op.weight, cInt)};\nstatic const int64_t B${i}[${rows}] = ${cList(op.bias ?? new Int32Array(rows), cInt)};`;
}

/** The loops over a conv output's taps (c, kh, kw) inside the input, around `inner` (padded taps add 0, so they are skipped). */
function tapLoops(op: ConvOp, H: number, W: number, inner: string): string {
  const [, cg, KH, KW] = op.weightShape;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  return `        for (int c = 0; c < ${cg}; c++) {
          for (int kh = 0; kh < ${KH}; kh++) {
            const int h = oh * ${SH} - ${PT} + kh * ${DH};
            if (h < 0 || h >= ${H}) continue;
            for (int kw = 0; kw < ${KW}; kw++) {
              const int v = ow * ${SW} - ${PL} + kw * ${DW};
              if (v < 0 || v >= ${W}) continue;
              ${inner}
            }
          }
        }`;
}

export const emitWideConv: COpEmitter<ConvOp> = (op, ctx) => {
  const name = opName(ctx.index, op);
  const i = ctx.index;
  const xv = ctx.value(op.input);
  const [C, H, W] = xv.shape as unknown as [number, number, number];
  const [O, OH, OW] = ctx.value(op.output).shape as unknown as [number, number, number];
  const [, cg, KH, KW] = op.weightShape;
  if (xv.shape.length !== 3 || cg * op.group !== C || op.weight.length !== O * cg * KH * KW) throw new Error(`conv ${op.source}: weight [${op.weightShape.join(", ")}] does not fit input [${xv.shape.join(", ")}]`);
  checkFits64(op, O, xv);
  const [SH, SW] = op.strides;
  const [DH, DW] = op.dilations;
  const z = op.inputZero;
  const og = O / op.group;
  const text = `${opComment(op, ctx, `int64 accumulator: kernel ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}], dilations ${DH}x${DW}, group ${op.group}, input zero ${z}: acc = bias + sum (x - ${z}) * w`)}
static int ${name}(const ${storage(ctx, op.input)} *restrict x, int64_t *restrict y) {
  for (int o = 0; o < ${O}; o++) {
    const int32_t *w = W${i} + o * ${cg * KH * KW};
    const int cb = (o / ${og}) * ${cg};
    for (int oh = 0; oh < ${OH}; oh++) {
      for (int ow = 0; ow < ${OW}; ow++) {
        int64_t s = B${i}[o];
${tapLoops(op, H, W, `s += (int64_t)w[(c * ${KH} + kh) * ${KW} + kw] * (int64_t)(${minusZero(`x[((cb + c) * ${H} + h) * ${W} + v]`, z)});`)}
        y[(o * ${OH} + oh) * ${OW} + ow] = s;
      }
    }
  }
  return 0;
}`;
  return { name, decls: decls(i, op, O), text };
};

export const emitWideDense: COpEmitter<DenseOp> = (op, ctx) => {
  const name = opName(ctx.index, op);
  const i = ctx.index;
  const { xv, K, N, rows } = denseGeometry(op, ctx);
  checkFits64(op, N, xv);
  const z = op.inputZero;
  const text = `${opComment(op, ctx, `int64 accumulator: K = ${K}, N = ${N}, input zero ${z}: acc = bias + sum (x - ${z}) * w`)}
static int ${name}(const ${storage(ctx, op.input)} *restrict x, int64_t *restrict y) {
  for (int r = 0; r < ${rows}; r++) {
    for (int o = 0; o < ${N}; o++) {
      const int32_t *w = W${i} + o * ${K};
      int64_t s = B${i}[o];
      for (int k = 0; k < ${K}; k++) s += (int64_t)w[k] * (int64_t)(${minusZero(`x[r * ${K} + k]`, z)});
      y[r * ${N} + o] = s;
    }
  }
  return 0;
}`;
  return { name, decls: decls(i, op, N), text };
};

/**
 * The same conv or dense for the batch functions (batch-api.ts): TILE samples
 * at once in the batch layout (element i of sample b at i·TILE + b), one
 * int64_t sum per lane, reusing the one-sample op's W and B arrays.
 */
export function emitWideTileAccumulate(op: ConvOp | DenseOp, ctx: CEmitCtx, lanes: number): COpCode {
  const i = ctx.index;
  const name = opName(i, op, lanes);
  const xT = storage(ctx, op.input);
  const z = op.inputZero;
  const L = lanes;
  const term = (idx: string) => `(int64_t)wv * (int64_t)(${minusZero(`x[(${idx}) * ${L} + b]`, z)})`;
  const store = (idx: string) => `for (int b = 0; b < ${L}; b++) y[(${idx}) * ${L} + b] = s[b];`;
  let body: string;
  if (op.kind === "dense") {
    const xv = ctx.value(op.input);
    const K = op.inFeatures;
    const N = op.outFeatures;
    const rows = xv.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    body = `  for (int r = 0; r < ${rows}; r++) {
    for (int o = 0; o < ${N}; o++) {
      int64_t s[${L}];
      for (int b = 0; b < ${L}; b++) s[b] = B${i}[o];
      for (int k = 0; k < ${K}; k++) {
        const int64_t wv = W${i}[o * ${K} + k];
        for (int b = 0; b < ${L}; b++) s[b] += ${term(`r * ${K} + k`)};
      }
      ${store(`r * ${N} + o`)}
    }
  }`;
  } else {
    const [, H, W] = ctx.value(op.input).shape as unknown as [number, number, number];
    const [O, OH, OW] = ctx.value(op.output).shape as unknown as [number, number, number];
    const [, cg, KH, KW] = op.weightShape;
    body = `  for (int o = 0; o < ${O}; o++) {
    const int cb = (o / ${O / op.group}) * ${cg};
    for (int oh = 0; oh < ${OH}; oh++) {
      for (int ow = 0; ow < ${OW}; ow++) {
        int64_t s[${L}];
        for (int b = 0; b < ${L}; b++) s[b] = B${i}[o];
${tapLoops(op, H, W, `const int64_t wv = W${i}[((o * ${cg} + c) * ${KH} + kh) * ${KW} + kw];\n${" ".repeat(14)}for (int b = 0; b < ${L}; b++) s[b] += ${term(`((cb + c) * ${H} + h) * ${W} + v`)};`)}
        ${store(`(o * ${OH} + oh) * ${OW} + ow`)}
      }
    }
  }`;
  }
  const text = `${opComment(op, ctx, `int64 accumulator, ${L} samples per call (batch layout)`)}
static int ${name}(const ${xT} *restrict x, int64_t *restrict y) {
${body}
  return 0;
}`;
  return { name, text };
}
