/**
 * Accumulator widths from the certificate, per layer: a conv or dense
 * accumulator stays int32 when its certified range fits,
 *
 *   −2^31 ≤ lo_c  and  hi_c ≤ 2^31 − 1   for every channel c,
 *
 * and is typed int64 (program.ts ACC64) otherwise, as long as every reader
 * is a fixed-point rescale, whose domain (numerics/fixed-rescale.ts: each
 * term |x·m| < 2^48) the certificate checks on the certified range. So a
 * widened accumulator is below 2^48 in magnitude whenever the program
 * certifies: its sums, products of integers and partial sums all below
 * 2^53, are exact in float64 as well as in int64 (the emulator and the
 * generated JS use doubles, C int64_t, HLS ap_int<W> with W the certified
 * width). An accumulator beyond int32 read by anything else (an int8
 * requant, a residual rescale) stays int32 and its certificate keeps the
 * "beyond int32" error; one beyond int64 is typed int64 all the same, and
 * the certificate refuses it, naming the node ("beyond int64").
 */
import { certifyProgram } from "./certify.js";
import { unionOf } from "./certify-ranges.js";
import { ACC64, type IntOp, opInputs, type Program, type ProgramValue } from "./program.js";

const INT32_LO = -(2 ** 31);
const INT32_HI = 2 ** 31 - 1;

const ACCUMULATING = new Set<IntOp["kind"]>(["conv", "dense"]);

/** The program with every accumulator the certificate proves beyond int32 (and within int64) typed int64. */
export function widenAccumulators(p: Program): Program {
  const readers = new Map<string, IntOp[]>();
  for (const op of p.ops) for (const v of op.kind === "quantize" ? [] : opInputs(op)) (readers.get(v) ?? readers.set(v, []).get(v)!).push(op);
  const candidates = p.ops.filter((op) => ACCUMULATING.has(op.kind) && "output" in op && (readers.get(op.output) ?? []).every((r) => r.kind === "fixedrescale"));
  if (candidates.length === 0) return p;
  const cert = certifyProgram(p);
  let values: Map<string, ProgramValue> | undefined;
  for (const op of candidates) {
    const out = (op as { output: string }).output;
    const r = cert.channels.get(out);
    if (!r) continue;
    const u = unionOf(r);
    if (u.lo >= INT32_LO && u.hi <= INT32_HI) continue;
    values ??= new Map(p.values);
    values.set(out, { ...p.values.get(out)!, type: ACC64 });
  }
  return values ? { ...p, values } : p;
}
