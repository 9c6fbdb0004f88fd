/**
 * Depthwise convs (group = channels = outputs) in the batch functions, over
 * 16 samples (element i of sample b at i·16 + b):
 *   acc[ch, oh, ow, b] = bias[ch] + Σ_{kh, kw} w[ch, kh, kw] · (x[ch, oh·SH − PT + kh·DH, ow·SW − PL + kw·DW, b] − z)
 * Padding taps add 0 and are skipped. Positions whose whole window lies inside
 * the input (the interior: rows [OH0, OH1), columns [OW0, OW1)) take a loop
 * whose tap counts and offsets are constants, so the compiler unrolls the taps
 * and vectorizes the 16 samples; border positions read their tap range
 * [K0, K1) from small tables. A channel's sums fill an L1-sized plane (or
 * go straight to y, int32, where no requant follows), and the requant fused
 * after the conv runs over the whole plane with the channel's constants loaded
 * once (tile-epilogue.ts). On AVX2 the whole nest is tile-depthwise-avx2.ts's (vpmaddwd on tap
 * pairs, the fused requant on the sums still in registers). The activations stay in the batch layout (channel-major, 16 samples
 * innermost): the samples are the vector lanes, so no channel-blocked layout
 * is needed between layers.
 * Sums as ops-accumulate.ts's operands(): int32_t where no partial sum can
 * pass 2^31, else uint32_t modulo 2^32 (exact after the final conversion).
 */
import type { ConvOp, RequantOp } from "../../integer/program.js";
import { minusZero } from "./c-types.js";
import type { CEmitCtx, COpCode } from "./op-code.js";
import { opComment, opName, storage } from "./op-code.js";
import { chw, operands } from "./ops-accumulate.js";
import { avx2DepthwiseDecls, avx2DepthwiseNest, takesAvx2Depthwise } from "./tile-depthwise-avx2.js";
import { runEpilogue } from "./tile-epilogue.js";
import { TILE } from "./tile-kernel.js";

const L = TILE;

/** Whether `op` is a depthwise conv (one input channel per group, one output per group). */
export function isDepthwise(op: ConvOp, ctx: CEmitCtx): boolean {
  const [C] = chw(ctx.value(op.input), `conv ${op.source}`);
  const [O] = chw(ctx.value(op.output), `conv ${op.source}`);
  return op.weightShape[1] === 1 && O === op.group && C === op.group;
}

/** Per output index o < n: the window taps inside the input, [k0, k1) (empty where none is). */
function tapRange(what: string, n: number, S: number, P0: number, D: number, K: number, In: number): [number[], number[]] {
  const k0: number[] = [];
  const k1: number[] = [];
  for (let o = 0; o < n; o++) {
    const inside = Array.from({ length: K }, (_, k) => o * S - P0 + k * D).map((q) => q >= 0 && q < In);
    const first = inside.indexOf(true);
    k0.push(first < 0 ? 0 : first);
    k1.push(first < 0 ? 0 : inside.lastIndexOf(true) + 1);
    if (first >= 0 && inside.slice(first, k1[o]).includes(false)) throw new Error(`${what}: window taps inside the input are not contiguous`);
  }
  return [k0, k1];
}

/** The interior [lo, hi): outputs whose K taps all lie inside the input (lo = hi when none does). */
function interior(n: number, S: number, P0: number, D: number, K: number, In: number): [number, number] {
  const inside = (o: number) => o * S - P0 >= 0 && o * S - P0 + (K - 1) * D < In;
  let lo = 0;
  while (lo < n && !inside(lo)) lo++;
  let hi = lo;
  while (hi < n && inside(hi)) hi++;
  return [lo, hi];
}

/** The depthwise conv `op` (and the requant `rq` fused after it) over 16 samples. */
export function emitTileDepthwise(op: ConvOp, ctx: CEmitCtx, rq?: RequantOp): COpCode {
  const i = ctx.index;
  const name = `${opName(i, op, L)}${rq ? "_requant" : ""}`;
  const xv = ctx.value(op.input);
  const [C, H, W] = chw(xv, `conv ${op.source}`);
  const [, OH, OW] = chw(ctx.value(op.output), `conv ${op.source}`);
  const [, , KH, KW] = op.weightShape;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  const z = op.inputZero;
  const xT = storage(ctx, op.input);
  const yT = rq ? storage(ctx, rq.output) : "int32_t";
  const d = operands(i, op.weight, C, op.bias, xv, z, false);
  const what = `depthwise, kernel ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}], input zero ${z}, ${L} samples`;
  const [kh0, kh1] = tapRange(`conv ${op.source}`, OH, SH, PT, DH, KH, H);
  const [kw0, kw1] = tapRange(`conv ${op.source}`, OW, SW, PL, DW, KW, W);
  const [OH0, OH1] = interior(OH, SH, PT, DH, KH, H);
  const [OW0, OW1] = interior(OW, SW, PL, DW, KW, W);
  const tables = [`static const unsigned char KH0_${i}[${OH}] = {${kh0.join(", ")}};`, `static const unsigned char KH1_${i}[${OH}] = {${kh1.join(", ")}};`, `static const unsigned char KW0_${i}[${OW}] = {${kw0.join(", ")}};`, `static const unsigned char KW1_${i}[${OW}] = {${kw1.join(", ")}};`].join("\n");
  const tap = (r: string) => `for (int b = 0; b < ${L}; b++) s[b] += ${d.term("wv", `(${d.xt})(${minusZero(`${r}[b]`, z)})`)};`;
  const vec = takesAvx2Depthwise(op, ctx, d);
  const nest = vec ? avx2DepthwiseNest(op, ctx, { C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, OH0, OH1, OW0, OW1 }, rq) : "";
  const portable = `${rq ? `  int32_t *restrict plane = fixq_tileacc_int32_t; /* one channel's sums: ${OH * OW} positions x ${L} samples */\n` : ""}  for (int ch = 0; ch < ${C}; ch++) {
    const ${xT} *xc = x + ch * ${H * W * L};
    int32_t *pl = ${rq ? "plane" : `y + ch * ${OH * OW * L}`};
    for (int oh = 0; oh < ${OH}; oh++) {
      for (int ow = 0; ow < ${OW}; ow++) {
        const ${d.wt} *wc = W${i} + ch * ${KH * KW};
        ${d.acc} s[${L}];
        for (int b = 0; b < ${L}; b++) s[b] = ${d.start("ch")};
        if (oh >= ${OH0} && oh < ${OH1} && ow >= ${OW0} && ow < ${OW1}) {
          /* every tap inside: constant counts and offsets */
          const ${xT} *r0 = xc + ((oh * ${SH} - ${PT}) * ${W} + ow * ${SW} - ${PL}) * ${L};
          for (int kh = 0; kh < ${KH}; kh++) {
            for (int kw = 0; kw < ${KW}; kw++) {
              const ${d.wt} wv = wc[kh * ${KW} + kw];
              const ${xT} *r = r0 + (kh * ${DH * W} + kw * ${DW}) * ${L};
              ${tap("r")}
            }
          }
        } else {
          for (int kh = KH0_${i}[oh]; kh < KH1_${i}[oh]; kh++) {
            const int ih = oh * ${SH} - ${PT} + kh * ${DH};
            for (int kw = KW0_${i}[ow]; kw < KW1_${i}[ow]; kw++) {
              const int iw = ow * ${SW} - ${PL} + kw * ${DW};
              const ${xT} *r = xc + (ih * ${W} + iw) * ${L};
              const ${d.wt} wv = wc[kh * ${KW} + kw];
              ${tap("r")}
            }
          }
        }
        for (int b = 0; b < ${L}; b++) pl[(oh * ${OW} + ow) * ${L} + b] = ${d.result("s[b]")};
      }
    }
${rq ? `${runEpilogue(ctx, rq, "ch", "plane", `y + ch * ${OH * OW * L}`, OH * OW * L, "    ")}\n` : ""}  }`;
  const decls = vec ? `${avx2DepthwiseDecls(op, ctx)}\n#if FIXQ_BASE_DATA\n${tables}\n#endif` : tables;
  const text = `${opComment(op, ctx, `${what}: acc = bias + sum (x - ${z}) * w${rq ? `; then requant '${rq.output}' on each position's sums` : ""}; interior rows [${OH0}, ${OH1}), columns [${OW0}, ${OW1})`)}
static int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {
${vec ? `#if FIXQ_USE_AVX2\n${nest}\n#else\n${portable}\n#endif` : portable}
  return 0;
}`;
  return { name, decls, text, ...(rq ? { scratch: { "tileacc:int32_t": OH * OW * L } } : {}) };
}
