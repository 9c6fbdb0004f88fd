/**
 * Convolution on the SIMD engine: per sample and group, the packed int16
 * operand A[kp][p][t] = (x − inputZero) of tap 2·kp + t at output p, then the
 * blocked dot_i16x8 GEMM writes the NCHW accumulators with the bias added.
 * A is built in one pass for 1×1 convs (kernels-pack.ts `pack1x1`), by vector
 * shuffles from a zero-padded int16 copy of the input when the column stride
 * is 1 or 2 (`pad16`, `pack`), else through a gather map (module.ts `im2col`). Only used when x − inputZero and the weights fit
 * int16.
 */
import type { ConvOp } from "../../../integer/program.js";
import type { KernelContext, PreparedOp } from "../kernel.js";
import type { ConvGeometry } from "../kernels/conv.js";
import { convGather } from "../kernels/conv.js";
import { gemmPlan, packGather, packWeights } from "./pack.js";

export function simdConv(op: ConvOp, geo: ConvGeometry, ctx: KernelContext): PreparedOp | undefined {
  const { c, h, w, oc, oh, ow, kh, kw, group, icg, ocg, K, P } = geo;
  const plan = gemmPlan(K, P, ocg);
  const { KP, P8, OB } = plan;
  const weights = Array.from({ length: group }, (_, g) => packWeights(op.weight, g * ocg * K, ocg, K, plan));
  const groupWeightBytes = OB * KP * 16;
  const bias = new Int32Array(oc);
  if (op.bias) bias.set(op.bias);
  const weightOff = ctx.reserve(group * groupWeightBytes);
  const biasOff = ctx.reserve(bias.byteLength);
  const aBytes = KP * P8 * 4 + 64;
  const z = op.inputZero;
  const inSample = c * h * w * 4;
  const inGroup = icg * h * w * 4;
  const outSample = oc * P * 4;
  const outGroup = ocg * P * 4;
  const batch = ctx.batch;
  const [sh, sw] = op.strides;
  const [dh, dw] = op.dilations;
  const [pt, pl, pb, pr] = op.pads;
  const vector = sw === 1 || sw === 2;
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && pb === 0 && pr === 0;

  let fill: (e: NonNullable<Parameters<PreparedOp["bind"]>[0]["wasm"]>, x: number, a: number) => void;
  let tableOff = 0;
  let table: Int32Array;
  if (pointwise) {
    table = new Int32Array(0);
    ctx.scratch(aBytes);
    fill = (e, x, a) => e.pack1x1(x, z, a, K, P, P8);
  } else if (vector) {
    const hp = h + pt + pb;
    const wp = w + pl + pr;
    const planeElems = hp * wp;
    table = new Int32Array(2 * KP);
    for (let k = 0; k < 2 * KP; k++) {
      if (k >= K) {
        table[k] = icg * planeElems; // the all-zero plane
        continue;
      }
      const ic = Math.floor(k / (kh * kw));
      const ky = Math.floor(k / kw) % kh;
      const kx = k % kw;
      table[k] = ic * planeElems + ky * dh * wp + kx * dw;
    }
    tableOff = ctx.reserve(table.byteLength);
    const merged = sh === 1 && sw === 1 && ow === wp; // output rows are contiguous in the planes
    const rows = merged ? 1 : oh;
    const cols = merged ? P : ow;
    const planeBytes = planeElems * 2;
    ctx.scratch(aBytes + (icg + 1) * planeBytes + 64);
    fill = (e, x, a) => {
      e.pad16(x, z, icg, h, w, pt, pl, wp, planeBytes, a + aBytes);
      e.pack(a + aBytes, a, tableOff, KP, rows, cols, sh * wp, sw, P8);
    };
  } else {
    const src = convGather(op, geo);
    table = packGather(K, P, plan, (p, k) => src[p * K + k]!);
    tableOff = ctx.reserve(table.byteLength);
    ctx.scratch(aBytes);
    const n = table.length;
    fill = (e, x, a) => e.im2col(x, z, tableOff, n, a);
  }
  return {
    bind: (mem) => {
      new Int32Array(mem.buffer, tableOff, table.length).set(table);
      weights.forEach((wg, g) => {
        new Int16Array(mem.buffer, weightOff + g * groupWeightBytes, wg.length).set(wg);
      });
      new Int32Array(mem.buffer, biasOff, oc).set(bias);
      const e = mem.wasm!;
      const a = mem.scratch;
      return (inputs, out) => {
        const x0 = inputs[0]!.byteOffset;
        const o0 = out.byteOffset;
        for (let b = 0; b < batch; b++) {
          for (let g = 0; g < group; g++) {
            fill(e, x0 + b * inSample + g * inGroup, a);
            e.gemm(a, weightOff + g * groupWeightBytes, biasOff + g * ocg * 4, o0 + b * outSample + g * outGroup, KP, P8, P, OB, ocg, P * 4, 4);
          }
        }
      };
    },
  };
}
