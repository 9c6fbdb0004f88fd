/**
 * The problems a certificate reports, one line each:
 * - an accumulator that can leave its int32 storage (error, naming the channel);
 * - a bias at the int32 limit, i.e. saturated when it was scaled to S_in·S_w (error);
 * - all-zero weight channels, whose output is the constant bias (warning);
 * - a requant multiplier that is not representable: m not an integer in
 *   [0, 2^b), or a shift outside 0…62 (error, with a width b' for which
 *   quantizeMultiplier(M, b') has a shift in 0…62 and acc width + b' ≤ 63);
 * - the 64-bit product rule: accumulator width + multiplier width ≤ 63 (error);
 * - rescales the arithmetic of numerics/rescale.ts rejects: multipliers outside
 *   [0, 2^31), shifts outside 0…52, more than 16 inputs, or terms |(x − z)·m| ≥ 2^48,
 *   past which its double arithmetic would not be exact (error).
 */
import { type Dyadic, dyadicValue, quantizeMultiplier } from "../numerics/requant.js";
import { RESCALE_MAX_INPUTS, RESCALE_MAX_SHIFT, RESCALE_TERM_LIMIT } from "../numerics/rescale.js";
import type { ChannelRanges } from "./certify-ranges.js";
import { bitLength, signedWidth } from "./certify-width.js";
import type { ConvOp, DenseOp, IntOp, RequantOp, RescaleOp } from "./program.js";

export interface CertProblem {
  readonly level: "error" | "warning";
  /** The op's source node. */
  readonly source: string;
  readonly message: string;
}

export const PRODUCT_LIMIT_BITS = 63;
export const MAX_SHIFT = 62;
const INT32_LO = -(2 ** 31);
const INT32_HI = 2 ** 31 - 1;

/** "channel 3" or "channels 3, 7, 9 and 4 more". */
export function channelList(chs: readonly number[], max = 3): string {
  const head = chs.slice(0, max).join(", ");
  const more = chs.length > max ? ` and ${chs.length - max} more` : "";
  return `${chs.length === 1 ? "channel" : "channels"} ${head}${more}`;
}

/**
 * An accumulator whose range leaves its storage: int32, or int64 for the
 * accumulators widen-accumulators.ts widened (|acc| < 2^63).
 */
export function checkAccumulator(op: IntOp, out: ChannelRanges, storageBits = 32): CertProblem[] {
  const wide = storageBits > 32;
  const lo = wide ? -(2 ** 63) : INT32_LO;
  const hi = wide ? 2 ** 63 - 1 : INT32_HI;
  const bad: number[] = [];
  for (let c = 0; c < out.lo.length; c++) if (out.lo[c]! < lo || out.hi[c]! > hi) bad.push(c);
  if (bad.length === 0) return [];
  const c = bad[0]!;
  const w = signedWidth(out.lo[c]!, out.hi[c]!);
  const where = out.axis === null ? "the accumulator" : `the accumulator of ${channelList(bad)}`;
  return [
    {
      level: "error",
      source: op.source,
      message: `${where} reaches [${out.lo[c]}, ${out.hi[c]}] (${w} bits), beyond ${wide ? "int64, the widest accumulator fixq's back ends have" : "int32"}: use narrower weights or activations`,
    },
  ];
}

export function checkBias(op: ConvOp | DenseOp): CertProblem[] {
  if (!op.bias) return [];
  const bad: number[] = [];
  op.bias.forEach((b, c) => {
    if (b === INT32_LO || b === INT32_HI) bad.push(c);
  });
  if (bad.length === 0) return [];
  return [
    {
      level: "error",
      source: op.source,
      message: `the int32 bias of ${channelList(bad)} is at the int32 limit (${op.bias[bad[0]!]}): it overflowed at scale S_in·S_w; use narrower weights or activations`,
    },
  ];
}

export function checkZeroChannels(op: ConvOp | DenseOp, zeroChannels: readonly number[]): CertProblem[] {
  if (zeroChannels.length === 0) return [];
  return [{ level: "warning", source: op.source, message: `${channelList(zeroChannels)}: all weights are zero, the accumulator is the constant bias` }];
}

/** The widest b' ≤ 31 at which M = m·2^−s has a shift in 0…62 and accWidth + b' ≤ 63, or null. */
export function suggestMultiplierBits(d: Dyadic, accWidth: number): number | null {
  const M = dyadicValue(d);
  if (!(M > 0) || !Number.isFinite(M)) return null;
  for (let b = Math.min(31, PRODUCT_LIMIT_BITS - accWidth); b >= 1; b--) {
    let q: Dyadic;
    try {
      q = quantizeMultiplier(M, b);
    } catch {
      return null;
    }
    if (q.s >= 0 && q.s <= MAX_SHIFT) return b;
  }
  return null;
}

function suggestion(d: Dyadic, accWidth: number): string {
  const b = suggestMultiplierBits(d, accWidth);
  return b === null
    ? `no multiplier width of 1…31 bits represents ${dyadicValue(d)} with a shift in 0…${MAX_SHIFT}: change the output scale`
    : `use a ${b}-bit multiplier`;
}

/** Requant multipliers: representability at `bits`, and the 64-bit product rule. Returns the problems and the multiplier width used. */
export function checkRequant(op: RequantOp, bits: number, accWidth: number): { problems: CertProblem[]; mulBits: number } {
  const problems: CertProblem[] = [];
  const badM: number[] = [];
  const badS: number[] = [];
  let maxM = 0;
  op.multipliers.forEach((d, c) => {
    if (!Number.isInteger(d.m) || d.m < 0 || d.m >= 2 ** bits) badM.push(c);
    else maxM = Math.max(maxM, d.m);
    if (d.m !== 0 && (!Number.isInteger(d.s) || d.s < 0 || d.s > MAX_SHIFT)) badS.push(c);
  });
  const perCh = op.multipliers.length > 1;
  const name = (chs: number[]) => perChannelName(perCh, chs);
  if (badM.length > 0) {
    const d = op.multipliers[badM[0]!]!;
    problems.push({
      level: "error",
      source: op.source,
      message: `multiplier m = ${d.m} of ${name(badM)} is not an integer in [0, 2^${bits}): ${suggestion(d, accWidth)}`,
    });
  }
  if (badS.length > 0) {
    const d = op.multipliers[badS[0]!]!;
    problems.push({
      level: "error",
      source: op.source,
      message: `shift s = ${d.s} of ${name(badS)} is outside 0…${MAX_SHIFT}: ${suggestion(d, accWidth)}`,
    });
  }
  const mulBits = Math.max(bits, bitLength(Math.min(maxM, 2 ** 53)));
  if (accWidth + mulBits > PRODUCT_LIMIT_BITS) {
    const d = op.multipliers.find((q) => q.m > 0) ?? { m: 0, s: 0 };
    problems.push({
      level: "error",
      source: op.source,
      message: `accumulator width ${accWidth} + multiplier width ${mulBits} = ${accWidth + mulBits} bits exceeds the ${PRODUCT_LIMIT_BITS}-bit requantization product: ${suggestion(d, accWidth)} or narrow the accumulator`,
    });
  }
  return { problems, mulBits };
}

function perChannelName(perCh: boolean, chs: number[]): string {
  return perCh ? channelList(chs) : "the tensor";
}

export function checkRequantUnbounded(op: RequantOp, unbounded: readonly number[], accOk: boolean): CertProblem[] {
  if (unbounded.length === 0 || !accOk) return [];
  return [
    {
      level: "error",
      source: op.source,
      message: `the requantization of ${perChannelName(op.multipliers.length > 1, [...unbounded])} cannot be evaluated over the accumulator range (double rounding's left shift overflows int32): its output range is only the clamp range`,
    },
  ];
}

export function checkRescale(op: RescaleOp, maxTerm: number, unbounded: readonly number[]): CertProblem[] {
  const problems: CertProblem[] = [];
  const error = (message: string) => problems.push({ level: "error", source: op.source, message });
  const badM = op.multipliers.findIndex((m) => !(Number.isInteger(m) && m >= 0 && m < 2 ** 31));
  if (badM >= 0) error(`rescale multiplier ${op.multipliers[badM]} of input ${badM} is not an integer in [0, 2^31)`);
  if (!Number.isInteger(op.shift) || op.shift < 0 || op.shift > RESCALE_MAX_SHIFT) error(`rescale shift ${op.shift} is outside 0…${RESCALE_MAX_SHIFT}`);
  if (op.inputs.length > RESCALE_MAX_INPUTS) error(`rescale of ${op.inputs.length} inputs: at most ${RESCALE_MAX_INPUTS} are exact`);
  if (maxTerm >= RESCALE_TERM_LIMIT) {
    error(`a rescale term (x − z)·m reaches ${maxTerm} ≥ 2^48, past the exact arithmetic of the program: use a smaller multiplier and shift`);
  }
  if (problems.length === 0 && unbounded.length > 0) error(`the rescale arithmetic rejects the operands of ${channelList([...unbounded])}: its output range is only the clamp range`);
  return problems;
}
