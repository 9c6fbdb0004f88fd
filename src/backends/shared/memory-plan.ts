/**
 * Memory plan of one run of an integer program (the emulator's; any back end
 * that places values in one buffer can use it): which integer values are alive after each
 * op, and where each lives in one arena, so that a value's bytes are reused
 * as soon as no later op reads it.
 *
 * A value is born when its op runs and dies after its last reader (values the
 * caller gets back, `keep`, live to the end). A reshape's output shares its
 * input's buffer, so aliases form one group whose life is the union of its
 * members'. Groups are placed greedily in op order: a new group takes the
 * free block that fits it best, or the end of the arena. Offsets are 16-byte
 * aligned (SIMD loads) and followed by VALUE_SLACK bytes that the kernel writing
 * the value may overwrite (a row tail stored as a full vector). The arena's size is the peak of the live set plus
 * fragmentation; `peakLiveBytes` is the peak itself.
 */
import { type IntOp, isWideValue, opInputs, type Program, sampleSize } from "../../integer/program.js";

export interface ArenaPlan {
  /** Byte offset of each integer value in the arena. */
  readonly offset: ReadonlyMap<string, number>;
  /** Elements of each integer value (batch × per-sample size). */
  readonly length: ReadonlyMap<string, number>;
  /** Arena size in bytes. */
  readonly bytes: number;
  /** Largest sum of live value bytes after any op. */
  readonly peakLiveBytes: number;
  /** Values no later op reads, by op index (for bookkeeping and tests). */
  readonly diesAfter: readonly (readonly string[])[];
}

const ALIGN = 16;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
/** Bytes of slack after every value, which the kernel writing it may overwrite (full-vector row tails). */
export const VALUE_SLACK = 16;

/** The integer value an op writes (quantize's output included); dequantize writes a float output, not planned. */
export function intOutput(op: IntOp): string | undefined {
  return op.kind === "dequantize" ? undefined : op.output;
}

/** The integer values an op reads (quantize reads a float feed). */
export function intInputs(op: IntOp): readonly string[] {
  return op.kind === "quantize" ? [] : opInputs(op);
}

/**
 * Plans the arena for `batch` samples. `keep` values live to the end;
 * `preset` values (the quantized inputs of runProgramInt) are born before the
 * first op.
 */
export function planArena(p: Program, batch: number, keep: ReadonlySet<string>, preset: readonly string[] = []): ArenaPlan {
  const root = new Map<string, string>(); // value → its alias group's root
  const lengthOf = new Map<string, number>();
  const bytesOf = new Map<string, number>(); // per value: elements × 4, or × 8 for an int64 accumulator
  const find = (v: string) => root.get(v) ?? v;
  const valueLength = (name: string) => {
    const v = p.values.get(name);
    if (!v) throw new Error(`integer program: value '${name}' is not declared`);
    bytesOf.set(name, batch * sampleSize(v.shape) * (isWideValue(v) ? 8 : 4));
    return batch * sampleSize(v.shape);
  };
  for (const name of preset) lengthOf.set(name, valueLength(name));
  for (const op of p.ops) {
    const out = intOutput(op);
    if (out === undefined) continue;
    lengthOf.set(out, valueLength(out));
    if (op.kind === "reshape") root.set(out, find(op.input));
  }
  // Each group dies after the last op that reads any member.
  const last = new Map<string, number>();
  p.ops.forEach((op, i) => {
    for (const v of intInputs(op)) last.set(find(v), i);
  });
  for (const v of keep) last.set(find(v), p.ops.length);
  const groupLength = new Map<string, number>();
  for (const v of lengthOf.keys()) groupLength.set(find(v), Math.max(groupLength.get(find(v)) ?? 0, bytesOf.get(v)!));

  const free: { offset: number; bytes: number }[] = [];
  let end = 0;
  const groupOffset = new Map<string, number>();
  let live = 0;
  let peak = 0;
  const place = (g: string) => {
    const bytes = align(groupLength.get(g)! + VALUE_SLACK);
    let best = -1;
    for (let k = 0; k < free.length; k++) if (free[k]!.bytes >= bytes && (best < 0 || free[k]!.bytes < free[best]!.bytes)) best = k;
    if (best >= 0) {
      const blk = free[best]!;
      groupOffset.set(g, blk.offset);
      if (blk.bytes === bytes) free.splice(best, 1);
      else free[best] = { offset: blk.offset + bytes, bytes: blk.bytes - bytes };
    } else {
      groupOffset.set(g, end);
      end += bytes;
    }
    live += bytes;
    peak = Math.max(peak, live);
  };
  const release = (g: string) => {
    const bytes = align(groupLength.get(g)! + VALUE_SLACK);
    live -= bytes;
    free.push({ offset: groupOffset.get(g)!, bytes });
    // merge adjacent free blocks
    free.sort((a, b) => a.offset - b.offset);
    for (let k = free.length - 1; k > 0; k--) {
      const a = free[k - 1]!;
      const b = free[k]!;
      if (a.offset + a.bytes === b.offset) free.splice(k - 1, 2, { offset: a.offset, bytes: a.bytes + b.bytes });
    }
    // a free block at the end shrinks the arena's high-water mark for later placements
    const top = free[free.length - 1];
    if (top && top.offset + top.bytes === end) {
      end = top.offset;
      free.pop();
    }
  };
  let high = 0;
  for (const g of new Set(preset.map(find))) place(g);
  high = Math.max(high, end);
  const diesAfter: string[][] = p.ops.map(() => []);
  const dying = new Map<number, string[]>();
  for (const [g, i] of last) if (i < p.ops.length) (dying.get(i) ?? dying.set(i, []).get(i)!).push(g);
  p.ops.forEach((op, i) => {
    const out = intOutput(op);
    if (out !== undefined && find(out) === out && !groupOffset.has(out)) {
      place(out);
      high = Math.max(high, end);
    }
    for (const g of dying.get(i) ?? []) {
      if (!groupOffset.has(g)) continue;
      release(g);
      diesAfter[i]!.push(g);
    }
    // a value nobody reads dies at once (unless kept)
    if (out !== undefined && find(out) === out && !last.has(out)) {
      release(out);
      diesAfter[i]!.push(out);
    }
  });
  const offset = new Map<string, number>();
  for (const v of lengthOf.keys()) offset.set(v, groupOffset.get(find(v))!);
  return { offset, length: lengthOf, bytes: high, peakLiveBytes: peak, diesAfter };
}
