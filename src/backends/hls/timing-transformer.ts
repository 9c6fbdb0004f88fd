/**
 * Cycle ESTIMATES of the transformer layers of the HLS design (the loops
 * shared/transformer-c.ts prints, with `#pragma HLS PIPELINE II=1` opening
 * every innermost loop), from the loop structure, not from synthesis. The
 * matmul is not one of them: it is a reuse-factor layer (matmul-layer.ts),
 * estimated with the conv/dense layers (timing.ts).
 *
 * Each innermost loop is pipelined. Its II is 1, justified per loop:
 *   loop-carried dependencies  only through one-cycle integer operations (a sum's add: softmax
 *                              Σ e, layernorm Σ x and Σ c², the max's compare-select)
 *   memory ports               no array is accessed more than twice per iteration (a BRAM is
 *                              dual-port): each input element once, each table entry once
 * One invocation of a pipelined loop of T trips takes (T − 1)·II + depth cycles, depth being
 * one iteration's latency:
 *   copy (slice, gather)                                  2   read, write
 *   element (table, max, sums, addconst's shift)          4   read, compute, clamp, write
 *   + a multiplier (mul, Σ c², addconst, the
 *     softmax's e·c, the layernorm's c·g and b·D)         +3  a pipelined multiply
 *   + a divider (softmax, layernorm)                      +64 the code divides int64_t: a pipelined
 *                                                             divider, one quotient bit per stage
 * Loops around a pipelined loop are not pipelined: each invocation pays the fill (depth) again,
 * plus 1 cycle per outer iteration for its own work (gather's id check).
 * The integer square root (fixq_isqrt64) is a plain loop of at most 32 steps at 2 cycles each:
 * 64 cycles per layernorm row. Per layer and sample:
 *   mul        n − 1 + 7
 *   table      n − 1 + 4
 *   softmax    per row of L: (L − 2 + 4) + (L − 1 + 4) + (L − 1 + 4 + 3 + 64)
 *   layernorm  per row of C: (C − 1 + 4) + (C − 1 + 7) + 64 + (C − 1 + 4 + 3 + 64)
 *   addconst   per block of m: m − 1 + 7
 *   gather     per id: 1 + (width − 1 + 2)
 *   slice      per outer index: w − 1 + 2   (w = the elements kept per outer index)
 * The innermost loops' trips per sample are reported too (`trips`).
 */
import type { MatMulOp, Program } from "../../integer/program.js";
import type { TransformerOp } from "../shared/transformer-c.js";

/** The transformer layers of the loop model (the matmul is a reuse-factor layer). */
export type LoopedOp = Exclude<TransformerOp, MatMulOp>;

export const COPY_DEPTH = 2;
export const ELEMENT_DEPTH = 4;
export const MUL_LATENCY = 3;
/** Stages of the pipelined divider the code's int64_t divisions need. */
export const DIV_LATENCY = 64;
/** Cycles of fixq_isqrt64: at most 32 steps, 2 cycles each. */
export const ISQRT_CYCLES = 64;

/** A pipelined innermost loop run `times` per sample: `trips` iterations at II `ii`, each `depth` cycles long. */
export interface PipelinedLoop {
  readonly times: number;
  readonly trips: number;
  readonly ii: number;
  readonly depth: number;
}

export interface TransformerTiming {
  readonly loops: readonly PipelinedLoop[];
  /** Cycles outside the pipelined loops (outer-loop work, the square root), per sample. */
  readonly extra: number;
  /** Innermost iterations per sample. */
  readonly trips: number;
  /** The deepest loop's depth (the report's `depth`). */
  readonly depth: number;
  readonly cycles: number;
}

const loop = (times: number, trips: number, depth: number): PipelinedLoop => ({ times, trips, ii: 1, depth });

export function transformerTiming(p: Program, op: LoopedOp): TransformerTiming {
  const shape = (v: string) => p.values.get(v)!.shape;
  const size = (v: string) => shape(v).reduce((a, b) => a * b, 1);
  let loops: PipelinedLoop[];
  let extra = 0;
  switch (op.kind) {
    case "mul":
      loops = [loop(1, size(op.output), ELEMENT_DEPTH + MUL_LATENCY)];
      break;
    case "table":
      loops = [loop(1, size(op.output), ELEMENT_DEPTH)];
      break;
    case "softmax": {
      const L = shape(op.input).at(-1)!;
      const rows = size(op.input) / L;
      loops = [loop(rows, L - 1, ELEMENT_DEPTH), loop(rows, L, ELEMENT_DEPTH), loop(rows, L, ELEMENT_DEPTH + MUL_LATENCY + DIV_LATENCY)];
      break;
    }
    case "layernorm": {
      const C = shape(op.input).at(-1)!;
      const rows = size(op.input) / C;
      // RMSNorm has no Σx loop (s = C·z_x)
      loops = [...(op.rmsZero === undefined ? [loop(rows, C, ELEMENT_DEPTH)] : []), loop(rows, C, ELEMENT_DEPTH + MUL_LATENCY), loop(rows, C, ELEMENT_DEPTH + MUL_LATENCY + DIV_LATENCY)];
      extra = rows * ISQRT_CYCLES;
      break;
    }
    case "addconst": {
      const m = op.offset.length;
      loops = [loop(size(op.output) / m, m, ELEMENT_DEPTH + MUL_LATENCY)];
      break;
    }
    case "gather": {
      const ids = size(op.input);
      loops = [loop(ids, op.width, COPY_DEPTH)];
      extra = ids; // each id's read and range check
      break;
    }
    case "slice": {
      const s = shape(op.input);
      const outer = s.slice(0, op.axis).reduce((a, b) => a * b, 1);
      loops = [loop(outer, size(op.output) / outer, COPY_DEPTH)];
      break;
    }
  }
  const live = loops.filter((l) => l.times > 0 && l.trips > 0);
  return {
    loops: live,
    extra,
    trips: live.reduce((s, l) => s + l.times * l.trips, 0),
    depth: Math.max(...live.map((l) => l.depth)),
    cycles: live.reduce((s, l) => s + l.times * ((l.trips - 1) * l.ii + l.depth), 0) + extra,
  };
}
