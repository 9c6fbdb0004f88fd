/**
 * The transformer ops of the integer program (matmul of two activations,
 * table, softmax, layernorm, addconst, gather, slice) as C text over one
 * sample, for the C back end (c/ops-transformer.ts) and the HLS one
 * (hls/ops-transformer.ts): the body of one function whose arguments are the
 * op's inputs (x, or a and b) and output y. The text is C99 and C++14 alike;
 * integers are int64_t (every intermediate the kernels form stays below 2^52,
 * numerics/transformer-params.ts), elements are read and written through the
 * target's `read`/`write` (plain C types, or ap_int with to_int64()).
 * Each body restates, statement for statement, the one definition in
 * numerics/transformer.ts and numerics/gather.ts (the JS kernels have no
 * printable expression form); test/backends/c/transformer-ops.test.ts checks
 * it against the emulator on random and extreme inputs:
 *   matmul     y[r, i, j] = Σ_k (a[r, i, k] − za)·(b[r, k, j] − zb)
 *   mul        y[i] = (a[i_a] − za)·(b[i_b] − zb), i_a and i_b the ONNX broadcast of i (int32: the
 *              lowering bounds every product below 2^31)
 *   table      y = T[x − xmin]
 *   softmax    per row: d = max − x, e = E[d], Σ = Σ e, y = clamp(z + ⌊(e·c + Σ·2^(r−1)) / (Σ·2^r)⌋, lo, hi);
 *              with a key mask m, max and Σ over the keys with m = 0, and y = clamp(z) where m ≠ 0
 *   layernorm  per row: s = Σ x (RMSNorm: s = C·z_x), c_i = C·x_i − s, V = Σ c_i², D = ⌊√(V·4^k + E)⌋ (integer square root),
 *              y_i = clamp(z + ⌊(c_i·g_i + b_i·D + D·2^(F−1)) / (D·2^F)⌋, lo, hi)
 *   addconst   y = clamp(z + ⌊((x − zx)·m + o[i mod n] + 2^(s−1)) / 2^s⌋, lo, hi)
 *   gather     y[i, :] = T[r, :], r = id (+ rows when negative); an id outside [−rows, rows) returns FIXQ_EINDEX
 *   slice      rows start … end − 1 of axis `axis`
 * No float anywhere: the square root is the exact integer one (fixq_isqrt64),
 * the divisions exact integer floor divisions.
 */
import type { AddConstOp, GatherOp, IntOp, LayerNormOp, MatMulOp, MulOp, Program, SliceOp, SoftmaxOp, TableOp } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { cInt } from "./print-c.js";
import { divClamped, divClampFits, layerNormDenMax } from "./transformer-runtime.js";

export { TRANSFORMER_RUNTIME } from "./transformer-runtime.js";

/** The ops this module prints. */
export const TRANSFORMER_KINDS = ["matmul", "mul", "table", "softmax", "layernorm", "addconst", "gather", "slice"] as const;
export type TransformerOp = MatMulOp | MulOp | TableOp | SoftmaxOp | LayerNormOp | AddConstOp | GatherOp | SliceOp;

export function isTransformerOp(op: IntOp): op is TransformerOp {
  return (TRANSFORMER_KINDS as readonly string[]).includes(op.kind);
}


/** How a target spells element access. */
export interface TransformerTarget {
  readonly program: Program;
  readonly index: number;
  /** An element (`a[i]` text) of value `v` as an integer expression (int64_t-compatible). */
  read(v: string, element: string): string;
  /** The integer expression `e` stored as an element of value `v` (it holds the value). */
  write(v: string, e: string): string;
  /** A line opening each innermost loop's body (HLS: `#pragma HLS PIPELINE II=1`); none in C. */
  readonly pipeline?: string;
  /**
   * Samples per call in the batch layout (element i of sample l at i·lanes + l; the C back end's
   * batch functions, c/tile-transformer.ts); addconst, layernorm and softmax without a key mask take it. Default 1.
   */
  readonly lanes?: number;
  /**
   * Whether layernorm and softmax divide by their per-row divisor through fixq_div_clamp (a
   * reciprocal per row, exact; the C back end) instead of one 64-bit division per element, where
   * the operands' bounds allow it (divClampFits).
   */
  readonly reciprocal?: boolean;
  /**
   * Lanes only: text printed in layernorm's row loop once each lane's s[l], D[l], den[l] (and R[l])
   * are known, before the element loop; it may form the row's outputs itself and `continue`
   * (c/layernorm-avx2.ts). Given whether the reciprocal form is taken.
   */
  readonly layerNormRow?: (reciprocal: boolean) => string;
}

/** A function body and the file-scope constants it reads. */
export interface KernelText {
  readonly consts: string[];
  readonly body: string;
  /** A one-line summary for the op's comment. */
  readonly what: string;
}

const shapeOf = (t: TransformerTarget, v: string) => {
  const x = t.program.values.get(v);
  if (!x) throw new Error(`op ${t.index} uses '${v}', which has no entry in program.values`);
  return x.shape;
};
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** The pipeline line (with its newline and indent), or nothing. */
const pipe = (t: TransformerTarget, pad: string) => (t.pipeline ? `\n${pad}${t.pipeline}` : "");
const clamp = (e: string, lo: number, hi: number) => `fixq_min(fixq_max(${e}, ${cInt(lo)}), ${cInt(hi)})`;

/** The narrowest C type holding every constant of a table. */
export function constType(xs: ArrayLike<number>): "int8_t" | "uint8_t" | "int16_t" | "int32_t" | "int64_t" {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < xs.length; i++) {
    lo = Math.min(lo, xs[i]!);
    hi = Math.max(hi, xs[i]!);
  }
  if (lo >= -128 && hi <= 127) return "int8_t";
  if (lo >= 0 && hi <= 255) return "uint8_t";
  if (lo >= -32768 && hi <= 32767) return "int16_t";
  return lo >= -(2 ** 31) && hi < 2 ** 31 ? "int32_t" : "int64_t";
}

/** `static const T NAME[n] = {…};` */
function constArray(name: string, xs: ArrayLike<number>): string {
  const items = Array.from(xs, (v) => cInt(v));
  const rows: string[] = [];
  for (let i = 0; i < items.length; i += 16) rows.push(`  ${items.slice(i, i + 16).join(", ")}`);
  return `static const ${constType(xs)} ${name}[${Math.max(1, items.length)}] = {\n${items.length > 0 ? rows.join(",\n") : "  0"}\n};`;
}

/** The type range of value v. */
function typeRange(t: TransformerTarget, v: string): { lo: number; hi: number } {
  const x = t.program.values.get(v)!;
  return { lo: intMin(x.type), hi: intMax(x.type) };
}

/** Whether no partial sum Σ_k (a − za)·(b − zb) of the matmul can reach 2^31 over its input types (int32_t sums, any order exact). */
export function matmulFitsInt32(op: MatMulOp, program: Program): boolean {
  const t = { program, index: 0, read: (_v: string, e: string) => e, write: (_v: string, e: string) => e };
  const [za, zb] = op.inputZeros;
  const ra = typeRange(t, op.inputs[0]);
  const rb = typeRange(t, op.inputs[1]);
  const K = shapeOf(t, op.inputs[0]).at(-1)!;
  return K * Math.max(Math.abs(ra.lo - za), Math.abs(ra.hi - za)) * Math.max(Math.abs(rb.lo - zb), Math.abs(rb.hi - zb)) < 2 ** 31;
}

/**
 * Σ_k (a − za)·(b − zb) in int32_t where no partial sum can reach 2^31 over the
 * input types (any order is then exact), else in int64_t stored modulo 2^32
 * into a 32-bit output, as the emulator's Int32Array store does. Summed k
 * outer, j inner over one row of sums (integer sums: any order is exact).
 */
function matmulText(op: MatMulOp, t: TransformerTarget): KernelText {
  const a = shapeOf(t, op.inputs[0]);
  const b = shapeOf(t, op.inputs[1]);
  const r = a.length;
  const [M, K, N] = [a[r - 2]!, a[r - 1]!, b[r - 1]!];
  const rows = prod(a.slice(0, r - 2));
  const [za, zb] = op.inputZeros;
  const narrow = matmulFitsInt32(op, t.program);
  const acc = narrow ? "int32_t" : "int64_t";
  const outBits = t.program.values.get(op.output)!.type.bits;
  const store = narrow || outBits > 32 ? "s[j]" : "fixq_wrap32(s[j])";
  // row by row, k outer and j inner: the j loop runs over contiguous b and s, and vectorizes
  const body = `  for (int r = 0; r < ${rows}; r++) {
    for (int i = 0; i < ${M}; i++) {
      ${acc} s[${N}];
      for (int j = 0; j < ${N}; j++) {${pipe(t, "        ")}
        s[j] = 0;
      }
      for (int k = 0; k < ${K}; k++) {
        const ${acc} av = (${acc})${t.read(op.inputs[0], `a[(r * ${M} + i) * ${K} + k]`)} - ${za};
        for (int j = 0; j < ${N}; j++) {${pipe(t, "          ")}
          s[j] += av * ((${acc})${t.read(op.inputs[1], `b[(r * ${K} + k) * ${N} + j]`)} - ${zb});
        }
      }
      for (int j = 0; j < ${N}; j++) {${pipe(t, "        ")}
        y[(r * ${M} + i) * ${N} + j] = ${t.write(op.output, store)};
      }
    }
  }
  return 0;`;
  return { consts: [], body, what: `acc = sum_k (a - ${za}) * (b - ${zb}), ${rows} x [${M}x${K}].[${K}x${N}], ${acc} sums` };
}

/**
 * The elementwise product of two activations, broadcast per sample as ONNX
 * Mul (numerics/transformer.ts mulKernel): the broadcast offsets of each
 * output element in a and b are constant tables (identity reads need none).
 */
function mulText(op: MulOp, t: TransformerTarget): KernelText {
  const y = shapeOf(t, op.output);
  const shapes = [shapeOf(t, op.inputs[0]), shapeOf(t, op.inputs[1])];
  const n = prod(y);
  const consts: string[] = [];
  const index = shapes.map((s, k) => {
    if (s.length === y.length && s.every((d, i) => d === y[i])) return "i";
    const offsets = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let rest = i;
      let off = 0;
      let stride = 1;
      for (let d = y.length - 1; d >= 0; d--) {
        const c = rest % y[d]!;
        rest = (rest - c) / y[d]!;
        if (s[d] !== 1) off += c * stride;
        stride *= s[d]!;
      }
      offsets[i] = off;
    }
    const T = `MULIDX${t.index}_${k}`;
    consts.push(constArray(T, offsets));
    return `${T}[i]`;
  });
  const [za, zb] = op.inputZeros;
  const body = `  for (int i = 0; i < ${n}; i++) {${pipe(t, "    ")}
    const int64_t p = ((int64_t)${t.read(op.inputs[0], `a[${index[0]}]`)} - ${za}) * ((int64_t)${t.read(op.inputs[1], `b[${index[1]}]`)} - ${zb});
    y[i] = ${t.write(op.output, "p")};
  }
  return 0;`;
  return { consts, body, what: `acc = (a - ${za}) * (b - ${zb}), [${shapes[0]}] x [${shapes[1]}] -> [${y}]` };
}

function tableText(op: TableOp, t: TransformerTarget): KernelText {
  const n = prod(shapeOf(t, op.output));
  const T = `TABLE${t.index}`;
  const body = `  for (int i = 0; i < ${n}; i++) {${pipe(t, "    ")}\n    y[i] = ${t.write(op.output, `${T}[${t.read(op.input, "x[i]")} - ${cInt(op.inputMin)}]`)};\n  }\n  return 0;`;
  return { consts: [constArray(T, op.table)], body, what: `y = table[x - ${op.inputMin}], ${op.table.length} entries` };
}

function softmaxText(op: SoftmaxOp, t: TransformerTarget): KernelText {
  if (op.mask !== undefined) return maskedSoftmaxText(op, op.mask, t);
  const s = shapeOf(t, op.input);
  const L = s[s.length - 1]!;
  const n = prod(s);
  const E = `EXP${t.index}`;
  let eMax = 0;
  for (const e of op.exp) eMax = Math.max(eMax, e);
  const fast = t.reciprocal === true && divClampFits(BigInt(L) * BigInt(eMax) * 2n ** BigInt(op.shift), op);
  // one sample (W = 1), or W lanes per element with each row's max, sum and divisor per lane (the lane loop innermost)
  const W = t.lanes ?? 1;
  const v = (name: string) => (W === 1 ? name : `${name}[l]`);
  const at = (i: string) => (W === 1 ? `o + ${i}` : `(o + ${i}) * ${W} + l`);
  const x = (i: string) => `(int64_t)${t.read(op.input, `x[${at(i)}]`)}`;
  const num = `const int64_t n = (int64_t)${E}[${v("mx")} - ${x("i")}] * ${cInt(op.numerator)} + ${v("half")};`;
  const store = `y[${at("i")}] = ${t.write(op.output, fast ? divClamped("n", v("R"), op) : clamp(`${cInt(op.outZero)} + n / ${v("den")}`, op.clampLo, op.clampHi))}; /* n, den >= 0: / is the floor */`;
  const divisor = `${v("den")} = ${v("sum")} * ${cInt(2 ** op.shift)};
      ${v("half")} = ${v("sum")} * ${cInt(2 ** (op.shift - 1))};${fast ? `\n      ${v("R")} = fixq_recip_of(${v("den")});` : ""}`;
  const body =
    W === 1
      ? `  for (int o = 0; o < ${n}; o += ${L}) {
    int64_t mx = ${x("0")};
    for (int i = 1; i < ${L}; i++) {${pipe(t, "      ")}
      const int64_t v = ${x("i")};
      if (v > mx) mx = v;
    }
    int64_t sum = 0;
    for (int i = 0; i < ${L}; i++) {${pipe(t, "      ")}
      sum += ${E}[mx - ${x("i")}];
    }
    {
      int64_t den, half;${fast ? "\n      fixq_recip R;" : ""}
      ${divisor}
      for (int i = 0; i < ${L}; i++) {${pipe(t, "        ")}
        ${num}
        ${store}
      }
    }
  }
  return 0;`
      : `  for (int o = 0; o < ${n}; o += ${L}) {
    int64_t mx[${W}], sum[${W}], den[${W}], half[${W}];${fast ? `\n    fixq_recip R[${W}];` : ""}
    for (int l = 0; l < ${W}; l++) { mx[l] = ${x("0")}; sum[l] = 0; }
    for (int i = 1; i < ${L}; i++)
      for (int l = 0; l < ${W}; l++) {
        const int64_t v = ${x("i")};
        if (v > mx[l]) mx[l] = v;
      }
    for (int i = 0; i < ${L}; i++)
      for (int l = 0; l < ${W}; l++) sum[l] += ${E}[mx[l] - ${x("i")}];
    for (int l = 0; l < ${W}; l++) {
      ${divisor}
    }
    for (int i = 0; i < ${L}; i++)
      for (int l = 0; l < ${W}; l++) {
        ${num}
        ${store}
      }
  }
  return 0;`;
  return { consts: [constArray(E, op.exp)], body, what: `softmax over ${L}: y = clamp(${op.outZero} + floor((E[max - x] * ${op.numerator} + sum * 2^${op.shift - 1}) / (sum * 2^${op.shift})))` };
}

/** The key-masked Softmax: keys with m != 0 take no part in the max and the sum and get clamp(z) (probability 0); a row with no key kept is all clamp(z). */
function maskedSoftmaxText(op: SoftmaxOp, mask: string, t: TransformerTarget): KernelText {
  const s = shapeOf(t, op.input);
  const L = s[s.length - 1]!;
  const n = prod(s);
  const E = `EXP${t.index}`;
  const x = (i: string) => `(int64_t)${t.read(op.input, `x[o + ${i}]`)}`;
  const keep = (i: string) => `(int64_t)${t.read(mask, `m[o + ${i}]`)} == 0`;
  const zero = clamp(cInt(op.outZero), op.clampLo, op.clampHi);
  const body = `  for (int o = 0; o < ${n}; o += ${L}) {
    int64_t mx = 0, kept = 0;
    for (int i = 0; i < ${L}; i++) {${pipe(t, "      ")}
      const int64_t v = ${x("i")};
      if (${keep("i")} && (kept == 0 || v > mx)) { mx = v; kept = 1; }
    }
    int64_t sum = 0;
    for (int i = 0; i < ${L}; i++) {${pipe(t, "      ")}
      if (${keep("i")}) sum += ${E}[mx - ${x("i")}];
    }
    {
      const int64_t den = sum * ${cInt(2 ** op.shift)};
      const int64_t half = sum * ${cInt(2 ** (op.shift - 1))};
      for (int i = 0; i < ${L}; i++) {${pipe(t, "        ")}
        if (${keep("i")}) {
          const int64_t q = ((int64_t)${E}[mx - ${x("i")}] * ${cInt(op.numerator)} + half) / den; /* both >= 0: / is the floor */
          y[o + i] = ${t.write(op.output, clamp(`${cInt(op.outZero)} + q`, op.clampLo, op.clampHi))};
        } else {
          y[o + i] = ${t.write(op.output, zero)};
        }
      }
    }
  }
  return 0;`;
  return {
    consts: [constArray(E, op.exp)],
    body,
    what: `softmax over ${L}, keys with m != 0 excluded (y = ${op.outZero}): y = clamp(${op.outZero} + floor((E[max - x] * ${op.numerator} + sum * 2^${op.shift - 1}) / (sum * 2^${op.shift})))`,
  };
}

function layerNormText(op: LayerNormOp, t: TransformerTarget): KernelText {
  const s = shapeOf(t, op.input);
  const C = s[s.length - 1]!;
  const n = prod(s);
  const [G, B] = [`GAMMA${t.index}`, `BETA${t.index}`];
  const fast = t.reciprocal === true && divClampFits(layerNormDenMax(op, C, typeRange(t, op.input)), op);
  // one sample (L = 1), or L lanes per element with each row's s, V, D, den, R per lane (the lane loop innermost)
  const L = t.lanes ?? 1;
  const v = (name: string) => (L === 1 ? name : `${name}[l]`);
  const x = (i: string) => `(int64_t)${t.read(op.input, L === 1 ? `x[o + ${i}]` : `x[(o + ${i}) * ${L} + l]`)}`;
  const y = (i: string) => (L === 1 ? `y[o + ${i}]` : `y[(o + ${i}) * ${L} + l]`);
  const c = (i: string) => `const int64_t c = ${C} * ${x(i)} - ${v("s")};`;
  const root = `${v("D")} = fixq_isqrt64(${v("V")} * ${cInt(4 ** op.varShift)} + ${cInt(op.epsilon)});`;
  const den = `${v("den")} = ${v("D")} * ${cInt(2 ** op.fracBits)};`;
  const num = `const int64_t n = c * (int64_t)${G}[i] + (int64_t)${B}[i] * ${v("D")} + ${v("D")} * ${cInt(2 ** (op.fracBits - 1))};`;
  const store = `${y("i")} = ${t.write(op.output, fast ? divClamped("n", v("R"), op) : clamp(`${cInt(op.outZero)} + fixq_floordiv(n, ${v("den")})`, op.clampLo, op.clampHi))};`;
  // RMSNorm: s = C·z_x, no row sum
  const s0 = op.rmsZero === undefined ? "0" : cInt(C * op.rmsZero);
  const rowSum = op.rmsZero === undefined;
  const body =
    L === 1
      ? `  for (int o = 0; o < ${n}; o += ${C}) {
    int64_t s = ${s0}, V = 0;${
      rowSum
        ? `
    for (int i = 0; i < ${C}; i++) {${pipe(t, "      ")}
      s += ${x("i")};
    }`
        : ""
    }
    for (int i = 0; i < ${C}; i++) {${pipe(t, "      ")}
      ${c("i")}
      V += c * c;
    }
    {
      int64_t D, den;
      ${root}
      ${den}${fast ? "\n      const fixq_recip R = fixq_recip_of(den);" : ""}
      for (int i = 0; i < ${C}; i++) {${pipe(t, "        ")}
        ${c("i")}
        ${num}
        ${store}
      }
    }
  }
  return 0;`
      : `  for (int o = 0; o < ${n}; o += ${C}) {
    int64_t s[${L}], V[${L}], D[${L}], den[${L}];${fast ? `\n    fixq_recip R[${L}];` : ""}
    for (int l = 0; l < ${L}; l++) { s[l] = ${s0}; V[l] = 0; }${
      rowSum
        ? `
    for (int i = 0; i < ${C}; i++)
      for (int l = 0; l < ${L}; l++) s[l] += ${x("i")};`
        : ""
    }
    for (int i = 0; i < ${C}; i++)
      for (int l = 0; l < ${L}; l++) {
        ${c("i")}
        V[l] += c * c;
      }
    for (int l = 0; l < ${L}; l++) {
      ${root}
      ${den}${fast ? "\n      R[l] = fixq_recip_of(den[l]);" : ""}
    }${t.layerNormRow ? `\n${t.layerNormRow(fast)}` : ""}
    for (int i = 0; i < ${C}; i++)
      for (int l = 0; l < ${L}; l++) {
        ${c("i")}
        ${num}
        ${store}
      }
  }
  return 0;`;
  return {
    consts: [constArray(G, op.gamma), constArray(B, op.beta)],
    body,
    what: `${op.rmsZero === undefined ? "layernorm" : `rmsnorm (s = ${C}*${op.rmsZero})`} over ${C}: D = isqrt(V * 4^${op.varShift} + ${op.epsilon}), y = clamp(${op.outZero} + floor((c*g + b*D + D*2^${op.fracBits - 1}) / (D*2^${op.fracBits})))`,
  };
}

function addConstText(op: AddConstOp, t: TransformerTarget): KernelText {
  const n = prod(shapeOf(t, op.output));
  const m = op.offset.length;
  if (m === 0 || n % m !== 0) throw new Error(`addconst ${op.source}: ${m} offsets do not tile a sample of ${n}`);
  const O = `OFFSET${t.index}`;
  const half = op.shift === 0 ? 0 : 2 ** (op.shift - 1);
  // blocks of m elements, each adding offset[0 … m − 1] (no modulo in the loop); in the batch layout, L lanes per element
  const L = t.lanes ?? 1;
  const at = L === 1 ? "o + j" : `(o + j) * ${L} + l`;
  const e = `fixq_shr(((int64_t)${t.read(op.input, `x[${at}]`)} - ${cInt(op.inputZero)}) * ${cInt(op.multiplier)} + (int64_t)${O}[j] + ${cInt(half)}, ${op.shift})`;
  const store = `y[${at}] = ${t.write(op.output, clamp(`${cInt(op.outZero)} + ${e}`, op.clampLo, op.clampHi))};`;
  const body = `  for (int o = 0; o < ${n}; o += ${m}) {
    for (int j = 0; j < ${m}; j++) {${pipe(t, "      ")}
      ${L === 1 ? store : `for (int l = 0; l < ${L}; l++) ${store}`}
    }
  }
  return 0;`;
  return { consts: [constArray(O, op.offset)], body, what: `y = clamp(${op.outZero} + rshr((x - ${op.inputZero}) * ${op.multiplier} + offset[i mod ${m}], ${op.shift}))` };
}

function gatherText(op: GatherOp, t: TransformerTarget): KernelText {
  const ids = prod(shapeOf(t, op.input));
  const T = `ROWS${t.index}`;
  const body = `  for (int i = 0; i < ${ids}; i++) {
    int64_t r = (int64_t)${t.read(op.input, "x[i]")};
    if (r < 0) r += ${op.rows};
    if (r < 0 || r >= ${op.rows}) return FIXQ_EINDEX; /* an id outside [-${op.rows}, ${op.rows}) */
    for (int j = 0; j < ${op.width}; j++) {${pipe(t, "      ")}
      y[i * ${op.width} + j] = ${t.write(op.output, `${T}[r * ${op.width} + j]`)};
    }
  }
  return 0;`;
  return { consts: [constArray(T, op.table)], body, what: `y[i, :] = table[id[i], :], ${op.rows} rows of ${op.width}` };
}

function sliceText(op: SliceOp, t: TransformerTarget): KernelText {
  const s = shapeOf(t, op.input);
  const outer = prod(s.slice(0, op.axis));
  const L = s[op.axis]!;
  const inner = prod(s.slice(op.axis + 1));
  const w = (op.end - op.start) * inner;
  const body = `  for (int b = 0; b < ${outer}; b++) {
    for (int k = 0; k < ${w}; k++) {${pipe(t, "      ")}
      y[b * ${w} + k] = ${t.write(op.output, t.read(op.input, `x[(b * ${L} + ${op.start}) * ${inner} + k]`))};
    }
  }
  return 0;`;
  return { consts: [], body, what: `rows ${op.start}..${op.end - 1} of axis ${op.axis}` };
}

/** The op's function body and constants. */
export function transformerText(op: TransformerOp, t: TransformerTarget): KernelText {
  switch (op.kind) {
    case "matmul":
      return matmulText(op, t);
    case "mul":
      return mulText(op, t);
    case "table":
      return tableText(op, t);
    case "softmax":
      return softmaxText(op, t);
    case "layernorm":
      return layerNormText(op, t);
    case "addconst":
      return addConstText(op, t);
    case "gather":
      return gatherText(op, t);
    case "slice":
      return sliceText(op, t);
  }
}

/**
 * Why a back end printing these bodies cannot run a softmax (empty: it can):
 * an exp table shorter than the input type's span (the generated code indexes
 * it by max − x without a bound check; numerics' checks cover the tables of
 * `table` ops).
 */
export function softmaxCoverage(op: SoftmaxOp, range: (v: string) => { lo: number; hi: number }): string[] {
  const r = range(op.input);
  return r.hi - r.lo > op.exp.length - 1 ? [`its exp table covers differences 0…${op.exp.length - 1}, not the input's 0…${r.hi - r.lo}`] : [];
}
