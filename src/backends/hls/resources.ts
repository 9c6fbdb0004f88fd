/**
 * Per-layer plan and resource ESTIMATES of the HLS design of an integer
 * Program, describing exactly the code `mac-layer.ts` (conv, dense) and
 * `matmul-layer.ts` (activation × activation matmul) write. Each is a per-row
 * dot-product block (a row: one output position of a conv, one input row of a
 * dense, one (head, row) of a matmul) with W products per row (conv: outC ·
 * inC/group · kh · kw weights; dense: N · K weights; matmul: K · N, the
 * b − zb block of the head, loaded into the layer). At reuse factor R
 * (hls4ml's knob, R a divisor of W) the row runs in R reuse steps of BF = W / R
 * products each:
 *   multipliers     BF (products per cycle: `ALLOCATION … mul limit=BF`)
 *   II requested    R (`PIPELINE II=R` on the row loop)
 *   cycles/sample   rows · R (rows: conv outH · outW; dense the input's rows;
 *                   matmul heads · M), + heads · K · N for a matmul (its Load
 *                   loop at II = 1, one element of b per cycle)
 *   MACs / sample   rows · W
 *   DSP48 per mult  0 when an operand is ≤ 4 bits (LUT multiplier), else
 *                   ⌈a/27⌉ · ⌈w/18⌉ with a ≥ w the operand widths (DSP48E2's
 *                   27 × 18 signed multiplier);  DSP = BF · that
 *   operand widths  activation: the certified range of x − inputZero;
 *                   weight: the layer's exact weight type (matmul: the
 *                   certified range of b − zb)
 *   weight bits     W · weight width (matmul: its local b block, K·N · the
 *                   b − zb width);  activation bits: output elements · the
 *                   accumulator width (matmul: · its int32 output storage)
 *   accumulator     the certificate's minimal width for the layer's sum
 * Partitions the code asks for: the weights (the b block) in BF banks
 * (`ARRAY_RESHAPE block factor=BF`), the row's accumulators (N) and its input
 * taps (K·group) completely. Each must stay within 4096 elements
 * (`config_array_partition -maximum_size 4096`, Vivado's unroll limit); a plan
 * over it is refused, naming the layer and the smallest reuse factor that
 * fits. Without a reuse factor each layer gets its least R dividing W with
 * BF ≤ 4096. A requested factor (--reuse-factor, or a recipe rule's
 * reuseFactor for that layer) must divide W: otherwise refused, naming the
 * layer and the valid factors.
 */
import type { Certificate } from "../../integer/certify.js";
import { type ConvOp, type DenseOp, type IntOp, type MatMulOp, type Program, sampleSize, weightTypeOf } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import { signedBits } from "./hls-types.js";
import { matmulKN, matmulShape } from "./matmul-shape.js";

export const PARTITION_LIMIT = 4096;

export interface LayerResources {
  readonly source: string;
  readonly kind: PlannedOp["kind"];
  /** Products per row W (conv, dense: the weights; matmul: K·N). */
  readonly weights: number;
  /** Rows per sample (conv: output positions; dense: input rows; matmul: heads · M). */
  readonly rows: number;
  readonly macs: number;
  readonly reuseFactor: number;
  readonly multipliers: number;
  readonly operandBits: readonly [activation: number, weight: number];
  readonly dspPerMultiplier: number;
  readonly dsp: number;
  readonly weightBits: number;
  readonly activationBits: number;
  readonly accumulatorBits: number;
  readonly ii: number;
  /** rows · R (+ heads · K · N for a matmul's loads): cycles one sample spends in the layer. */
  readonly cycles: number;
}

/** The ops planned with a reuse factor. */
export type PlannedOp = ConvOp | DenseOp | MatMulOp;
export const isPlannedOp = (op: IntOp): op is PlannedOp => op.kind === "conv" || op.kind === "dense" || op.kind === "matmul";

/** Reuse factors requested: one for every layer and/or per layer by its op's source ("Conv '/c1/Conv'"). */
export interface ReuseRequest {
  readonly all?: number;
  readonly byLayer?: ReadonlyMap<string, number>;
}

/** DSP48E2 slices for one a × w multiplier (see the file comment). */
export function dspPerMultiplier(a: number, w: number): number {
  if (Math.min(a, w) <= 4) return 0;
  const [big, small] = a >= w ? [a, w] : [w, a];
  return Math.ceil(big / 27) * Math.ceil(small / 18);
}

/** Divisors of n, ascending. */
function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d === 0) {
      out.push(d);
      if (d * d !== n) out.push(n / d);
    }
  }
  return out.sort((a, b) => a - b);
}

/** The shape of a layer's per-row block: N outputs, K taps per output, `taps` input elements gathered per row. */
export function macShape(p: Program, op: ConvOp | DenseOp): { n: number; k: number; taps: number; rows: number } {
  if (op.kind === "dense") {
    const x = p.values.get(op.input)!.shape;
    return { n: op.outFeatures, k: op.inFeatures, taps: op.inFeatures, rows: sampleSize(x) / op.inFeatures };
  }
  const [o, cg, kh, kw] = op.weightShape;
  const out = p.values.get(op.output)!.shape;
  return { n: o, k: cg * kh * kw, taps: cg * op.group * kh * kw, rows: out[1]! * out[2]! };
}

/** Arrays a layer partitions at reuse factor r, by name and element count. */
function partitions(p: Program, op: PlannedOp, r: number): [string, number][] {
  if (op.kind === "matmul") {
    const { k, n } = matmulKN(p, op);
    return [
      [`its ${k}x${n} block of b in ${(k * n) / r} banks`, (k * n) / r],
      [`its ${n} accumulators`, n],
      [`its ${k} input taps`, k],
    ];
  }
  const s = macShape(p, op);
  return [
    [`its weights in ${op.weight.length / r} banks`, op.weight.length / r],
    [`its ${s.n} accumulators`, s.n],
    [`its ${s.taps} input taps`, s.taps],
  ];
}

/** W: the products of one row (conv, dense: the weights; matmul: K·N). */
export function productsPerRow(p: Program, op: PlannedOp): number {
  if (op.kind !== "matmul") return op.weight.length;
  const { k, n } = matmulKN(p, op);
  return k * n;
}

const fits = (p: Program, op: PlannedOp, r: number) => partitions(p, op, r).every(([, n]) => n <= PARTITION_LIMIT);

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The least factor dividing every layer's product count with which every layer fits, if any. */
function leastCommonFactor(p: Program): number | undefined {
  const layers = p.ops.filter(isPlannedOp);
  const g = layers.reduce((a, o) => gcd(a, productsPerRow(p, o)), 0);
  return divisors(g).find((d) => layers.every((o) => fits(p, o, d)));
}

/**
 * The plan of every conv, dense and matmul op, in program order: its reuse
 * factor (requested, or the least fitting divisor) and the estimates. Throws
 * a usage error naming the layer for a factor that does not divide W or a
 * partition over the limit.
 */
export function estimateResources(p: Program, cert: Certificate, reuse: ReuseRequest | number = {}): LayerResources[] {
  const req: ReuseRequest = typeof reuse === "number" ? { all: reuse } : reuse;
  const rows = new Map(cert.rows.filter((r) => r.accumulator).map((r) => [r.value, r]));
  const layers: LayerResources[] = [];
  for (const op of p.ops) {
    if (!isPlannedOp(op)) continue;
    const weights = productsPerRow(p, op);
    const ds = divisors(weights);
    const asked = req.byLayer?.get(op.source) ?? req.all;
    const flag = req.byLayer?.has(op.source) ? "reuseFactor" : "--reuse-factor";
    const valid = ds.filter((d) => fits(p, op, d));
    if (asked !== undefined && weights % asked !== 0) {
      const shown = valid.length > 16 ? `${valid.slice(0, 16).join(", ")}, …` : valid.join(", ");
      const what = op.kind === "matmul" ? `${weights} products per row (K·N)` : `${weights} weights`;
      throw new FixqError("usage", `${op.source}: ${flag} ${asked} does not divide its ${what}; valid factors: ${shown || "none (a partition exceeds the limit at any factor)"}`);
    }
    const r = asked ?? valid[0] ?? weights;
    const over = partitions(p, op, r).find(([, n]) => n > PARTITION_LIMIT);
    if (over) {
      const least = valid[0];
      const all = leastCommonFactor(p);
      const remedy =
        least === undefined
          ? "no reuse factor fits this layer (its accumulators or input taps alone exceed the limit)"
          : req.byLayer?.has(op.source) || all === undefined
            ? `set reuseFactor ${least} (or a larger divisor of ${weights}) for this layer in a recipe's layers rules`
            : `use --reuse-factor ${all} or larger (a divisor of every layer's products per row that fits them all)`;
      throw new FixqError("usage", `${op.source}: reuse factor ${r} partitions ${over[0]}, over the ${PARTITION_LIMIT} limit of config_array_partition; ${remedy}`);
    }
    const outSize = sampleSize(p.values.get(op.output)!.shape);
    let shapeRows: number;
    let a: number;
    let w: number;
    let accBits: number;
    let outBits: number;
    let loads = 0;
    if (op.kind === "matmul") {
      const s = matmulShape(p, cert, op);
      shapeRows = s.heads * s.m;
      [a, w] = [s.aBits, s.bBits];
      accBits = s.accBits;
      outBits = p.values.get(op.output)!.type.bits;
      loads = s.heads * weights;
    } else {
      shapeRows = macShape(p, op).rows;
      const inRange = cert.ranges.get(op.input) ?? { lo: -(2 ** 31), hi: 2 ** 31 - 1 };
      a = signedBits(inRange.lo - op.inputZero, inRange.hi - op.inputZero);
      w = weightTypeOf(op).bits;
      accBits = rows.get(op.output)?.width ?? p.values.get(op.output)!.type.bits;
      outBits = accBits;
    }
    const per = dspPerMultiplier(a, w);
    const multipliers = weights / r;
    layers.push({
      source: op.source,
      kind: op.kind,
      weights,
      rows: shapeRows,
      macs: shapeRows * weights,
      reuseFactor: r,
      multipliers,
      operandBits: [a, w],
      dspPerMultiplier: per,
      dsp: multipliers * per,
      weightBits: weights * w,
      activationBits: outSize * outBits,
      accumulatorBits: accBits,
      ii: r,
      cycles: shapeRows * r + loads,
    });
  }
  return layers;
}

/** The report's text: one line per layer, and the totals. */
export function formatResources(layers: readonly LayerResources[]): string {
  const head = `${"layer".padEnd(40)} kind   R     mults  a×w    DSP/m  DSP     weight bits  act bits  acc bits  II    cycles`;
  const line = (l: LayerResources) =>
    `${l.source.padEnd(40).slice(0, 40)} ${l.kind.padEnd(6)} ${String(l.reuseFactor).padEnd(5)} ${String(l.multipliers).padEnd(6)} ${`${l.operandBits[0]}×${l.operandBits[1]}`.padEnd(6)} ${String(l.dspPerMultiplier).padEnd(6)} ${String(l.dsp).padEnd(7)} ${String(l.weightBits).padEnd(12)} ${String(l.activationBits).padEnd(9)} ${String(l.accumulatorBits).padEnd(9)} ${String(l.ii).padEnd(5)} ${l.cycles}`;
  const sum = (f: (l: LayerResources) => number) => layers.reduce((s, l) => s + f(l), 0);
  return [
    "HLS resource ESTIMATES of the generated code (rough model, not synthesis: multipliers = products per cycle = W / R (W: weights; matmul: K·N products per row, b − zb the w operand); DSP48 per multiplier = 0 if an operand is ≤ 4 bits, else ⌈a/27⌉·⌈w/18⌉; II = R per row; cycles = rows · R, + heads·K·N loads for a matmul)",
    head,
    ...layers.map(line),
    `total: ${sum((l) => l.multipliers)} multipliers, ${sum((l) => l.dsp)} DSP48, ${sum((l) => l.weightBits)} weight bits, ${sum((l) => l.activationBits)} activation bits, ${sum((l) => l.cycles)} layer cycles per sample`,
  ].join("\n");
}
