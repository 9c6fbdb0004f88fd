/**
 * The HLS design's other layers, one function each over one sample:
 *   requant:  y = clamp(R(acc, m[c]·2^−s[c]) + outZero, lo, hi), per channel c
 *   rescale:  y = clamp(outZero + rshr(Σ_i (x_i − z_i)·m_i, shift), lo, hi)
 *   sumpool:  acc = Σ_window (x − inputZero);  maxpool: max over the window
 *   reshape, transpose, concat: data movement; remap: y[i_0…] = x[Σ_a R_a[i_a]] (a gather at compile-time indices)
 * Requant with ap types is numerics' wide form (requant-wide.ts) printed in
 * exactly-sized ap_int arithmetic (print-ap.ts); with stdint types, and for
 * rescale, numerics' definitions (SINGLE_CASES / DOUBLE_CASES, rescaleDef)
 * printed by the shared C printer, whose int64_t arithmetic is C++ too. Each
 * channel's case (requantCaseOf) is a constant, the function dispatches on
 * the cases the layer uses. Values are read with to_int64() (ap types) where
 * the arithmetic is int64_t, and stored by construction (hls-types.ts).
 */
import type { ConcatOp, MaxPoolOp, RemapOp, RequantOp, RescaleOp, ReshapeOp, SumPoolOp, TransposeOp } from "../../integer/program.js";
import { clampE, DOUBLE_CASES, requantCaseOf, rescaleDef, SINGLE_CASES } from "../../numerics/definitions.js";
import { add, eq, type Expr, iff, num, substitute, v } from "../../numerics/expr.js";
import { type BigRange, bigRangeWidth, exactValue } from "../../numerics/expr-range.js";
import { intMax, intMin } from "../../numerics/int.js";
import { DOUBLE_WIDE_CASES, SINGLE_WIDE_CASES } from "../../numerics/requant-wide.js";
import { cList } from "../c/c-types.js";
import { cComment, cInt, printC } from "../shared/print-c.js";
import type { Printed } from "../shared/print-expr.js";
import type { HlsDesign } from "./design.js";
import { intTypeName, readInt, writeInt } from "./hls-types.js";
import { apTypeOf, printAp } from "./print-ap.js";

const size = (d: HlsDesign, name: string) => d.program.values.get(name)!.shape.reduce((a, b) => a * b, 1);
const head = (i: number, source: string, what: string) => `/* layer ${i}: ${cComment(source)}\n * ${cComment(what)} */`;
const arg = (d: HlsDesign, name: string, x: string, out = false) => `${out ? "" : "const "}${d.typeOf.get(name)!} ${x}[${size(d, name)}]`;

type Case = ReturnType<typeof requantCaseOf>;

/** The cases of the layer's rounding used by its channels, dispatched on the channel's case code `cs`. */
function requantExpr(op: RequantOp, rounding: "single" | "double", used: readonly Case[]): Expr {
  const table: Record<string, (acc: Expr, m: Expr, s: Expr) => Expr> = rounding === "single" ? SINGLE_CASES : DOUBLE_CASES;
  const body = used.reduceRight<Expr | undefined>((rest, k, n) => {
    const e = table[k]!(v("acc"), v("m"), v("s"));
    return rest === undefined ? e : iff(eq(v("cs"), n), e, rest);
  }, undefined)!;
  return clampE(add(body, op.outZero), op.clampLo, op.clampHi);
}

/** Whether a requant can refuse its input (double rounding's left shift: a guard in the printed code). */
export function requantCanRefuse(d: HlsDesign, op: RequantOp): boolean {
  return op.multipliers.some((m) => requantCaseOf(m, d.program.rounding) === "left");
}

export function requantLayer(d: HlsDesign, op: RequantOp, i: number): string {
  return d.mode === "ap" ? requantLayerAp(d, op, i) : requantLayerInt64(d, op, i);
}

/** A requant's loops (outer × C channels × inner elements) and its channels' cases. */
function requantGeometry(d: HlsDesign, op: RequantOp) {
  const shape = d.program.values.get(op.input)!.shape;
  const C = op.multipliers.length;
  const perChannel = C !== 1;
  const outer = perChannel ? shape.slice(0, op.axis).reduce((a, b) => a * b, 1) : 1;
  const inner = perChannel ? shape.slice(op.axis + 1).reduce((a, b) => a * b, 1) : size(d, op.input);
  const rounding = d.program.rounding;
  const cases = op.multipliers.map((m) => requantCaseOf(m, rounding));
  return { C, outer, inner, rounding, cases, used: [...new Set(cases)] };
}

/** The value's certified range (its storage type's where uncertified), as BigInts. */
export function certRange(d: HlsDesign, value: string): BigRange {
  const t = d.program.values.get(value)!.type;
  const r = d.cert.ranges.get(value) ?? { lo: intMin(t), hi: intMax(t) };
  return { lo: BigInt(r.lo), hi: BigInt(r.hi) };
}

/**
 * A constant table's element type: the narrowest stdint type holding r (g++
 * builds a class-typed initializer list far more slowly; each read converts to
 * the exactly-sized ap local).
 */
const romType = (r: BigRange): string => intTypeName(bigRangeWidth(r), "stdint");

/**
 * Requant in ap_int arithmetic (print-ap.ts), from numerics' wide form
 * (requant-wide.ts: acc·m in W_acc + 31 bits, + 2^(s−1), >> s, clamp): one
 * loop per case the channels use, each printed over the bounds of that
 * case's channels (m, s) and the accumulator's certified range; the case's
 * per-channel constants (2^(s−1) …) are evaluated here, exactly, into tables.
 */
function requantLayerAp(d: HlsDesign, op: RequantOp, i: number): string {
  const { C, outer, inner, rounding, cases, used } = requantGeometry(d, op);
  const table: Record<string, (acc: Expr, m: Expr, s: Expr) => Expr> = rounding === "single" ? SINGLE_WIDE_CASES : DOUBLE_WIDE_CASES;
  const xT = d.typeOf.get(op.input)!;
  const yT = d.typeOf.get(op.output)!;
  const span = (xs: readonly number[]): BigRange => ({ lo: BigInt(Math.min(...xs)), hi: BigInt(Math.max(...xs)) });
  const consts: string[] = [];
  let readsM = false;
  let readsS = false;
  const bodies = used.map((k, n) => {
    const mine = op.multipliers.filter((_, c) => cases[c] === k);
    const ranges = new Map([
      ["acc", certRange(d, op.input)],
      ["m", span(mine.map((x) => x.m))],
      ["s", span(mine.map((x) => x.s))],
    ]);
    const e = clampE(add(table[k]!(v("acc"), v("m"), v("s")), op.outZero), op.clampLo, op.clampHi);
    const p = printAp(e, ranges, { invariant: new Set(["m", "s"]), where: `requant ${op.source}: `, prefix: `c${n}_` }, new Map([["acc", "a"]]));
    // the hoisted constants, per channel of this case, exactly (0 for the other channels: never read)
    const values = op.multipliers.map((x, c) => {
      const env: Record<string, bigint> = { m: BigInt(x.m), s: BigInt(x.s) };
      for (const k2 of p.constants) env[k2.name] = cases[c] === k ? exactValue(k2.expr, env) : 0n;
      return env;
    });
    const locals = p.constants.map((k2, j) => {
      const array = `K${i}_${n}_${j}`;
      const column = values.map((env) => env[k2.name]!);
      consts.push(`static const ${romType({ lo: column.reduce((a, b) => (b < a ? b : a), 0n), hi: column.reduce((a, b) => (b > a ? b : a), 0n) })} ${array}[${C}] = ${cList(column.map((_, c) => c), (c) => (column[c]! > -(2n ** 31n) && column[c]! < 2n ** 31n ? String(column[c]) : `INT64_C(${column[c]})`))};`);
      return p.hoisted[j]!.replace(/ = .*;$/, ` = ${array}[c];`);
    });
    const code = [...p.body, p.value].join("\n").replace(/\/\*.*?\*\//g, "");
    if (code.includes("fixq_pow2")) throw new Error(`requant ${op.source}: a power of two left in the loop`);
    const m = /\bm\b/.test(code);
    const s = /\bs\b/.test(code);
    readsM ||= m;
    readsS ||= s;
    const mLocal = m ? [`const ${apTypeOf(ranges.get("m")!)} m = M${i}[c];`] : [];
    const sLocal = s ? [`const int s = S${i}[c];`] : [];
    return [
      ...mLocal,
      ...sLocal,
      ...locals,
      `Elem${n}: for (int j = 0; j < ${inner}; j++) {`,
      "#pragma HLS PIPELINE II=1",
      `  const ${xT} a = x[(o * ${C} + c) * ${inner} + j];`,
      "  (void)a; /* unread where the case's result is 0 */",
      ...p.body.map((l) => `  ${l}`),
      `  y[(o * ${C} + c) * ${inner} + j] = ${yT}(${p.value});`,
      "}",
    ];
  });
  if (readsM) consts.unshift(`static const ${romType(span(op.multipliers.map((x) => x.m)))} M${i}[${C}] = ${cList(op.multipliers.map((x) => x.m))};`);
  if (readsS) consts.push(`static const int S${i}[${C}] = ${cList(op.multipliers.map((x) => x.s))};`);
  if (used.length > 1) consts.push(`static const int CS${i}[${C}] = ${cList(cases.map((k) => used.indexOf(k)))};`);
  const pad = (ls: string[], n: number) => ls.map((l) => (l.startsWith("#pragma") ? l : " ".repeat(n) + l));
  const dispatch =
    used.length === 1
      ? pad(bodies[0]!, 6)
      : bodies.flatMap((b, n) => [`      ${n === 0 ? "" : "} else "}if (CS${i}[c] == ${n}) {`, ...pad(b, 8), ...(n === bodies.length - 1 ? ["      }"] : [])]);
  return `${head(i, op.source, `${rounding} rounding in ap_int, cases ${used.join(", ")}: y = clamp(R(acc, m * 2^-s) + ${op.outZero}, ${op.clampLo}, ${op.clampHi})`)}
${consts.join("\n")}
static int layer${i}(${arg(d, op.input, "x")}, ${arg(d, op.output, "y", true)}) {
  for (int o = 0; o < ${outer}; o++) {
    for (int c = 0; c < ${C}; c++) {
${dispatch.join("\n")}
    }
  }
  return 0;
}`;
}

/** --hls-types stdint: requant in int64_t, printed from definitions.ts's cases by the C printer. */
function requantLayerInt64(d: HlsDesign, op: RequantOp, i: number): string {
  const { C, outer, inner, rounding, cases, used } = requantGeometry(d, op);
  const printed = printC(requantExpr(op, rounding, used), { invariant: new Set(["m", "s", "cs"]), where: `requant ${op.source}: ` }, new Map([["acc", "a"]]));
  const code = [...printed.hoisted, ...printed.body, printed.value].join("\n").replace(/\/\*.*?\*\//g, "");
  const uses = (name: string) => new RegExp(`\\b${name}\\b`).test(code);
  const yT = d.typeOf.get(op.output)!;
  const consts = [
    uses("m") ? `static const int64_t M${i}[${C}] = ${cList(op.multipliers.map((m) => m.m), cInt)};` : "",
    uses("s") ? `static const int64_t S${i}[${C}] = ${cList(op.multipliers.map((m) => m.s), cInt)};` : "",
    uses("cs") ? `static const int CS${i}[${C}] = ${cList(cases.map((k) => used.indexOf(k)))};` : "",
  ].filter((s) => s !== "");
  const locals = [uses("m") ? `const int64_t m = M${i}[c];` : "", uses("s") ? `const int64_t s = S${i}[c];` : "", uses("cs") ? `const int64_t cs = CS${i}[c];` : ""].filter((s) => s !== "");
  return `${head(i, op.source, `${rounding} rounding, cases ${used.join(", ")}: y = clamp(R(acc, m * 2^-s) + ${op.outZero}, ${op.clampLo}, ${op.clampHi})`)}
${consts.join("\n")}
static int layer${i}(${arg(d, op.input, "x")}, ${arg(d, op.output, "y", true)}) {
  for (int o = 0; o < ${outer}; o++) {
    for (int c = 0; c < ${C}; c++) {
${[...locals, ...printed.hoisted].map((l) => `      ${l}`).join("\n")}
      Elem: for (int j = 0; j < ${inner}; j++) {
#pragma HLS PIPELINE II=1
        const int64_t a = ${readInt(`x[(o * ${C} + c) * ${inner} + j]`, d.mode)};
        (void)a; /* unread where every channel's multiplier is 0 */
${printed.body.map((l) => `        ${l}`).join("\n")}
        y[(o * ${C} + c) * ${inner} + j] = ${writeInt(yT, printed.value, d.mode)};
      }
    }
  }
  return 0;
}`;
}

export function rescaleLayer(d: HlsDesign, op: RescaleOp, i: number): string {
  const consts: Record<string, Expr> = { s: num(op.shift), z: num(op.outZero), lo: num(op.clampLo), hi: num(op.clampHi) };
  op.inputs.forEach((_, k) => {
    consts[`z${k}`] = num(op.inputZeros[k]!);
    consts[`m${k}`] = num(op.multipliers[k]!);
  });
  const p = printC(substitute(rescaleDef(op.inputs.length).body, consts), { where: `rescale ${op.source}: ` }, new Map(op.inputs.map((_, k) => [`x${k}`, readInt(`x${k}[j]`, d.mode)])));
  const what = `y = clamp(${op.outZero} + rshr(sum (x_i - z_i) * m_i, ${op.shift}), ${op.clampLo}, ${op.clampHi}), z = [${op.inputZeros.join(", ")}], m = [${op.multipliers.join(", ")}]`;
  return elementwiseLayer(d, i, op.source, what, op.inputs, op.output, p);
}

/** A layer computing y[j] from x0[j], x1[j], … with the printed expression `p` (rescale, fixed-point rescale). */
export function elementwiseLayer(d: HlsDesign, i: number, source: string, what: string, inputs: readonly string[], output: string, p: Printed): string {
  const args = inputs.map((x, k) => arg(d, x, `x${k}`));
  return `${head(i, source, what)}
static int layer${i}(${args.join(", ")}, ${arg(d, output, "y", true)}) {
${inputs.map((_, k) => `  (void)x${k}; /* a zero multiplier leaves an input unread */`).join("\n")}
  Elem: for (int j = 0; j < ${size(d, output)}; j++) {
#pragma HLS PIPELINE II=1
${[...p.hoisted, ...p.body, `y[j] = ${writeInt(d.typeOf.get(output)!, p.value, d.mode)};`].map((l) => `    ${l}`).join("\n")}
  }
  return 0;
}`;
}

/** Sumpool and maxpool: the window clipped to the input. */
export function poolLayer(d: HlsDesign, op: SumPoolOp | MaxPoolOp, i: number): string {
  const [C, H, W] = d.program.values.get(op.input)!.shape as [number, number, number];
  const [, OH, OW] = d.program.values.get(op.output)!.shape as [number, number, number];
  const [KH, KW] = op.kernel;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.kind === "maxpool" ? op.dilations : [1, 1];
  const x = readInt(`x[(c * ${H} + ih) * ${W} + iw]`, d.mode);
  const sum = op.kind === "sumpool";
  const zero = sum ? op.inputZero : 0;
  const init = sum ? "int64_t s = 0;" : "int64_t s = INT64_MIN;";
  const body = sum ? `s += ${x}${zero === 0 ? "" : ` - ${zero}`};` : `const int64_t q = ${x};\n            if (q > s) s = q;`;
  // a max window wholly in the padding gives 0, as the emulator's −Infinity stored into int32 does
  const result = sum ? "s" : "s == INT64_MIN ? 0 : s";
  const what = sum ? `sumpool: acc = sum over the window of (x - ${zero})` : "maxpool: max over the window, padding ignored";
  return `${head(i, op.source, `${what}; kernel ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}]`)}
static int layer${i}(${arg(d, op.input, "x")}, ${arg(d, op.output, "y", true)}) {
  for (int c = 0; c < ${C}; c++) {
    for (int oh = 0; oh < ${OH}; oh++) {
      Window: for (int ow = 0; ow < ${OW}; ow++) {
        ${init}
        for (int kh = 0; kh < ${KH}; kh++) {
          const int ih = oh * ${SH} - ${PT} + kh * ${DH};
          if (ih < 0 || ih >= ${H}) continue;
          for (int kw = 0; kw < ${KW}; kw++) {
            const int iw = ow * ${SW} - ${PL} + kw * ${DW};
            if (iw < 0 || iw >= ${W}) continue;
            ${body}
          }
        }
        y[(c * ${OH} + oh) * ${OW} + ow] = ${writeInt(d.typeOf.get(op.output)!, result, d.mode)};
      }
    }
  }
  return 0;
}`;
}

/** Reshape (a copy), transpose (y[i_0…] = x[Σ_d i_d · stride_x[perm[d]]]), concat (inputs side by side along the axis). */
export function moveLayer(d: HlsDesign, op: ReshapeOp | TransposeOp | ConcatOp | RemapOp, i: number): string {
  const yT = d.typeOf.get(op.output)!;
  const copy = (dst: string, src: string) => `${dst} = ${writeInt(yT, readInt(src, d.mode), d.mode)};`;
  if (op.kind === "remap") {
    const tables = op.offsets.map((t, a) => `  static const int32_t R${a}[${t.length}] = ${cList(t).replace(/\n/g, "\n  ")};`);
    const loops = op.offsets.map((t, a) => `${"  ".repeat(a + 1)}for (int i${a} = 0; i${a} < ${t.length}; i${a}++)`);
    const src = op.offsets.map((_, a) => `R${a}[i${a}]`).join(" + ") || "0";
    return `${head(i, op.source, "remap: y[i_0, ...] = x[sum_a R_a[i_a]], a gather at compile-time indices")}
static int layer${i}(${arg(d, op.input, "x")}, ${arg(d, op.output, "y", true)}) {
${tables.join("\n")}
  int j = 0;
${loops.join("\n")}
${"  ".repeat(op.offsets.length + 1)}${copy("y[j++]", `x[${src}]`)}
  return 0;
}`;
  }
  if (op.kind === "reshape") {
    return `${head(i, op.source, "reshape: a copy")}
static int layer${i}(${arg(d, op.input, "x")}, ${arg(d, op.output, "y", true)}) {
  for (int j = 0; j < ${size(d, op.output)}; j++) ${copy("y[j]", "x[j]")}
  return 0;
}`;
  }
  if (op.kind === "transpose") {
    const xs = d.program.values.get(op.input)!.shape;
    const ys = d.program.values.get(op.output)!.shape;
    const stride = xs.map((_, a) => xs.slice(a + 1).reduce((p, q) => p * q, 1));
    const loops = ys.map((n, a) => `${"  ".repeat(a + 1)}for (int i${a} = 0; i${a} < ${n}; i${a}++)`);
    const src = ys.map((_, a) => `i${a} * ${stride[op.perm[a]!]}`).join(" + ") || "0";
    return `${head(i, op.source, `transpose, perm [${op.perm.join(", ")}]`)}
static int layer${i}(${arg(d, op.input, "x")}, ${arg(d, op.output, "y", true)}) {
  int j = 0;
${loops.join("\n")}
${"  ".repeat(ys.length + 1)}${copy("y[j++]", `x[${src}]`)}
  return 0;
}`;
  }
  const ys = d.program.values.get(op.output)!.shape;
  const outer = ys.slice(0, op.axis).reduce((a, b) => a * b, 1);
  const tail = ys.slice(op.axis + 1).reduce((a, b) => a * b, 1);
  const spans = op.inputs.map((x) => d.program.values.get(x)!.shape[op.axis]! * tail);
  const total = spans.reduce((a, b) => a + b, 0);
  let at = 0;
  const parts = op.inputs.map((_, k) => {
    const line = `    for (int j = 0; j < ${spans[k]}; j++) ${copy(`y[o * ${total} + ${at} + j]`, `x${k}[o * ${spans[k]} + j]`)}`;
    at += spans[k]!;
    return line;
  });
  return `${head(i, op.source, `concat along axis ${op.axis}`)}
static int layer${i}(${op.inputs.map((x, k) => arg(d, x, `x${k}`)).join(", ")}, ${arg(d, op.output, "y", true)}) {
  for (int o = 0; o < ${outer}; o++) {
${parts.join("\n")}
  }
  return 0;
}`;
}
