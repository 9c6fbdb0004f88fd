/**
 * The transformer ops (matmul of two activations, mul, table, softmax,
 * layernorm, addconst, gather, slice) in the generated C's batch functions,
 * whose values live in the batch layout (element i of sample l at i·16 + l,
 * batch-tile.ts): so a transformer program's dense layers, requants,
 * rescales and data movement take the CNN ops' 16-sample kernels, and only
 * these ops are printed here. Each keeps the one definition of its
 * arithmetic (shared/transformer-c.ts, restating numerics/transformer.ts):
 *   table      elementwise and independent of the element's index: the
 *              one-sample function over each run of |x| elements of the
 *              16·|x| (the same table lookup, in another order);
 *   addconst   in int32 lanes where its operands allow (laneAddConst32), else
 *              the one-sample body with a lane loop inside (offset[i mod n]
 *              by the element i, the same for its 16 lanes);
 *   layernorm  the one-sample body with each row's sums, square root and
 *              reciprocal per lane, the lane loop innermost; on AVX2 the
 *              element loop 4 lanes at a time (layernorm-avx2.ts);
 *   softmax    (without a key mask) the same: max, sum and divisor per lane;
 *   matmul     with int32 sums (matmulFitsInt32): laneMatMul;
 *   the others per sample: lane l of each input is copied out into a
 *              sample-major scratch array, the one-sample function runs on it
 *              (the same function NAME_run calls), and its output goes back
 *              into lane l. A status other than 0 (an id outside its table)
 *              is returned at once, as a failing tile of the CNN ops is.
 * The scratch arrays are thread-local under -DFIXQ_THREADS (batch-api.ts).
 */
import { opInputs } from "../../integer/program.js";
import type { AddConstOp, MatMulOp } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { cInt } from "../shared/print-c.js";
import { matmulFitsInt32, type TransformerOp, transformerText } from "../shared/transformer-c.js";
import { cList } from "./c-types.js";
import { layerNormRowAvx2 } from "./layernorm-avx2.js";
import { type CEmitCtx, type COpCode, opComment, opName, storage } from "./op-code.js";
import { TILE } from "./tile-kernel.js";

const L = TILE;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The op's batch function `static int tileI_kind(const Tx *restrict x0…, Ty *restrict y)` over 16 samples. */
export function emitTileTransformer(op: TransformerOp, ctx: CEmitCtx): COpCode {
  const name = opName(ctx.index, op, L);
  const one = opName(ctx.index, op);
  const ins = opInputs(op);
  const xT = ins.map((v) => storage(ctx, v));
  const yT = storage(ctx, op.output);
  const params = [...ins.map((_, k) => `const ${xT[k]} *restrict x${k}`), `${yT} *restrict y`].join(", ");
  const n = size(ctx.value(op.output).shape);
  if (op.kind === "table") {
    const text = `${opComment(op, ctx, `as ${one}, over each sample's run of ${n} elements of the ${L}-sample tile (a lookup: any order)`)}
static int ${name}(${params}) {
  for (int c = 0; c < ${L}; c++) (void)${one}(x0 + c * ${n}, y + c * ${n});
  return 0;
}`;
    return { name, text };
  }
  if (op.kind === "matmul" && matmulFitsInt32(op, ctx.program)) return laneMatMul(op, ctx, name);
  const narrow = op.kind === "addconst" ? laneAddConst32(op, ctx, name) : undefined;
  if (narrow) return narrow;
  if (op.kind === "addconst" || op.kind === "layernorm" || (op.kind === "softmax" && op.mask === undefined)) {
    const row = op.kind === "layernorm" ? (fast: boolean) => layerNormRowAvx2(op, ctx, L, fast) : undefined;
    const k = transformerText(op, { program: ctx.program, index: ctx.index, read: (_v, e) => e, write: (v, e) => `(${storage(ctx, v)})(${e})`, lanes: L, reciprocal: true, ...(row ? { layerNormRow: row } : {}) });
    const text = `${opComment(op, ctx, `${k.what}, ${L} samples`)}\nstatic int ${name}(const ${xT[0]} *restrict x, ${yT} *restrict y) {\n${k.body}\n}`;
    return { name, text };
  }
  // per sample: out of the lanes, through the one-sample function, back into lane l
  const sizes = ins.map((v) => size(ctx.value(v).shape));
  const scratch: Record<string, number> = { [`laney:${yT}`]: n };
  ins.forEach((_, k) => {
    scratch[`lane${k}:${xT[k]}`] = sizes[k]!;
  });
  const copyIn = ins.map((_, k) => `    for (int i = 0; i < ${sizes[k]}; i++) s${k}[i] = x${k}[i * ${L} + l];`).join("\n");
  const text = `${opComment(op, ctx, `as ${one}, one sample of the ${L} at a time`)}
static int ${name}(${params}) {
${ins.map((_, k) => `  ${xT[k]} *restrict s${k} = fixq_lane${k}_${xT[k]};`).join("\n")}
  ${yT} *restrict sy = fixq_laney_${yT};
  for (int l = 0; l < ${L}; l++) {
${copyIn}
    const int st = ${one}(${[...ins.map((_, k) => `s${k}`), "sy"].join(", ")});
    if (st != 0) return st;
    for (int i = 0; i < ${n}; i++) y[i * ${L} + l] = sy[i];
  }
  return 0;
}`;
  return { name, text, scratch };
}

/**
 * A matmul whose sums fit int32 (matmulFitsInt32), in the lanes: per row i of
 * each matrix r, the N·16 sums s[j·16 + l] += (a[r, i, k] − za)·(b[r, k, j] −
 * zb) of lane l, k outer; the lane loop is innermost and vectorizes. Integer
 * sums: the same values in any order.
 */
function laneMatMul(op: MatMulOp, ctx: CEmitCtx, name: string): COpCode {
  const a = ctx.value(op.inputs[0]).shape;
  const b = ctx.value(op.inputs[1]).shape;
  const r = a.length;
  const [M, K, N] = [a[r - 2]!, a[r - 1]!, b[r - 1]!];
  const R = size(a.slice(0, r - 2));
  const [za, zb] = op.inputZeros;
  const [aT, bT, yT] = [storage(ctx, op.inputs[0]), storage(ctx, op.inputs[1]), storage(ctx, op.output)];
  const text = `${opComment(op, ctx, `acc = sum_k (a - ${za}) * (b - ${zb}), ${R} x [${M}x${K}].[${K}x${N}], int32 sums, ${L} samples`)}
static int ${name}(const ${aT} *restrict x0, const ${bT} *restrict x1, ${yT} *restrict y) {
  for (int r = 0; r < ${R}; r++) {
    for (int i = 0; i < ${M}; i++) {
      int32_t s[${N * L}];
      for (int e = 0; e < ${N * L}; e++) s[e] = 0;
      for (int k = 0; k < ${K}; k++) {
        const ${aT} *av = x0 + ((r * ${M} + i) * ${K} + k) * ${L};
        const ${bT} *bv = x1 + (r * ${K} + k) * ${N * L};
        for (int j = 0; j < ${N}; j++)
          for (int l = 0; l < ${L}; l++) s[j * ${L} + l] += ((int32_t)av[l] - ${za}) * ((int32_t)bv[j * ${L} + l] - ${zb});
      }
      for (int e = 0; e < ${N * L}; e++) y[(r * ${M} + i) * ${N * L} + e] = (${yT})s[e];
    }
  }
  return 0;
}`;
  return { name, text };
}

/**
 * addconst, y = clamp(z + ⌊((x − zx)·m + P_j) / 2^s⌋, lo, hi) with P_j = offset[j] + 2^(s−1), in int32
 * lanes where its operands allow (s ≥ 16, and the bounds below), else undefined. With m = m1·2^16 + m0
 * and P_j = p1_j·2^16 + p0_j (0 ≤ m0, p0_j < 2^16) and d = x − zx:
 *   d·m + P_j = A·2^16 + B,  A = d·m1 + p1_j,  B = d·m0 + p0_j,
 *   ⌊(A·2^16 + B) / 2^s⌋ = ⌊(A + ⌊B / 2^16⌋) / 2^(s−16)⌋   (nested floors of powers of two),
 * every term in int32: |B| ≤ |d|max·(2^16 − 1) + 2^16 − 1 and |A| + |⌊B / 2^16⌋| + |z| below 2^31.
 */
function laneAddConst32(op: AddConstOp, ctx: CEmitCtx, name: string): COpCode | undefined {
  if (op.shift < 16) return undefined;
  const xt = ctx.value(op.input).type;
  const dMax = Math.max(Math.abs(intMin(xt) - op.inputZero), Math.abs(intMax(xt) - op.inputZero));
  const m0 = ((op.multiplier % 65536) + 65536) % 65536;
  const m1 = (op.multiplier - m0) / 65536;
  const half = 2 ** (op.shift - 1);
  const p0 = Array.from(op.offset, (o) => (((o + half) % 65536) + 65536) % 65536);
  const p1 = Array.from(op.offset, (o, j) => (o + half - p0[j]!) / 65536);
  const p1Max = p1.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  const bMax = dMax * 65535 + 65535;
  const fits = Number.isSafeInteger(op.multiplier) && op.offset.every((o) => Number.isSafeInteger(o + half)) && bMax < 2 ** 31 && dMax * Math.abs(m1) + p1Max + Math.ceil(bMax / 65536) + Math.abs(op.outZero) < 2 ** 31;
  if (!fits) return undefined;
  const i = ctx.index;
  const m = op.offset.length;
  const n = size(ctx.value(op.output).shape);
  const [xT, yT] = [storage(ctx, op.input), storage(ctx, op.output)];
  const decls = `static const int32_t ACP0_${i}[${m}] = ${cList(p0)};\nstatic const int32_t ACP1_${i}[${m}] = ${cList(p1)};`;
  const text = `${opComment(op, ctx, `y = clamp(${op.outZero} + floor(((x - ${op.inputZero}) * ${op.multiplier} + offset[i mod ${m}] + 2^${op.shift - 1}) / 2^${op.shift})), in int32 lanes: m = ${m1} * 2^16 + ${m0}, offset + 2^${op.shift - 1} = ACP1 * 2^16 + ACP0, ${L} samples`)}
static int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {
  for (int o = 0; o < ${n}; o += ${m}) {
    for (int j = 0; j < ${m}; j++) {
      const int32_t p0 = ACP0_${i}[j], p1 = ACP1_${i}[j];
      for (int l = 0; l < ${L}; l++) {
        const int32_t d = (int32_t)x[(o + j) * ${L} + l] - ${cInt(op.inputZero)};
        const int32_t v = ${cInt(op.outZero)} + fixq_shr32(d * ${cInt(m1)} + p1 + fixq_shr32(d * ${cInt(m0)} + p0, 16), ${op.shift - 16});
        y[(o + j) * ${L} + l] = (${yT})fixq_min32(fixq_max32(v, ${cInt(op.clampLo)}), ${cInt(op.clampHi)});
      }
    }
  }
  return 0;
}`;
  return { name, decls, text };
}
