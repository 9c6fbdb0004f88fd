/**
 * Per-channel integer ranges, the lattice the certificates propagate.
 *
 * A range is either one interval for the whole tensor (axis = null, one
 * entry) or one interval per index along a per-sample axis (a channel axis).
 * Data movement keeps the channel axis when it can follow it:
 *   reshape:   axis a of shape S maps to axis a' of S' when S'[a'] = S[a] and the
 *              element counts after both axes agree (same channel of every element);
 *   transpose: a → perm⁻¹(a);
 *   otherwise the range collapses to the union of its channels.
 */
import { sampleSize } from "./program.js";

export interface ChannelRanges {
  /** Per-sample axis the entries run along, or null for one interval for the whole tensor. */
  readonly axis: number | null;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
}

export function scalarRange(lo: number, hi: number): ChannelRanges {
  return { axis: null, lo: Float64Array.of(lo), hi: Float64Array.of(hi) };
}

/** The union of all channels. */
export function unionOf(r: ChannelRanges): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let c = 0; c < r.lo.length; c++) {
    if (r.lo[c]! < lo) lo = r.lo[c]!;
    if (r.hi[c]! > hi) hi = r.hi[c]!;
  }
  return { lo, hi };
}

export function collapse(r: ChannelRanges): ChannelRanges {
  if (r.axis === null) return r;
  const u = unionOf(r);
  return scalarRange(u.lo, u.hi);
}

/** `count` intervals along `axis`: the channels when r runs along it, else r's union repeated. */
export function perChannel(r: ChannelRanges, axis: number, count: number): ChannelRanges {
  if (r.axis === axis && r.lo.length === count) return r;
  const u = unionOf(r);
  return { axis, lo: new Float64Array(count).fill(u.lo), hi: new Float64Array(count).fill(u.hi) };
}

/** True when r runs along `axis` with `count` channels. */
export function runsAlong(r: ChannelRanges, axis: number, count: number): boolean {
  return r.axis === axis && r.lo.length === count;
}

/** The range after reshaping from `from` to `to`. */
export function reshapeRange(r: ChannelRanges, from: readonly number[], to: readonly number[]): ChannelRanges {
  if (r.axis === null) return r;
  const inner = sampleSize(from.slice(r.axis + 1));
  for (let a = 0; a < to.length; a++) {
    if (to[a] === from[r.axis] && sampleSize(to.slice(a + 1)) === inner) return { ...r, axis: a };
  }
  return collapse(r);
}

export function transposeRange(r: ChannelRanges, perm: readonly number[]): ChannelRanges {
  if (r.axis === null) return r;
  return { ...r, axis: perm.indexOf(r.axis) };
}

/** Concat along `axis` of inputs with the given shapes. */
export function concatRange(parts: readonly ChannelRanges[], shapes: readonly (readonly number[])[], axis: number): ChannelRanges {
  if (parts.some((p) => p.axis === axis)) {
    const total = shapes.reduce((n, s) => n + s[axis]!, 0);
    const lo = new Float64Array(total);
    const hi = new Float64Array(total);
    let off = 0;
    parts.forEach((p, i) => {
      const n = shapes[i]![axis]!;
      const q = perChannel(p, axis, n);
      lo.set(q.lo, off);
      hi.set(q.hi, off);
      off += n;
    });
    return { axis, lo, hi };
  }
  const first = parts[0]!;
  const sameAxis = first.axis !== null && parts.every((p) => p.axis === first.axis && p.lo.length === first.lo.length);
  if (sameAxis) {
    const lo = first.lo.slice();
    const hi = first.hi.slice();
    for (const p of parts) {
      for (let c = 0; c < lo.length; c++) {
        lo[c] = Math.min(lo[c]!, p.lo[c]!);
        hi[c] = Math.max(hi[c]!, p.hi[c]!);
      }
    }
    return { axis: first.axis, lo, hi };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of parts) {
    const u = unionOf(p);
    lo = Math.min(lo, u.lo);
    hi = Math.max(hi, u.hi);
  }
  return scalarRange(lo, hi);
}
