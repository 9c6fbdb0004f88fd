/**
 * The batch functions of the generated C: NAME_run_batch, NAME_run_batch_int
 * and NAME_run_batch_full run n samples, 16 at a time (TILE, batch-tile.ts),
 * through the same integer program as NAME_run, giving the same bits:
 *   in  : each input's n samples back to back (sample-major, as n calls of NAME_run would read them)
 *   out : each output's n samples back to back
 * Inside, values live in the batch layout (element i of sample b at i·16 + b)
 * in their own statically planned arrays, 16 times the one-sample plan
 * (buffers.ts) minus the int32 tensors of the convs and dense layers whose
 * requant is fused into them. A last tile of nb < 16 samples runs 16 lanes
 * (the unused ones copy sample 0) and reads back nb. With -DFIXQ_THREADS=N
 * the tiles are shared among N threads (batch-threads.ts).
 */
import type { ConvOp, DenseOp, IntOp, IntOpKind, Program, RequantOp } from "../../integer/program.js";
import { integerOutputs, isWideValue, opInputs } from "../../integer/program.js";
import type { OpOf } from "../contract.js";
import { emitTileAccumulate, emitTileDequantize, emitTileQuantize, fusable } from "./batch-tile.js";
import { threadedBatchFunction, threadsPrelude } from "./batch-threads.js";
import { apiFunctions, type CParts, cSignature } from "./c-parts.js";
import { planBuffers } from "./buffers.js";
import type { Port } from "./emit.js";
import type { CEmitCtx, COpCode, COpEmitter } from "./op-code.js";
import { emitMaxPool, emitSumPool } from "./ops-accumulate.js";
import { emitFixedRescale } from "./ops-fixed.js";
import { emitWideTileAccumulate } from "./ops-wide.js";
import { emitConcat, emitReshape, emitTranspose } from "./ops-io.js";
import { emitRemap } from "./ops-remap.js";
import { emitRequant, emitRescale } from "./ops-requant.js";
import { emitTileConv, takesTileConv } from "./tile-conv.js";
import { emitTileDepthwise, isDepthwise } from "./tile-depthwise.js";
import { TILE } from "./tile-kernel.js";
import { emitTileTransformer } from "./tile-transformer.js";
import { isTransformerOp } from "../shared/transformer-c.js";

/** Transformer ops: tile-transformer.ts. */
type Transformer = "matmul" | "mul" | "table" | "softmax" | "layernorm" | "addconst" | "gather" | "slice";
type Lane = Exclude<IntOpKind, "quantize" | "dequantize" | "conv" | "dense" | Transformer>;
/** The ops whose one-sample emitter also prints the batch function (its `lanes` = TILE). */
const LANE_EMITTERS = {
  sumpool: emitSumPool,
  maxpool: emitMaxPool,
  requant: emitRequant,
  rescale: emitRescale,
  fixedrescale: emitFixedRescale,
  reshape: emitReshape,
  transpose: emitTranspose,
  concat: emitConcat,
  remap: emitRemap,
} satisfies {
  readonly [K in Lane]: COpEmitter<OpOf<K>>;
};

interface Step {
  readonly op: IntOp;
  readonly index: number;
  /** The requant run as this conv/dense op's epilogue. */
  readonly fused?: RequantOp;
}

/** The program's ops, each conv/dense whose only reader is a requant it can run as its epilogue merged with it. */
function steps(p: Program, ctx: (index: number) => CEmitCtx): Step[] {
  const readers = new Map<string, number>();
  for (const op of p.ops) for (const v of op.kind === "quantize" ? [] : opInputs(op)) readers.set(v, (readers.get(v) ?? 0) + 1);
  const outs = new Set(integerOutputs(p));
  const out: Step[] = [];
  for (let i = 0; i < p.ops.length; i++) {
    const op = p.ops[i]!;
    const next = p.ops[i + 1];
    if ((op.kind === "conv" || op.kind === "dense") && next?.kind === "requant" && next.input === op.output && readers.get(op.output) === 1 && !outs.has(op.output) && fusable(op, next, ctx(i))) {
      out.push({ op, index: i, fused: next });
      i++;
    } else out.push({ op, index: i });
  }
  return out;
}

/** The batch part of model.c: kernels' scratch, arrays and constants (data); op functions and the three API functions (code). */
export function batchParts(p: Program, prefix: string, io: { ins: readonly Port[]; outs: readonly Port[] }): { parts: CParts; usesDot: boolean; usesDotU8: boolean } {
  const ctx = (index: number): CEmitCtx => ({
    program: p,
    index,
    lanes: TILE,
    value(name) {
      const v = p.values.get(name);
      if (!v) throw new Error(`op ${index} uses '${name}', which has no entry in program.values`);
      return v;
    },
  });
  const list = steps(p, ctx);
  const codes: COpCode[] = list.map(({ op, index, fused }) => {
    if (op.kind === "quantize") return emitTileQuantize(op, ctx(index));
    if (op.kind === "dequantize") return emitTileDequantize(op, ctx(index));
    // an int64 accumulator (program.ts ACC64) takes ops-wide.ts's lane loop; the others the int32 tile kernels
    if ((op.kind === "conv" || op.kind === "dense") && isWideValue(p.values.get(op.output))) return emitWideTileAccumulate(op, ctx(index), TILE);
    // convs: depthwise (tile-depthwise.ts), group 1 read in place (tile-conv.ts), else the gather kernel
    if (op.kind === "conv" && isDepthwise(op, ctx(index))) return emitTileDepthwise(op, ctx(index), fused);
    if (op.kind === "conv" && takesTileConv(op, ctx(index))) return emitTileConv(op, ctx(index), fused);
    if (op.kind === "conv" || op.kind === "dense") return emitTileAccumulate(op as ConvOp | DenseOp, ctx(index), fused);
    if (isTransformerOp(op)) return emitTileTransformer(op, ctx(index));
    const { decls: _, ...code } = (LANE_EMITTERS[op.kind as Lane] as COpEmitter<IntOp>)(op, ctx(index)); // arrays: printed once, by the one-sample op
    return code;
  });
  // the plan over the merged ops: a fused pair writes the requant's output
  const merged = list.map(({ op, fused }) => (fused ? { ...op, output: fused.output } : op)) as IntOp[];
  const plan = planBuffers({ ...p, ops: merged });
  const at = (v: string) => {
    const pl = plan.place.get(v);
    if (!pl) throw new Error(`value '${v}' has no buffer`);
    return `(fixq_tpool_${pl.pool} + ${pl.offset * TILE})`;
  };
  const scratch = new Map<string, number>();
  for (const c of codes) for (const [t, n] of Object.entries(c.scratch ?? {})) scratch.set(t, Math.max(scratch.get(t) ?? 0, n));
  // thread-local under -DFIXQ_THREADS (batch-threads.ts): each thread's tiles have their own
  const sizeOf = (t: string) => Number(/(\d+)_t$/.exec(t)?.[1] ?? 32) / 8;
  let tlsBytes = 0;
  const arrays = [
    ...[...plan.poolSize].filter(([, n]) => n > 0).map(([t, n]) => {
      tlsBytes += n * TILE * sizeOf(t);
      return `static FIXQ_TLS ${t} fixq_tpool_${t}[${n * TILE}];`;
    }),
    ...[...scratch].map(([key, n]) => {
      const [kind, t] = key.split(":");
      tlsBytes += n * sizeOf(t!);
      return `static FIXQ_TLS ${t} fixq_${kind}_${t}[${n}];`;
    }),
  ];
  const call = (c: COpCode, args: string[]) => `  if ((st = ${c.name}(${args.join(", ")})) != 0) return st;`;
  const forward: string[] = [];
  const quantizes: string[] = [];
  const dequantizes: string[] = [];
  list.forEach(({ op }, k) => {
    const c = codes[k]!;
    const output = merged[k]!.output;
    if (op.kind === "quantize") {
      const j = io.ins.findIndex((x) => x.name === op.input);
      quantizes.push(`    if ((st = ${c.name}(in${j} + s * ${io.ins[j]!.size}, ${at(op.output)}, nb)) != 0) return st;`);
    } else if (op.kind === "dequantize") {
      const j = io.outs.findIndex((x) => x.name === op.output);
      dequantizes.push(`    if ((st = ${c.name}(${at(op.input)}, out${j} + s * ${io.outs[j]!.size}, nb)) != 0) return st;`);
    } else forward.push(call(c, [...opInputs(op).map(at), at(output)]));
  });
  /** Copies between sample-major arrays `ext` and the batch layout at `lay` (nb samples from sample s). */
  const move = (x: Port, ext: string, lay: string, dir: "in" | "out") =>
    dir === "in"
      ? `    for (int i = 0; i < ${x.size}; i++)\n      for (int b = 0; b < ${TILE}; b++) ${lay}[i * ${TILE} + b] = ${ext}[(s + (b < nb ? b : 0)) * ${x.size} + i];`
      : `    for (int b = 0; b < nb; b++)\n      for (int i = 0; i < ${x.size}; i++) ${ext}[(s + b) * ${x.size} + i] = ${lay}[i * ${TILE} + b];`;
  const api = apiFunctions(prefix, io);
  const fullBody = [...quantizes, "    if ((st = fixq_tile_forward()) != 0) return st;", ...dequantizes, ...io.outs.map((x, k) => `    if (out${k}_int) {\n${move(x, `out${k}_int`, at(x.value), "out")}\n    }`)];
  const intBody = [...io.ins.map((x, k) => move(x, `in${k}`, at(x.value), "in")), "    if ((st = fixq_tile_forward()) != 0) return st;", ...io.outs.map((x, k) => move(x, `out${k}`, at(x.value), "out"))];
  const threads = threadsPrelude(tlsBytes);
  const full = threadedBatchFunction(api.runBatchFull, "full", fullBody.join("\n"), TILE);
  const int = threadedBatchFunction(api.runBatchInt, "int", intBody.join("\n"), TILE);
  const forwardText = `static int fixq_tile_forward(void) {
${forward.length > 0 ? `  int st;\n${forward.join("\n")}\n` : ""}  return 0;
}`;
  const runBatch = `FIXQ_API ${cSignature(api.runBatch)} {
  return ${api.runBatchFull.name}(${[...io.ins.map((_, k) => `in${k}`), ...io.outs.map((_, k) => `out${k}`), ...io.outs.map(() => "NULL"), "n"].join(", ")});
}`;
  const parts: CParts = {
    data: [threads.data, `/* The batch functions' activations: ${TILE} samples at a time, element i of sample b at i * ${TILE} + b. */\n${arrays.join("\n")}`, ...codes.flatMap((c) => (c.decls ? [c.decls] : [])), full.data, int.data],
    code: [
      { text: `/* The batch functions: ${TILE} samples at a time, element i of sample b at i * ${TILE} + b. */\n${threads.code.text}`, functions: threads.code.functions },
      ...codes.map((c) => ({ text: c.text, functions: [c.name] })),
      { text: forwardText, functions: ["fixq_tile_forward"] },
      full.code,
      { text: runBatch, functions: [api.runBatch.name] },
      int.code,
    ],
  };
  return { parts, usesDot: codes.some((c) => c.uses?.includes("tile_dot")), usesDotU8: codes.some((c) => c.uses?.includes("tile_dot_u8")) };
}

/** The batch API's declarations for model.h. */
export function batchHeader(prefix: string, io: { ins: readonly Port[]; outs: readonly Port[] }): string {
  const api = apiFunctions(prefix, io);
  return `/* n samples in one call (the same bits as n calls of the one-sample functions, faster: ${TILE} samples share each
 * weight load). Each input array holds its n samples back to back, each output array receives them so
 * (in0 + k * ${prefix.toUpperCase()}_IN0_SIZE is sample k). Returns at the first tile of ${TILE} that fails. */
${[api.runBatch, api.runBatchInt, api.runBatchFull].map((f) => `${cSignature(f)};`).join("\n")}
`;
}
