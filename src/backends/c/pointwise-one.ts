/**
 * A 1×1 stride-1 conv of one sample whose sums are exact int32 with int16
 * operands (operands().gemm) as the batch kernels' tiles, with 16 positions
 * in the place of 16 samples:
 *   y[o·P + p0 + b] = bias[o] + Σ_{c < K} W[o, c] · (x[c·P + p0 + b] − z)   for b < 16
 * one block of 16 positions at a time. A last block of nb < 16 positions runs
 * filler in lanes nb … 15 into a separate array and copies nb out.
 *
 * Two forms, as the batch functions choose (tile-conv.ts):
 *   u8 quads (tile-kernel-u8.ts, fixq_tile_dot_u8): where x is 8-bit and every
 *     weight pair passes pairsFitInt16. Channel quad j of the block at 64·j,
 *     position b's 4 bytes x − min(T) at 4b … 4b + 3, and the bias corrected
 *     for the offset: bias'[o] = bias[o] − (z − min(T))·Σ_c W[o, c] (biasU8).
 *     Channels K … Kq − 1 (Kq = K rounded up to 4) have weight 0.
 *   int16 pairs (tile-kernel.ts, fixq_tile_dot): elsewhere. Channel pair j at
 *     32·j, position b's pair x − z at 2b, channels K … Kp − 1 zero (weight 0).
 * The same integers: each kernel's bodies are exact under operands()'s bound
 * (every partial sum below 2^31 in any order) and, for the u8 one, the pair
 * bound, in any order.
 */
import type { ConvOp, ProgramValue } from "../../integer/program.js";
import { cInt } from "../shared/print-c.js";
import { cList, minusZero } from "./c-types.js";
import type { operands } from "./ops-accumulate.js";
import { biasU8, packRows, pairsFitInt16, quadK, u8Operand } from "./tile-kernel-u8.js";

interface PointwiseCode {
  name: string;
  decls: string;
  text: string;
  scratch: Record<string, number>;
  uses: string[];
}

/** The u8 form's operand encoding and packed weights, or undefined where the layer keeps int16 pairs. */
function u8Form(op: ConvOp, xv: ProgramValue, O: number, K: number) {
  const u8 = u8Operand(xv, op.inputZero);
  if (!u8) return undefined;
  const wq = packRows(op.weight, O, K, quadK(K));
  return pairsFitInt16(wq, u8.U) ? { ...u8, wq } : undefined;
}

/** The conv op `op` (name op<i>_…) as described above; `d` its operands() (gemm). */
export function pointwiseTiles(op: ConvOp, name: string, comment: string, xT: string, xv: ProgramValue, d: ReturnType<typeof operands>, O: number, P: number): PointwiseCode {
  const i = Number(/^op(\d+)_/.exec(name)![1]);
  const z = op.inputZero;
  const K = op.weightShape[1]!;
  const u8 = u8Form(op, xv, O, K);
  const G = u8 ? 4 : 2;
  const Ke = u8 ? quadK(K) : d.Kp;
  const eT = u8 ? "uint8_t" : "int16_t";
  const full = Math.floor(P / 16) * 16;
  const val = (s: string) => (u8 ? `(uint8_t)(${minusZero(s, u8.lo)})` : `(int16_t)(${minusZero(s, z)})`);
  /** Channel group g's n ≤ G rows into its cells, lanes nb … 15 zero. */
  const group = (g: string, n: number, p0: string, nb: string) => `    {
      ${eT} *d = xp + ${g} * ${16 * G};
${Array.from({ length: n }, (_, e) => `      const ${xT} *s${e} = x + (${G} * ${g} + ${e}) * ${P} + ${p0};`).join("\n")}
      for (int b = 0; b < ${nb}; b++) {
${Array.from({ length: n }, (_, e) => `        d[${G} * b + ${e}] = ${val(`s${e}[b]`)};`).join("\n")}
      }${
        nb === "16"
          ? ""
          : `
      for (int b = ${nb}; b < 16; b++) {
${Array.from({ length: n }, (_, e) => `        d[${G} * b + ${e}] = 0;`).join("\n")}
      }`
      }
    }`;
  const whole = Math.floor(K / G);
  const fill = (p0: string, nb: string) =>
    `${whole > 0 ? `    for (int g = 0; g < ${whole}; g++)\n${group("g", G, p0, nb)}\n` : ""}${K % G !== 0 ? `${group(String(whole), K % G, p0, nb)}\n` : ""}`;
  const W = u8 ? `WP${i}` : `W${i}`;
  const B = u8 ? `BP${i}` : `B${i}`;
  const dot = (acc: string, ys: number) => `${u8 ? "fixq_tile_dot_u8" : "fixq_tile_dot"}(${W}, ${B}, xp, NULL, ${acc}, ${O}, ${Ke}, ${Ke}, ${ys});`;
  const layout = u8 ? `channel quads of bytes x - ${u8.lo} (quad j at 64 j)` : "channel pairs of x - z (pair j at 32 j)";
  const text = `${comment}
static int ${name}(const ${xT} *restrict x, int32_t *restrict y) {
  ${eT} *restrict xp = fixq_scratch_${eT}; /* 16 positions' ${layout}${Ke > K ? `; channels ${K}..${Ke - 1} zero (weight 0)` : ""} */
${Ke > K ? `  for (int q = ${whole * 16 * G}; q < ${(Ke / G) * 16 * G}; q++) xp[q] = 0;\n` : ""}${
    full > 0
      ? `  for (int p0 = 0; p0 < ${full}; p0 += 16) {
${fill("p0", "16")}    ${dot("y + p0", P)}
  }
`
      : ""
  }${
    P > full
      ? `  {
    int32_t *restrict tail = fixq_tailacc_int32_t; /* the last ${P - full} positions' sums, 16 apart */
${fill(String(full), String(P - full))}    ${dot("tail", 16)}
    for (int o = 0; o < ${O}; o++)
      for (int b = 0; b < ${P - full}; b++) y[o * ${P} + ${full} + b] = tail[o * 16 + b];
  }
`
      : ""
  }  return 0;
}`;
  const decls = u8
    ? `static const int8_t ${W}[${u8.wq.length}] = ${cList(u8.wq)};\nstatic const int32_t ${B}[${O}] = ${cList(biasU8(op.weight, O, op.bias, u8.padByte), cInt)};`
    : d.decls;
  return { name, decls, text, scratch: { [eT]: (Ke / G) * 16 * G, ...(P > full ? { "tailacc:int32_t": O * 16 } : {}) }, uses: [u8 ? "tile_dot_u8" : "tile_dot"] };
}
