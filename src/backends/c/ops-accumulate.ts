/**
 * Accumulating ops in the generated C, one sample at a time:
 *   conv:    acc[o, oh, ow] = bias[o] + Σ_{c, kh, kw} (x[c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw] − inputZero) · w[o, c, kh, kw]
 *            (padded positions contribute 0)
 *   dense:   acc[r, j] = bias[j] + Σ_k (x[r, k] − inputZero) · w[j, k]
 *   sumpool: acc = Σ_window (x − inputZero) over the positions inside the input
 *   maxpool: max over the window's positions inside the input (padding ignored)
 * Conv gathers (x − inputZero) into an im2col patch (one row of K taps per
 * output position, 0 in the padding); conv and dense then take dot products
 * of weight rows with patch rows, loops a C compiler vectorizes (16-bit
 * operands, 32-bit sums). Depthwise convs run over a zero-padded copy of each
 * channel instead. Sums are int32_t when the layer's worst case
 * B = max_o |bias[o]| + Σ_k |w[o, k]|·max|x − z| is below 2^31 (no partial sum
 * can overflow); otherwise uint32_t, wrapping, and the result is the exact sum
 * modulo 2^32 (the exact sum whenever it fits int32, which the accumulator
 * certificate proves).
 */
import type { ConvOp, DenseOp, MaxPoolOp, ProgramValue, SumPoolOp } from "../../integer/program.js";
import { intMin } from "../../numerics/int.js";
import { cInt } from "../shared/print-c.js";
import { cList, maxAbsShifted, minusZero, operandType, shiftedType } from "./c-types.js";
import { paddedK } from "./gemm.js";
import { type COpEmitter, denseGeometry, opComment, opName, storage } from "./op-code.js";
import { pointwiseTiles } from "./pointwise-one.js";

export function chw(v: ProgramValue, what: string): [number, number, number] {
  if (v.shape.length !== 3) throw new Error(`${what}: value '${v.name}' has per-sample shape [${v.shape.join(", ")}], expected [C, H, W]`);
  return v.shape as unknown as [number, number, number];
}

/** Whether every partial sum |bias[o]| + Σ|w|·maxAbsX stays below 2^31. */
function fitsInt32(weight: Int32Array, rows: number, bias: Int32Array | undefined, maxAbsX: number): boolean {
  const K = weight.length / rows;
  for (let o = 0; o < rows; o++) {
    let s = Math.abs(bias?.[o] ?? 0);
    for (let k = 0; k < K; k++) s += Math.abs(weight[o * K + k]!) * maxAbsX;
    if (s >= 2 ** 31) return false;
  }
  return true;
}

/**
 * Weight and bias arrays, and the dot-product expression pieces, of a conv or
 * dense op. `gemm`: the layer takes fixq_gemm_s16 (gemm.ts), its weight rows
 * zero-padded to Kp.
 */
export function operands(i: number, weight: Int32Array, rows: number, bias: Int32Array | undefined, xv: ProgramValue, z: number, allowGemm = true) {
  let lo = 0;
  let hi = 0;
  for (const w of weight) {
    lo = Math.min(lo, w);
    hi = Math.max(hi, w);
  }
  const wt = operandType(lo, hi);
  const xt = shiftedType(xv, z);
  const exact = fitsInt32(weight, rows, bias, maxAbsShifted(xv, z));
  const K = weight.length / rows;
  const gemm = allowGemm && exact && wt === "int16_t" && xt === "int16_t" && (lo > -32768 || intMin(xv.type) - z > -32768);
  const Kp = gemm ? paddedK(K) : K;
  const padded = new Int32Array(rows * Kp);
  for (let o = 0; o < rows; o++) padded.set(weight.subarray(o * K, (o + 1) * K), o * Kp);
  const decls = `static const ${wt} W${i}[${padded.length}] = ${cList(padded)};\nstatic const int32_t B${i}[${rows}] = ${cList(bias ?? new Int32Array(rows), cInt)};`;
  // exact: int32 products and sums; else wrapping uint32 (the exact sum modulo 2^32)
  const acc = exact ? "int32_t" : "uint32_t";
  const term = (w: string, x: string) => (exact ? `(int32_t)${w} * (int32_t)${x}` : `(uint32_t)${w} * (uint32_t)${x}`);
  const result = (s: string) => (exact ? s : `fixq_u32_to_i32(${s})`);
  return { wt, xt, decls, acc, term, result, gemm, Kp, start: (o: string) => (exact ? `B${i}[${o}]` : `(uint32_t)B${i}[${o}]`) };
}

export const emitConv: COpEmitter<ConvOp> = (op, ctx) => {
  const name = opName(ctx.index, op);
  const i = ctx.index;
  const xv = ctx.value(op.input);
  const [C, H, W] = chw(xv, `conv ${op.source}`);
  const [O, OH, OW] = chw(ctx.value(op.output), `conv ${op.source}`);
  const [wo, cg, KH, KW] = op.weightShape;
  if (wo !== O || cg * op.group !== C || O % op.group !== 0 || op.weight.length !== O * cg * KH * KW) {
    throw new Error(`conv ${op.source}: weight [${op.weightShape.join(", ")}] and group ${op.group} do not fit input [${C}, ${H}, ${W}] -> [${O}, ${OH}, ${OW}]`);
  }
  const [SH, SW] = op.strides;
  const [PT, PL, PB, PR] = op.pads;
  const [DH, DW] = op.dilations;
  const z = op.inputZero;
  const K = cg * KH * KW;
  const P = OH * OW;
  const og = O / op.group;
  const xT = storage(ctx, op.input);
  const depthwise = cg === 1 && og === 1;
  const d = operands(i, op.weight, O, op.bias, xv, z, !depthwise);
  const comment = opComment(
    op,
    ctx,
    `kernel ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}], dilations ${DH}x${DW}, group ${op.group}, input zero ${z}: acc = bias + sum (x - ${z}) * w`,
  );
  // the input zero-padded (x − z, 0 outside): taps read without bounds checks
  const PH = Math.max(H + PT + PB, (OH - 1) * SH + (KH - 1) * DH + 1);
  const PW = Math.max(W + PL + PR, (OW - 1) * SW + (KW - 1) * DW + 1);
  if (depthwise) {
    // stride 1: output (oh, ow) reads plane[oh·PW + ow + tap offset], so all rows form one run of span sums
    // (the last index read, span − 1 + (KH−1)·DH·PW + (KW−1)·DW, is ≤ PH·PW − 1 by PH's and PW's definitions)
    const span = (OH - 1) * PW + OW;
    const wide = SH === 1 && SW === 1 && span <= 4096;
    // stride 2: the padded input split by row and column parity (padded row r, column q at phase (r mod 2, q mod 2),
    // element (⌊r/2⌋, ⌊q/2⌋)); output (oh, ow) then reads phase (t_h mod 2, t_w mod 2) at (oh + ⌊t_h/2⌋)·PW2 + ow + ⌊t_w/2⌋
    // for tap offsets t_h = kh·DH, t_w = kw·DW: again one run of span2 sums per tap (oh + ⌊t_h/2⌋ ≤ ⌊(PH−1)/2⌋ = PH2 − 1, and so for columns)
    const PH2 = Math.ceil(PH / 2);
    const PW2 = Math.ceil(PW / 2);
    const span2 = (OH - 1) * PW2 + OW;
    const phased = SH === 2 && SW === 2 && span2 <= 4096;
    const text = `${comment}
static int ${name}(const ${xT} *restrict x, int32_t *restrict y) {
  ${d.xt} *restrict plane = fixq_scratch_${d.xt};
  for (int c = 0; c < ${C}; c++) {
    const ${xT} *xc = x + c * ${H * W};
    int32_t *yc = y + c * ${P};
    const ${d.wt} *w = W${i} + c * ${KH * KW};
${phased ? "" : `    for (int q = 0; q < ${PH * PW}; q++) plane[q] = 0;
    for (int h = 0; h < ${H}; h++)
      for (int v = 0; v < ${W}; v++) plane[(h + ${PT}) * ${PW} + v + ${PL}] = (${d.xt})(${minusZero("xc[h * " + W + " + v]", z)});
`}${phased ? `    {
      ${d.xt} *restrict ph = plane; /* the zero-padded input as 4 phase planes (row parity, column parity), each ${PH2}x${PW2} */
      ${d.acc} s[${span2}]; /* every output row at once, ${PW2} apart in the phase planes: one long loop per tap */
      for (int q = 0; q < ${4 * PH2 * PW2}; q++) ph[q] = 0;
      for (int h = 0; h < ${H}; h++) {
        /* row h + ${PT}: its columns v = 2u land at phase column ${PL % 2}, element u + ${PL >> 1}; v = 2u + 1 at ${(PL + 1) % 2}, u + ${(PL + 1) >> 1} */
        const int r = h + ${PT};
        ${d.xt} *e = ph + ((r & 1) * 2 + ${PL % 2}) * ${PH2 * PW2} + (r >> 1) * ${PW2} + ${PL >> 1};
        ${d.xt} *o = ph + ((r & 1) * 2 + ${(PL + 1) % 2}) * ${PH2 * PW2} + (r >> 1) * ${PW2} + ${(PL + 1) >> 1};
        for (int u = 0; u < ${Math.ceil(W / 2)}; u++) e[u] = (${d.xt})(${minusZero(`xc[h * ${W} + 2 * u]`, z)});
        for (int u = 0; u < ${Math.floor(W / 2)}; u++) o[u] = (${d.xt})(${minusZero(`xc[h * ${W} + 2 * u + 1]`, z)});
      }
      for (int j = 0; j < ${span2}; j++) s[j] = ${d.start("c")};
      for (int kh = 0; kh < ${KH}; kh++) {
        for (int kw = 0; kw < ${KW}; kw++) {
          const ${d.wt} wv = w[kh * ${KW} + kw];
          const int th = kh * ${DH}, tw = kw * ${DW};
          const ${d.xt} *r = ph + ((th & 1) * 2 + (tw & 1)) * ${PH2 * PW2} + (th >> 1) * ${PW2} + (tw >> 1);
          for (int j = 0; j < ${span2}; j++) s[j] += ${d.term("wv", "r[j]")};
        }
      }
      for (int oh = 0; oh < ${OH}; oh++)
        for (int ow = 0; ow < ${OW}; ow++) yc[oh * ${OW} + ow] = ${d.result(`s[oh * ${PW2} + ow]`)};
    }` : wide ? `    {
      ${d.acc} s[${span}]; /* every output row at once, ${PW} apart (the ${PW - OW} columns between rows are computed and dropped): one long loop per tap */
      for (int j = 0; j < ${span}; j++) s[j] = ${d.start("c")};
      for (int kh = 0; kh < ${KH}; kh++) {
        for (int kw = 0; kw < ${KW}; kw++) {
          const ${d.wt} wv = w[kh * ${KW} + kw];
          const ${d.xt} *r = plane + kh * ${DH * PW} + kw * ${DW};
          for (int j = 0; j < ${span}; j++) s[j] += ${d.term("wv", "r[j]")};
        }
      }
      for (int oh = 0; oh < ${OH}; oh++)
        for (int ow = 0; ow < ${OW}; ow++) yc[oh * ${OW} + ow] = ${d.result(`s[oh * ${PW} + ow]`)};
    }` : `    for (int oh = 0; oh < ${OH}; oh++) {
      ${d.acc} s[${OW}]; /* one output row, tap by tap: the loop over ow vectorizes */
      for (int ow = 0; ow < ${OW}; ow++) s[ow] = ${d.start("c")};
      for (int kh = 0; kh < ${KH}; kh++) {
        for (int kw = 0; kw < ${KW}; kw++) {
          const ${d.wt} wv = w[kh * ${KW} + kw];
          const ${d.xt} *r = plane + (oh * ${SH} + kh * ${DH}) * ${PW} + kw * ${DW};
          for (int ow = 0; ow < ${OW}; ow++) s[ow] += ${d.term("wv", `r[ow * ${SW}]`)};
        }
      }
      for (int ow = 0; ow < ${OW}; ow++) yc[oh * ${OW} + ow] = ${d.result("s[ow]")};
    }`}
  }
  return 0;
}`;
    return { name, decls: d.decls, text, scratch: { [d.xt]: phased ? 4 * PH2 * PW2 : PH * PW } };
  }
  const Kp = d.Kp;
  // 1×1, stride 1, no padding: the patch is the input transposed
  const pointwise = KH === 1 && KW === 1 && SH === 1 && SW === 1 && op.pads.every((q) => q === 0) && OH === H && OW === W;
  if (pointwise && d.gemm && op.group === 1) return pointwiseTiles(op, name, comment, xT, xv, d, O, P);
  const dots = d.gemm
    ? `    fixq_gemm_s16(W${i} + g * ${og * Kp}, B${i} + g * ${og}, patch, y + g * ${og * P}, ${og}, ${P}, ${Kp}, ${P}, 1);`
    : `    for (int o = g * ${og}; o < (g + 1) * ${og}; o++) {
      const ${d.wt} *restrict w = W${i} + o * ${K};
      int32_t *yo = y + o * ${P};
      for (int p = 0; p < ${P}; p++) {
        const ${d.xt} *restrict a = patch + p * ${K};
        ${d.acc} s = ${d.start("o")};
        for (int k = 0; k < ${K}; k++) s += ${d.term("w[k]", "a[k]")};
        yo[p] = ${d.result("s")};
      }
    }`;
  const text = `${comment}
static int ${name}(const ${xT} *restrict x, int32_t *restrict y) {
  ${d.xt} *restrict patch = fixq_scratch_${d.xt}; /* ${P} positions x ${Kp} taps: x - ${z}, 0 in the padding${Kp > K ? ` and in taps ${K}..${Kp - 1}` : ""} */${pointwise ? "" : `\n  ${d.xt} *restrict pad = fixq_pad_${d.xt}; /* a group's channels of x - ${z}, zero-padded to ${PH}x${PW} */`}
  for (int g = 0; g < ${op.group}; g++) {
    const ${xT} *xg = x + g * ${cg * H * W};
${pointwise ? `    for (int c = 0; c < ${cg}; c++)
      for (int p = 0; p < ${P}; p++) patch[p * ${Kp} + c] = (${d.xt})(${minusZero(`xg[c * ${P} + p]`, z)});${Kp > K ? `\n    for (int p = 0; p < ${P}; p++)\n      for (int k = ${K}; k < ${Kp}; k++) patch[p * ${Kp} + k] = 0;` : ""}
` : `    for (int q = 0; q < ${cg * PH * PW}; q++) pad[q] = 0;
    for (int c = 0; c < ${cg}; c++)
      for (int h = 0; h < ${H}; h++)
        for (int v = 0; v < ${W}; v++) pad[(c * ${PH} + h + ${PT}) * ${PW} + v + ${PL}] = (${d.xt})(${minusZero(`xg[(c * ${H} + h) * ${W} + v]`, z)});
    for (int oh = 0; oh < ${OH}; oh++) {
      for (int ow = 0; ow < ${OW}; ow++) {
        ${d.xt} *row = patch + (oh * ${OW} + ow) * ${Kp};
        for (int c = 0; c < ${cg}; c++) {
          for (int kh = 0; kh < ${KH}; kh++) {
            const ${d.xt} *src = pad + (c * ${PH} + oh * ${SH} + kh * ${DH}) * ${PW} + ow * ${SW};
            for (int kw = 0; kw < ${KW}; kw++) row[(c * ${KH} + kh) * ${KW} + kw] = src[kw * ${DW}];
          }
        }${Kp > K ? `\n        for (int k = ${K}; k < ${Kp}; k++) row[k] = 0;` : ""}
      }
    }
`}${dots}
  }
  return 0;
}`;
  return { name, decls: d.decls, text, scratch: { [d.xt]: P * Kp, ...(pointwise ? {} : { [`pad:${d.xt}`]: cg * PH * PW }) }, uses: d.gemm ? ["gemm_s16"] : [] };
};

export const emitDense: COpEmitter<DenseOp> = (op, ctx) => {
  const name = opName(ctx.index, op);
  const i = ctx.index;
  const { xv, K, N, rows } = denseGeometry(op, ctx);
  const z = op.inputZero;
  const xT = storage(ctx, op.input);
  const d = operands(i, op.weight, N, op.bias, xv, z);
  const comment = opComment(op, ctx, `K = ${K}, N = ${N}, input zero ${z}: acc = bias + sum (x - ${z}) * w`);
  if (d.gemm) {
    const Kp = d.Kp;
    const text = `${comment}
static int ${name}(const ${xT} *restrict x, int32_t *restrict y) {
  int16_t *restrict xz = fixq_scratch_int16_t; /* x - ${z}, rows zero-padded to ${Kp} */
  for (int r = 0; r < ${rows}; r++) {
    for (int k = 0; k < ${K}; k++) xz[r * ${Kp} + k] = (int16_t)(${minusZero(`x[r * ${K} + k]`, z)});${Kp > K ? `\n    for (int k = ${K}; k < ${Kp}; k++) xz[r * ${Kp} + k] = 0;` : ""}
  }
  fixq_gemm_s16(W${i}, B${i}, xz, y, ${N}, ${rows}, ${Kp}, 1, ${N});
  return 0;
}`;
    return { name, decls: d.decls, text, scratch: { int16_t: rows * Kp }, uses: ["gemm_s16"] };
  }
  const text = `${comment}
static int ${name}(const ${xT} *restrict x, int32_t *restrict y) {
  ${d.xt} *restrict xz = fixq_scratch_${d.xt}; /* x - ${z} */
  for (int j = 0; j < ${rows * K}; j++) xz[j] = (${d.xt})(${minusZero("x[j]", z)});
  for (int r = 0; r < ${rows}; r++) {
    const ${d.xt} *restrict a = xz + r * ${K};
    for (int o = 0; o < ${N}; o++) {
      const ${d.wt} *restrict w = W${i} + o * ${K};
      ${d.acc} s = ${d.start("o")};
      for (int k = 0; k < ${K}; k++) s += ${d.term("w[k]", "a[k]")};
      y[r * ${N} + o] = ${d.result("s")};
    }
  }
  return 0;
}`;
  return { name, decls: d.decls, text, scratch: { [d.xt]: rows * K } };
};

/**
 * The window loop shared by the pools, over `lanes` samples at once (batch
 * layout, or 1): v[b] starts at `init`, `step(x)` updates v[b] with each input
 * x inside the window (bounds clip it to the input), `result` reads v[b].
 */
function windowLoop(ctx: { C: number; H: number; W: number; OH: number; OW: number; lanes: number }, op: SumPoolOp | MaxPoolOp, init: string, step: (x: string) => string, result: string, xT: string, yT: string): string {
  const [KH, KW] = op.kernel;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.kind === "maxpool" ? op.dilations : [1, 1];
  const L = ctx.lanes;
  return `(const ${xT} *restrict x, ${yT} *restrict y) {
  for (int c = 0; c < ${ctx.C}; c++) {
    const ${xT} *xc = x + c * ${ctx.H * ctx.W * L};
    ${yT} *yc = y + c * ${ctx.OH * ctx.OW * L};
    for (int oh = 0; oh < ${ctx.OH}; oh++) {
      for (int ow = 0; ow < ${ctx.OW}; ow++) {
        int64_t v[${L}];
        for (int b = 0; b < ${L}; b++) v[b] = ${init};
        for (int kh = 0; kh < ${KH}; kh++) {
          const int ih = oh * ${SH} - ${PT} + kh * ${DH};
          if (ih < 0 || ih >= ${ctx.H}) continue;
          for (int kw = 0; kw < ${KW}; kw++) {
            const int iw = ow * ${SW} - ${PL} + kw * ${DW};
            if (iw < 0 || iw >= ${ctx.W}) continue;
            const ${xT} *r = xc + (ih * ${ctx.W} + iw) * ${L};
            for (int b = 0; b < ${L}; b++) ${step("r[b]")}
          }
        }
        for (int b = 0; b < ${L}; b++) yc[(oh * ${ctx.OW} + ow) * ${L} + b] = ${result};
      }
    }
  }
  return 0;
}`;
}

export const emitSumPool: COpEmitter<SumPoolOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const [C, H, W] = chw(ctx.value(op.input), `sumpool ${op.source}`);
  const [, OH, OW] = chw(ctx.value(op.output), `sumpool ${op.source}`);
  const z = op.inputZero;
  const what = `kernel ${op.kernel.join("x")}, strides ${op.strides.join("x")}, pads [${op.pads.join(", ")}]: acc = sum over the window of (x - ${z}), modulo 2^32`;
  const loop = windowLoop({ C, H, W, OH, OW, lanes }, op, "0", (x) => `v[b] += ${minusZero(`(int64_t)${x}`, z)};`, "fixq_u32_to_i32((uint32_t)v[b])", storage(ctx, op.input), "int32_t");
  return { name, text: `${opComment(op, ctx, what)}\nstatic int ${name}${loop}` };
};

export const emitMaxPool: COpEmitter<MaxPoolOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const [C, H, W] = chw(ctx.value(op.input), `maxpool ${op.source}`);
  const [, OH, OW] = chw(ctx.value(op.output), `maxpool ${op.source}`);
  const xT = storage(ctx, op.input);
  const what = `kernel ${op.kernel.join("x")}, strides ${op.strides.join("x")}, pads [${op.pads.join(", ")}], dilations ${op.dilations.join("x")}: max over the window, padding ignored`;
  // a window wholly in the padding (no input position) gives 0, as the emulator's -Infinity stored into int32 does
  const loop = windowLoop({ C, H, W, OH, OW, lanes }, op, "INT64_MIN", (x) => `v[b] = ${x} > v[b] ? ${x} : v[b];`, `(${storage(ctx, op.output)})(v[b] == INT64_MIN ? 0 : v[b])`, xT, storage(ctx, op.output));
  return { name, text: `${opComment(op, ctx, what)}\nstatic int ${name}${loop}` };
};
