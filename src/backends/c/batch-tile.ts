/**
 * The ops of the generated C's batch functions (NAME_run_batch…), which run
 * TILE = 16 samples at once in the batch layout: element i of sample b of a
 * value lives at i·16 + b, so every loop over the 16 samples of one element is
 * contiguous and vectorizes, and each weight is read once per 16 samples.
 * Same arithmetic as the one-sample ops (ops-accumulate.ts), summed in another
 * order, which is exact: sums are int32_t only where no partial sum can pass
 * 2^31, else uint32_t modulo 2^32 (see operands()).
 *   conv / dense: acc[o, p] = bias[o] + Σ_k w[o, k] · (x[tap k of position p] − z)
 *     int16 layers: per output position, the taps' (x − z) are packed in pairs
 *     (tile-kernel.ts) and fixq_tile_dot forms the 16 samples' sums of every
 *     output channel; other layers: a 16-lane loop per tap.
 *     Depthwise: per channel, a 16-lane loop per tap, padding taps skipped.
 *   fused requant: where a dense layer feeds only a requant along its
 *     features, the requant (requantParts, printed from numerics) runs on each
 *     feature's 16 sums right after they are formed, and the int32 tensor never
 *     exists (fusable() says why convs do not, yet).
 *   quantize / dequantize: the float boundary, sample-major outside, batch layout inside.
 */
import type { ConvOp, DenseOp, DequantizeOp, QuantizeOp, RequantOp } from "../../integer/program.js";
import { isWideValue } from "../../integer/program.js";
import { dequantizeDef, quantizeDef } from "../../numerics/definitions.js";
import { laneQuantizeLoop } from "./quantize-avx2.js";
import { cInt } from "../shared/print-c.js";
import { cList, minusZero } from "./c-types.js";
import type { CEmitCtx, COpCode } from "./op-code.js";
import { opComment, opName, storage } from "./op-code.js";
import { chw, operands } from "./ops-accumulate.js";
import { elementwise } from "./ops-io.js";
import { epilogue } from "./tile-epilogue.js";
import { takesTileConv } from "./tile-conv.js";
import { isDepthwise } from "./tile-depthwise.js";
import { evenK, TILE } from "./tile-kernel.js";
import { biasU8, packRows, pairsFitInt16, quadK, u8Operand } from "./tile-kernel-u8.js";
import { octetSchedule } from "./tile-kernel-u8-octets.js";

const L = TILE;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Whether `rq` runs as `acc`'s epilogue: an int32 accumulator whose requant is
 * per tensor or along the channels (a dense layer's features, a conv's axis
 * 0), where the layer is a dense one, a depthwise conv (tile-depthwise.ts) or
 * a conv read in place (tile-conv.ts). Grouped convs and convs whose operands
 * need the wrapping kernel keep a separate requant.
 */
export function fusable(acc: ConvOp | DenseOp, rq: RequantOp, ctx: CEmitCtx): boolean {
  const out = ctx.value(acc.output);
  if (isWideValue(out)) return false;
  if (acc.kind === "dense") return rq.multipliers.length === 1 || rq.axis === out.shape.length - 1;
  return (isDepthwise(acc, ctx) || takesTileConv(acc, ctx)) && (rq.multipliers.length === 1 || rq.axis === 0);
}

/** The conv or dense op (and the requant fused after it) over 16 samples. */
export function emitTileAccumulate(op: ConvOp | DenseOp, ctx: CEmitCtx, rq?: RequantOp): COpCode {
  const i = ctx.index;
  const name = `${opName(i, op, L)}${rq ? "_requant" : ""}`;
  const xv = ctx.value(op.input);
  const xT = storage(ctx, op.input);
  const yT = rq ? storage(ctx, rq.output) : "int32_t";
  const z = op.inputZero;
  const conv = op.kind === "conv";
  // geometry: positions p, taps k, the element index of tap k at position p (or padding)
  let O: number;
  let K: number;
  let groups = 1;
  let outAt: (o: string) => string;
  let depthwise = false;
  let cg = 0;
  let dims = { H: 0, W: 0, KH: 0, KW: 0, SH: 0, SW: 0, PT: 0, PL: 0, DH: 0, DW: 0, OH: 0, OW: 0 };
  if (conv) {
    const [C, H, W] = chw(xv, `conv ${op.source}`);
    const [OO, OH, OW] = chw(ctx.value(op.output), `conv ${op.source}`);
    const [, g, KH, KW] = op.weightShape;
    O = OO;
    cg = g;
    groups = op.group;
    depthwise = cg === 1 && O === op.group && C === op.group;
    K = cg * KH * KW;
    dims = { H, W, KH, KW, SH: op.strides[0], SW: op.strides[1], PT: op.pads[0], PL: op.pads[1], DH: op.dilations[0], DW: op.dilations[1], OH, OW };
    outAt = (o) => `(${o}) * ${OH * OW} + oh * ${OW} + ow`;
  } else {
    O = op.outFeatures;
    K = op.inFeatures;
    outAt = (o) => `r * ${O} + ${o}`;
  }
  const d = operands(i, op.weight, O, op.bias, xv, z, conv ? !depthwise : true);
  const what = conv
    ? `kernel ${dims.KH}x${dims.KW}, strides ${dims.SH}x${dims.SW}, pads [${op.kind === "conv" ? op.pads.join(", ") : ""}], group ${groups}, input zero ${z}, ${L} samples`
    : `K = ${K}, N = ${O}, input zero ${z}, ${L} samples`;
  const head = `${opComment(op, ctx, `${what}: acc = bias + sum (x - ${z}) * w${rq ? `; then requant '${rq.output}' on each channel's sums` : ""}`)}\nstatic int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {`;
  const { H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW } = dims;
  // the tap pointers of one position: a row of the input's 16 samples, or PAD (16 copies of z: x − z = 0)
  // u8 quads (tile-kernel-u8.ts) where the input is 8-bit and every weight pair keeps vpmaddubsw exact, else int16 pairs
  const u8 = d.gemm ? u8Operand(xv, z) : undefined;
  const wq = u8 ? packRows(op.weight, O, K, quadK(K)) : undefined;
  const useU8 = u8 !== undefined && wq !== undefined && pairsFitInt16(wq, u8.U);
  const G = useU8 ? 4 : 2;
  const Ke = !d.gemm ? K : useU8 ? quadK(K) : evenK(K);
  const Kw = useU8 ? Ke : d.Kp;
  const eT = useU8 ? "uint8_t" : "int16_t";
  const padTaps = Ke > K ? `\n    for (int k = ${K}; k < ${Ke}; k++) src[k] = PAD;` : "";
  // one group: the AVX2 body may add octets' pair sums before vpmaddwd where the weights allow (tile-kernel-u8-octets.ts)
  const sched = useU8 && groups === 1 ? octetSchedule(wq!, O, Kw, Ke, u8!.U) : undefined;
  const call = (acc: string, ys: number) =>
    sched
      ? `fixq_tile_dot_u8s(WQ${i}, BQ${i}, xp, SQ${i}, ${acc}, ${O}, ${Kw}, ${Ke}, ${ys});`
      : `${useU8 ? "fixq_tile_dot_u8(WQ" : "fixq_tile_dot(W"}${i} + g * ${og * Kw}, ${useU8 ? "BQ" : "B"}${i} + g * ${og}, xp, NULL, ${acc}, ${og}, ${Kw}, ${Ke}, ${ys});`;
  const gather = conv
    ? `    int k = 0;
    for (int c = 0; c < ${cg}; c++) {
      for (int kh = 0; kh < ${KH}; kh++) {
        const int ih = oh * ${SH} - ${PT} + kh * ${DH};
        for (int kw = 0; kw < ${KW}; kw++) {
          const int iw = ow * ${SW} - ${PL} + kw * ${DW};
          src[k++] = ih >= 0 && ih < ${H} && iw >= 0 && iw < ${W} ? x + (((g * ${cg} + c) * ${H} + ih) * ${W} + iw) * ${L} : PAD;
        }
      }
    }${padTaps}`
    : `    for (int k = 0; k < ${K}; k++) src[k] = x + (r * ${K} + k) * ${L};${padTaps}`;
  const og = O / groups;
  const loopsOpen = conv ? `  for (int g = 0; g < ${groups}; g++)\n  for (int oh = 0; oh < ${OH}; oh++)\n  for (int ow = 0; ow < ${OW}; ow++) {` : `  for (int r = 0; r < ${size(xv.shape.slice(0, -1))}; r++) {\n    const int g = 0;\n    (void)g;`;
  // 8-bit operands of a full-range type (x − min T is x itself or x ^ 0x80) take fixq_quads16 where SSE2 is there
  const flip = useU8 && (u8!.lo === 0 || u8!.lo === -128) ? -u8!.lo : undefined;
  const quadLoop = `      for (int b = 0; b < ${L}; b++) {
${Array.from({ length: G }, (_, e) => `        dj[${G} * b + ${e}] = ${useU8 ? `(uint8_t)(${minusZero(`s${e}[b]`, u8!.lo)})` : `(int16_t)(${minusZero(`s${e}[b]`, z)})`};`).join("\n")}
      }`;
  const quads =
    flip === undefined ? quadLoop : `#if FIXQ_HAVE_T16
      fixq_quads16((const uint8_t *)s0, (const uint8_t *)s1, (const uint8_t *)s2, (const uint8_t *)s3, ${flip}, dj);
#else
${quadLoop}
#endif`;
  const dots = d.gemm
    ? `    for (int j = 0; j < ${Ke / G}; j++) {
      const ${xT} ${Array.from({ length: G }, (_, e) => `*s${e} = src[${G} * j + ${e}]`).join(", ")};
      ${eT} *dj = xp + j * ${G * L};
${quads}
    }
${
      rq
        ? `    ${call("acc", L)}
    for (int oo = 0; oo < ${og}; oo++) {
      const int o = g * ${og} + oo;
${epilogue(ctx, rq, "o", outAt("o"), (b) => `acc[oo * ${L} + ${b}]`, "      ")}`
        : `    /* the sums go straight to y: channel rows ${conv ? dims.OH * dims.OW * L : L} elements apart */
    ${call(`y + (${outAt(`g * ${og}`)}) * ${L}`, conv ? dims.OH * dims.OW * L : L)}
    {`
    }
    }`
    : `    for (int k = 0; k < ${K}; k++)
      for (int b = 0; b < ${L}; b++) xs[k * ${L} + b] = (${d.xt})(${minusZero("src[k][b]", z)});
    for (int oo = 0; oo < ${og}; oo++) {
      const int o = g * ${og} + oo;
      ${d.acc} s[${L}];
      for (int b = 0; b < ${L}; b++) s[b] = ${d.start("o")};
      for (int k = 0; k < ${K}; k++) {
        const ${d.wt} wv = W${i}[o * ${K} + k];
        for (int b = 0; b < ${L}; b++) s[b] += ${d.term("wv", `xs[k * ${L} + b]`)};
      }
${epilogue(ctx, rq, "o", outAt("o"), (b) => d.result(`s[${b}]`), "      ")}
    }`;
  // the gathered patch holds tap pair j at 32·j (off = NULL)
  const decls = useU8
    ? `static const int8_t WQ${i}[${wq!.length}] = ${cList(wq!)};\nstatic const int32_t BQ${i}[${O}] = ${cList(biasU8(op.weight, O, op.bias, u8!.padByte), cInt)};${sched ? `\nstatic const int32_t SQ${i}[${sched.length}] = ${cList(sched)};` : ""}`
    : undefined;
  const text = `${head}
${conv || Ke > K ? `  static const ${xT} PAD[${L}] = {${new Array(L).fill(z).join(", ")}};\n` : ""}  const ${xT} *src[${Ke}];
${d.gemm ? `  ${eT} *restrict xp = fixq_tile_${eT}; /* ${Ke / G} tap ${useU8 ? "quads" : "pairs"} x ${L} samples x ${G} */${rq ? `\n  int32_t *restrict acc = fixq_tileacc_int32_t; /* ${og} channels x ${L} samples */` : ""}` : `  ${d.xt} *restrict xs = fixq_tile_${d.xt}; /* ${K} taps x ${L} samples */`}
${loopsOpen}
${gather}
${dots}
  }
  return 0;
}`;
  return { name, ...(decls ? { decls } : {}), text, scratch: d.gemm ? { [`tile:${eT}`]: Ke * L, ...(rq ? { "tileacc:int32_t": og * L } : {}) } : { [`tile:${d.xt}`]: K * L }, uses: d.gemm ? [useU8 ? "tile_dot_u8" : "tile_dot"] : [] };
}

/**
 * QuantizeLinear of nb ≤ 16 sample-major float samples into the batch layout; lanes nb… copy sample 0.
 * Each sample's row is quantized into a contiguous row of the scratch (the lane loop vectorizes), then the
 * 16 rows are transposed into the layout: 16 × 16 bytes at a time by fixq_t16 (transpose-bytes.ts) for 8-bit
 * types where SSE2 is there, element by element otherwise.
 */
export function emitTileQuantize(op: QuantizeOp, ctx: CEmitCtx): COpCode {
  const name = opName(ctx.index, op, L);
  const scale = Math.fround(op.scale);
  const yT = storage(ctx, op.output);
  const n = size(ctx.value(op.output).shape);
  const body = elementwise(quantizeDef.body, { scale, z: op.zeroPoint, qmin: op.qmin, qmax: op.qmax }, new Map([["x", `(double)x[b * ${n} + i]`]]), (v) => `(${yT})fixq_d2i32(${v})`, "qb[i]", "      ");
  const lanes = laneQuantizeLoop(op, yT, `x + b * ${n}`, "qb", n, "    ");
  const bytes = yT === "uint8_t" || yT === "int8_t";
  const text = `${opComment(op, ctx, `as ${opName(ctx.index, op)}, over nb samples into the batch layout`)}
static int ${name}(const float *restrict x, ${yT} *restrict y, int nb) {
  ${yT} *restrict q = fixq_tileq_${yT}; /* ${L} rows of ${n}: sample b's row at b * ${n} */
  int i;
  for (int b = 0; b < nb; b++) {
    ${yT} *restrict qb = q + b * ${n};
    i = 0;
${lanes ? `${lanes}
` : ""}    for (; i < ${n}; i++) {
${body}
    }
  }
  for (int b = nb; b < ${L}; b++) memcpy(q + b * ${n}, q, ${n} * sizeof *q);
${
  bytes && n >= 16
    ? `#if FIXQ_HAVE_T16
  for (int t = 0; t < ${Math.floor(n / 16)}; t++) fixq_t16((const uint8_t *)(q + t * 16), ${n}, (uint8_t *)(y + t * ${16 * L}));
  i = ${Math.floor(n / 16) * 16};
#else
  i = 0;
#endif`
    : "  i = 0;"
}
  for (; i < ${n}; i++)
    for (int b = 0; b < ${L}; b++) y[i * ${L} + b] = q[b * ${n} + i];
  return 0;
}`;
  return { name, text, scratch: { [`tileq:${yT}`]: L * n } };
}

/** DequantizeLinear of the batch layout's first nb samples into sample-major floats. */
export function emitTileDequantize(op: DequantizeOp, ctx: CEmitCtx): COpCode {
  const name = opName(ctx.index, op, L);
  const scale = Math.fround(op.scale);
  const xT = storage(ctx, op.input);
  const n = size(ctx.value(op.input).shape);
  const body = elementwise(dequantizeDef.body, { scale, z: op.zeroPoint }, new Map([["q", `(int64_t)x[i * ${L} + b]`]]), (v) => `(float)(${v})`, `y[b * ${n} + i]`, "      ");
  const text = `${opComment(op, ctx, `as ${opName(ctx.index, op)}, from the batch layout's first nb samples`)}
static int ${name}(const ${xT} *restrict x, float *restrict y, int nb) {
  for (int b = 0; b < nb; b++) {
    for (int i = 0; i < ${n}; i++) {
${body}
    }
  }
  return 0;
}`;
  return { name, text };
}
