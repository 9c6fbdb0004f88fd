/**
 * Accumulator-width certificates: the worst-case integer range of every value
 * of an integer Program, by interval propagation in op order, per channel.
 *
 *   quantize:   [qmin, qmax], or [q(lo), q(hi)] for a float input range (ONNX QuantizeLinear)
 *   conv/dense: (each layer with its own weight type, reported per row)
 *               bias[c] + Σ max(w·dlo, w·dhi) … bias[c] + Σ min(w·dlo, w·dhi), d = x − inputZero,
 *               over the taps inside the input at the best output position (certify-acc.ts)
 *   sumpool:    count·dlo … count·dhi, padding-aware
 *   requant, rescale: their monotone arithmetic on the endpoints, then the clamp (certify-requant.ts)
 *   maxpool, reshape, transpose: the input's range; concat: the union;
 *   remap, slice: the union of the input's channels
 *   matmul, mul, table, addconst: exact interval arithmetic (certify-transformer.ts);
 *   softmax, layernorm: their clamp (their internal terms are bounded below
 *   2^52 when they are lowered, lower-attention.ts and lower-norm.ts)
 *
 * For the graph input (elements independent over their range) the first
 * layer's ranges are attained, i.e. exact; `worstCaseInput` builds the input
 * that attains them. Deeper values are sound bounds (their inputs' elements are
 * no longer independent). Each value gets the least width holding its range
 * (signed for accumulators), its storage width and the headroom between;
 * problems (certify-checks.ts) flag what can overflow or is not representable.
 */
import { quantizeValue } from "../numerics/int-group.js";
import { convRanges, denseRanges, sumPoolRanges } from "./certify-acc.js";
import {
  type CertProblem,
  checkAccumulator,
  checkBias,
  checkRequant,
  checkRequantUnbounded,
  checkRescale,
  checkZeroChannels,
} from "./certify-checks.js";
import {
  type ChannelRanges,
  collapse,
  concatRange,
  reshapeRange,
  scalarRange,
  transposeRange,
  unionOf,
} from "./certify-ranges.js";
import { signedWidth, unsignedWidth } from "./certify-width.js";
import { addConstRange, matmulRange, mulRange, tableRange } from "./certify-transformer.js";
import { requantRanges, rescaleRanges } from "./certify-requant.js";
import { intTypeName } from "../numerics/int.js";
import { fixedRescaleDomainIssue } from "../numerics/fixed-rescale.js";
import { type IntOp, type Program, type ProgramValue, weightTypeOf } from "./program.js";

export type { CertProblem } from "./certify-checks.js";
export type { ChannelRanges } from "./certify-ranges.js";

export interface Range {
  readonly lo: number;
  readonly hi: number;
}

export interface CertRow {
  /** The op's source node. */
  readonly source: string;
  /** The op kind, or "rescale-sum" for a rescale's internal sum Σ (x_i − z_i)·m_i. */
  readonly kind: string;
  /** The value certified (a rescale's sum is `<output>:sum`, not a program value). */
  readonly value: string;
  readonly range: Range;
  /** Least width holding the range (fits in `width` bits, not in `width − 1`). */
  readonly width: number;
  readonly signed: boolean;
  /** Bits of the value's storage type (int32 for accumulators, 64 for a rescale's sum). */
  readonly storage: number;
  /** storage − width; negative means overflow. */
  readonly headroom: number;
  /** An accumulator (conv, dense, sumpool, a rescale's sum) rather than an activation. */
  readonly accumulator: boolean;
  /** Per-channel extremes, when the value has channels. */
  readonly channels?: { readonly axis: number; readonly lo: readonly number[]; readonly hi: readonly number[] };
  /** Conv, dense: the layer's exact weight type (`int3`, `int8`), which may differ from layer to layer. */
  readonly weightType?: string;
  /** Output channels with all-zero weights (conv, dense). */
  readonly zeroChannels?: readonly number[];
  /** Requant: accumulator width + multiplier width, to stay ≤ 63. */
  readonly product?: { readonly accWidth: number; readonly mulBits: number; readonly width: number; readonly limit: number };
}

export interface Certificate {
  /** Per value, its certified range (for the emulator's `assertRanges`). */
  readonly ranges: ReadonlyMap<string, Range>;
  /** Per value, the per-channel ranges behind `ranges`. */
  readonly channels: ReadonlyMap<string, ChannelRanges>;
  /** One row per op (two for a rescale: its sum and its output), in op order. */
  readonly rows: readonly CertRow[];
  readonly problems: readonly CertProblem[];
  /** No error-level problem. */
  readonly ok: boolean;
  readonly multiplierBits: number;
}

export interface CertifyOptions {
  /** Float range of a program input (by its name), tightening its quantized range. */
  readonly inputRanges?: ReadonlyMap<string, Range>;
}

const ACC_STORAGE_BITS = 32;
const RESCALE_SUM_BITS = 64;

function widthOf(r: Range, signed: boolean): number {
  return signed ? signedWidth(r.lo, r.hi) : unsignedWidth(r.lo, r.hi);
}

function channelsOf(r: ChannelRanges): CertRow["channels"] {
  return r.axis === null ? undefined : { axis: r.axis, lo: [...r.lo], hi: [...r.hi] };
}

function row(op: IntOp, value: string, v: ProgramValue | undefined, r: ChannelRanges, accumulator: boolean, extra: Partial<CertRow> = {}): CertRow {
  const range = unionOf(r);
  const storage = extra.storage ?? v?.type.bits ?? ACC_STORAGE_BITS;
  const signed = accumulator || !v || v.type.signed || range.lo < 0;
  const width = widthOf(range, signed);
  return { source: op.source, kind: op.kind, value, range, width, signed, storage, headroom: storage - width, accumulator, channels: channelsOf(r), ...extra };
}

export function certifyProgram(p: Program, opts: CertifyOptions = {}): Certificate {
  const ranges = new Map<string, ChannelRanges>();
  const rows: CertRow[] = [];
  const problems: CertProblem[] = [];
  const shape = (name: string) => {
    const v = p.values.get(name);
    if (!v) throw new Error(`certify: no value '${name}'`);
    return v.shape;
  };
  const get = (name: string) => {
    const r = ranges.get(name);
    if (!r) throw new Error(`certify: value '${name}' is read before it is written`);
    return r;
  };
  const accBits = (name: string) => p.values.get(name)?.type.bits ?? ACC_STORAGE_BITS;
  const put = (op: IntOp, r: ChannelRanges, accumulator = false, extra: Partial<CertRow> = {}) => {
    const out = "output" in op ? op.output : "";
    ranges.set(out, r);
    const v = p.values.get(out);
    rows.push(row(op, out, v, r, accumulator, extra));
  };
  for (const op of p.ops) {
    switch (op.kind) {
      case "quantize": {
        const f = opts.inputRanges?.get(op.input);
        const q = (x: number) => quantizeValue(x, op.scale, op.zeroPoint, op.qmin, op.qmax);
        put(op, f ? scalarRange(q(f.lo), q(f.hi)) : scalarRange(op.qmin, op.qmax));
        break;
      }
      case "dequantize":
        break;
      case "conv":
      case "dense": {
        const a = op.kind === "conv" ? convRanges(op, get(op.input), shape(op.input), shape(op.output)) : denseRanges(op, get(op.input), shape(op.input), shape(op.output));
        problems.push(...checkBias(op), ...checkZeroChannels(op, a.zeroChannels), ...checkAccumulator(op, a.out, accBits(op.output)));
        put(op, a.out, true, { weightType: intTypeName(weightTypeOf(op)), ...(a.zeroChannels.length > 0 ? { zeroChannels: a.zeroChannels } : {}) });
        break;
      }
      case "sumpool": {
        const a = sumPoolRanges(op, get(op.input), shape(op.input), shape(op.output));
        problems.push(...checkAccumulator(op, a.out, accBits(op.output)));
        put(op, a.out, true);
        break;
      }
      case "requant": {
        const acc = get(op.input);
        const u = unionOf(acc);
        const accWidth = signedWidth(u.lo, u.hi);
        const { problems: mp, mulBits } = checkRequant(op, p.multiplierBits, accWidth);
        const rq = requantRanges(op, acc, shape(op.output), p.rounding);
        const accOk = u.lo >= -(2 ** 31) && u.hi < 2 ** 31;
        problems.push(...mp, ...(mp.length === 0 ? checkRequantUnbounded(op, rq.unbounded, accOk) : []));
        put(op, rq.out, false, { product: { accWidth, mulBits, width: accWidth + mulBits, limit: 63 } });
        break;
      }
      case "rescale": {
        const rs = rescaleRanges(op, op.inputs.map(get), shape(op.output));
        problems.push(...checkRescale(op, rs.maxTerm, rs.unbounded));
        rows.push({ ...row(op, `${op.output}:sum`, undefined, rs.sum, true, { storage: RESCALE_SUM_BITS }), kind: "rescale-sum" });
        put(op, rs.out);
        break;
      }
      case "fixedrescale": {
        const issue = fixedRescaleDomainIssue(op, op.inputs.map((i) => unionOf(get(i))));
        if (issue) problems.push({ level: "error", source: op.source, message: `fixed-point rescale: ${issue}` });
        put(op, scalarRange(op.clampLo, op.clampHi));
        break;
      }
      case "maxpool": {
        const r = get(op.input);
        put(op, r.axis === 0 ? r : collapse(r));
        break;
      }
      case "reshape":
        put(op, reshapeRange(get(op.input), shape(op.input), shape(op.output)));
        break;
      case "transpose":
        put(op, transposeRange(get(op.input), op.perm));
        break;
      case "concat":
        put(op, concatRange(op.inputs.map(get), op.inputs.map(shape), op.axis));
        break;
      case "matmul": {
        const a = matmulRange(op, unionOf(get(op.inputs[0])), unionOf(get(op.inputs[1])), shape(op.inputs[0]));
        problems.push(...checkAccumulator(op, a));
        put(op, a, true);
        break;
      }
      case "mul": {
        const a = mulRange(op, unionOf(get(op.inputs[0])), unionOf(get(op.inputs[1])));
        problems.push(...checkAccumulator(op, a));
        put(op, a, true);
        break;
      }
      case "table":
        put(op, tableRange(op, unionOf(get(op.input))));
        break;
      case "addconst":
        put(op, addConstRange(op, unionOf(get(op.input))));
        break;
      case "softmax":
      case "layernorm":
        put(op, scalarRange(op.clampLo, op.clampHi));
        break;
      case "gather": {
        // the rows hold table codes only (an invalid id is an error, not a value)
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (const t of op.table) {
          if (t < lo) lo = t;
          if (t > hi) hi = t;
        }
        put(op, scalarRange(lo, hi));
        break;
      }
      case "remap":
      case "slice": {
        const u = unionOf(get(op.input));
        put(op, scalarRange(u.lo, u.hi));
        break;
      }
    }
  }
  const flat = new Map<string, Range>();
  for (const [k, r] of ranges) flat.set(k, unionOf(r));
  return { ranges: flat, channels: ranges, rows, problems, ok: !problems.some((q) => q.level === "error"), multiplierBits: p.multiplierBits };
}
