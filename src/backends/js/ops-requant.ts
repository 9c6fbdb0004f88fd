/**
 * Requant in generated JS, exact in doubles without BigInt:
 *   y = clamp(R(acc, m[c]·2^−s[c]) + outZero, lo, hi), per channel c along `axis`.
 *
 * Fast path: p = acc·m in one double multiply is exact when |p| < 2^52, and
 * then rshr(p, s) = ⌊(p + 2^(s−1))·2^−s⌋ is exact for every s ≥ 1 (for
 * s ≥ 53 the sum stays in (0, 2^s) and the result is 0, as it must be).
 * Otherwise (numerics/requant.ts) the product is split with m = mh·2^16 + ml:
 *   acc·m = h·2^16 + l, h = acc·mh + ⌊acc·ml / 2^16⌋ (|h| < 2^47), 0 ≤ l < 2^16, and
 *   single rounding, rshr(acc·m, s):
 *     17 ≤ s < 64:  ⌊(h + 2^(s−17)) / 2^(s−16)⌋          (l cannot carry)
 *     1 ≤ s ≤ 16:   h·2^(16−s) + ⌊(l + 2^(s−1)) / 2^s⌋
 *     s ≤ 0:        acc·m·2^−s                            (exact whenever it fits int32)
 *     s ≥ 64:       0                                     (|acc·m| < 2^(s−1))
 *   m = 0 gives 0 in either rounding, whatever s (numerics/requant.ts).
 *   double rounding (gemmlowp): v = SRDHM(a, m) = ⌊(a·m + 2^30) / 2^31⌋ with a = acc·2^max(0, 31−s),
 *     then RoundingDivideByPOT(v, k = max(0, s − 31)): ⌊v / 2^k⌋, plus 1 iff the remainder
 *     exceeds ⌊(2^k − 1)/2⌋ (+1 when v < 0): ties away from zero. A left shift that overflows
 *     int32 throws at run time, as numerics/requant.ts does; s > 62 is refused here.
 */
import type { RequantOp } from "../../integer/program.js";
import type { Dyadic } from "../../numerics/requant.js";
import { type OpEmitter, num, numList, opFunctionName, opHeader, product, shapeText } from "./codegen.js";
import { minusZero } from "./ops-io.js";

/** How one channel's multiplier is applied. */
type Mode = "single-high" | "single-low" | "single-mul" | "zero" | "double-right" | "double-left";
const MODE_CODES: readonly Mode[] = ["single-high", "single-low", "single-mul", "zero", "double-right", "double-left"];

function modeOf({ m, s }: Dyadic, rounding: "single" | "double", where: string): Mode {
  if (!Number.isInteger(s)) throw new Error(`${where}: shift ${s} is not an integer`);
  if (m === 0) return "zero"; // M = 0 (quantizeMultiplier(0) = {m: 0, s: 0}): y = clamp(outZero) in either rounding
  if (rounding === "single") return s >= 64 ? "zero" : s >= 17 ? "single-high" : s >= 1 ? "single-low" : "single-mul";
  if (s > 62) throw new Error(`${where}: double rounding needs a shift ≤ 62 (RoundingDivideByPOT exponent ≤ 31), got ${s}`);
  return s >= 31 ? "double-right" : "double-left";
}

/** The per-channel constants a loop may read, and their values for multiplier m·2^−s. */
const CONSTANTS = {
  mh: (m: number) => Math.floor(m / 65536),
  ml: (m: number) => m % 65536,
  half: (_: number, s: number) => 2 ** (s - 1),
  inv: (_: number, s: number) => 2 ** -s,
  pk: (_: number, s: number) => 2 ** (s - 31), // RoundingDivideByPOT: 2^k
  ik: (_: number, s: number) => 2 ** -(s - 31), // 2^−k
  tk: (_: number, s: number) => Math.floor((2 ** (s - 31) - 1) / 2), // its tie threshold
  up: (_: number, s: number) => 2 ** (31 - s), // double rounding's left shift
} as const;
type Constant = keyof typeof CONSTANTS;

const L = "4503599627370496"; // 2^52: |p| below it means p = acc·m exactly
const SRDHM = `p > -${L} && p < ${L} ? Math.floor((p + 1073741824) / 2147483648) : Math.floor((a2 * mh + Math.floor((a2 * ml) / 65536) + 16384) / 32768)`;
const RDBP = "const fl = Math.floor(v * ik);\nconst q = v - fl * pk > tk + (v < 0 ? 1 : 0) ? fl + 1 : fl; // RoundingDivideByPOT";

/** Each mode's loop body (computing `q`, before the zero point, from `a` = acc), the constants it reads, and its comment. */
const MODES: Readonly<Record<Mode, { body: (where: string) => string; uses: readonly Constant[]; doc: string }>> = {
  "single-high": {
    body: () =>
      `const p = a * m;\nconst q = p > -${L} && p < ${L} ? Math.floor((p + half) * inv) : Math.floor((a * mh + Math.floor((a * ml) / 65536) + half / 65536) * (inv * 65536));`,
    uses: ["mh", "ml", "half", "inv"],
    doc: "17 ≤ s < 64: q = rshr(acc·m, s) = ⌊(p + HALF)·INV⌋ when p = acc·m is exact, else ⌊(h + HALF/2^16)·INV·2^16⌋",
  },
  "single-low": {
    body: () =>
      [
        "const p = a * m;",
        "let q;",
        `if (p > -${L} && p < ${L}) q = Math.floor((p + half) * inv);`,
        "else {",
        "  const b = a * ml;",
        "  const bh = Math.floor(b / 65536);",
        "  q = (a * mh + bh) * (inv * 65536) + Math.floor((b - bh * 65536 + half) * inv);",
        "}",
      ].join("\n"),
    uses: ["mh", "ml", "half", "inv"],
    doc: "1 ≤ s ≤ 16: q = rshr(acc·m, s) = ⌊(p + HALF)·INV⌋ when p = acc·m is exact, else h·2^(16−s) + ⌊(l + HALF)·INV⌋",
  },
  "single-mul": { body: () => "const q = a * m * inv;", uses: ["inv"], doc: "s ≤ 0: q = acc·m·2^−s (INV = 2^−s)" },
  zero: { body: () => "const q = 0;", uses: [], doc: "m = 0, or single rounding with s ≥ 64 (|acc·m| < 2^(s−1)): q = 0" },
  "double-right": {
    body: () => `const a2 = a;\nconst p = a2 * m;\nconst v = ${SRDHM}; // SRDHM\n${RDBP}`,
    uses: ["mh", "ml", "pk", "ik", "tk"],
    doc: "31 ≤ s ≤ 62: v = SRDHM(acc, m) = ⌊(acc·m + 2^30) / 2^31⌋, q = RoundingDivideByPOT(v, k = s − 31) (PK = 2^k, IK = 2^−k, TK = ⌊(2^k − 1)/2⌋)",
  },
  "double-left": {
    body: (where) =>
      [
        "const a2 = a * up;",
        `if (a2 < -2147483648 || a2 > 2147483647) throw new RangeError(${JSON.stringify(`${where}: `)} + a + " << " + Math.log2(up) + " overflows int32");`,
        "const p = a2 * m;",
        `const q = ${SRDHM}; // SRDHM`,
      ].join("\n"),
    uses: ["mh", "ml", "up"],
    doc: "s < 31: a = acc·UP (UP = 2^(31−s), must fit int32), q = SRDHM(a, m) = ⌊(a·m + 2^30) / 2^31⌋",
  },
};

export const emitRequant: OpEmitter<RequantOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const i = ctx.index;
  const shape = ctx.value(op.input).shape;
  const where = `requant '${op.source}'`;
  const perChannel = op.multipliers.length !== 1;
  if (perChannel && op.multipliers.length !== shape[op.axis]) {
    throw new Error(`${where}: ${op.multipliers.length} multipliers along axis ${op.axis} of ${shapeText(shape)}`);
  }
  const C = op.multipliers.length;
  const outer = perChannel ? product(shape.slice(0, op.axis)) : 1;
  const inner = perChannel ? product(shape.slice(op.axis + 1)) : product(shape);
  const rounding = ctx.program.rounding;
  const modes = op.multipliers.map((d) => modeOf(d, rounding, where));
  const used = MODE_CODES.filter((m) => modes.includes(m));
  const lo = num(op.clampLo);
  const hi = num(op.clampHi);
  const clamp = [`const r = ${minusZero("q", -op.outZero)};`, `y[j] = r < ${lo} ? ${lo} : r > ${hi} ? ${hi} : r;`];
  const loop = (mode: Mode, pad: string) =>
    [`for (let j = i; j < i + ${inner}; j++) {`, "  const a = x[j];", ...[...MODES[mode].body(where).split("\n"), ...clamp].map((l) => `  ${l}`), "}"]
      .map((l) => pad + l)
      .join("\n");
  const dispatch =
    used.length === 1
      ? loop(used[0]!, "      ")
      : [
          `      switch (MODE${i}[c]) {`,
          ...used.flatMap((m) => [`        case ${MODE_CODES.indexOf(m)}: {`, loop(m, "          "), "          break;", "        }"]),
          "      }",
        ].join("\n");
  // only the per-channel constants the emitted modes read
  const uses = (Object.keys(CONSTANTS) as Constant[]).filter((k) => used.some((m) => MODES[m].uses.includes(k)));
  const arrayName = (k: Constant) => `${k.toUpperCase()}${i}`;
  const arrays = uses.map((k) => `const ${arrayName(k)} = ${numList(op.multipliers.map((d, c) => (MODES[modes[c]!].uses.includes(k) ? CONSTANTS[k](d.m, d.s) : 0)))};\n`);
  const readsM = used.some((m) => m !== "zero");
  const locals = [...(readsM ? [`m = M${i}[c]`] : []), ...uses.map((k) => `${k} = ${arrayName(k)}[c]`)];
  const what =
    `${rounding} rounding, ${perChannel ? `${C} channels along axis ${op.axis}` : "one multiplier"}: ` +
    `y = clamp(R(acc, m·2^−s) + ${op.outZero}, ${op.clampLo}, ${op.clampHi})`;
  const doc = [
    "// Per channel: multiplier m·2^−s (M, S); m = MH·2^16 + ML, acc·m = h·2^16 + l with h = acc·MH + ⌊acc·ML / 2^16⌋;",
    "// p = acc·m is exact when |p| < 2^52. By the shift s:",
    ...used.map((m) => `//   ${used.length > 1 ? `mode ${MODE_CODES.indexOf(m)}, ` : ""}${MODES[m].doc}`),
  ].join("\n");
  const text = `${opHeader(op, ctx, what)}
${doc}
const M${i} = ${numList(op.multipliers.map((d) => d.m))};
// S = ${numList(op.multipliers.map((d) => d.s))}
${arrays.join("")}${used.length > 1 ? `const MODE${i} = ${numList(modes.map((m) => MODE_CODES.indexOf(m)))};\n` : ""}function ${name}(x, y, batch) {
  for (let o = 0, i = 0; o < batch * ${outer}; o++) {
    for (let c = 0; c < ${C}; c++, i += ${inner}) {
${locals.length > 0 ? `      const ${locals.join(", ")};\n` : ""}${dispatch}
    }
  }
}`;
  return { name, text };
};
