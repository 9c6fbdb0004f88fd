/**
 * `fixq compile MODEL --target c -o DIR [--prefix NAME]`: an integer Program
 * → a C99 library and harness, as relative path → file text:
 *   model.h      the API: NAME_run (float in → quantize → integer program →
 *                dequantize → float out), NAME_run_int (quantized in → raw
 *                integer out), NAME_run_full (both outputs), and per input and
 *                output its shape, size, scale, zero point and C type as #defines
 *   model.c      the program: one static function per op, printed from numerics'
 *                definitions (shared/print-c.ts), weights as const arrays, every
 *                value in statically planned arrays (buffers.ts), no allocation
 *   model_run.c  the harness (harness.ts);  Makefile;  README.txt
 * Every exported symbol and macro carries the prefix (default "fixq"), so two
 * models with different prefixes link into one program. One call runs one
 * sample; the static buffers make the library non-reentrant.
 */
import { type IntOp, type IntOpKind, integerOutputs, isWideValue, opInputs, type Program, sampleSize } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import { roundHalfEvenDef } from "../../numerics/definitions.js";
import { type CheckOptions, checkWith, type Diagnostic, type IntegerBackend, type OpOf, refuseDiagnostics } from "../contract.js";
import { NUMERICS_CHECKS } from "../shared/numerics-checks.js";
import { C_RUNTIME, cComment, cDouble, printCFunction } from "../shared/print-c.js";
import { batchHeader, batchParts } from "./batch-api.js";
import { planBuffers } from "./buffers.js";
import { C_RUNTIME32 } from "./print-c32.js";
import { type CType, cType } from "./c-types.js";
import { harnessText, makefileText, readmeText } from "./harness.js";
import type { CEmitCtx, COpCode, COpEmitter } from "./op-code.js";
import { emitConv, emitDense, emitMaxPool, emitSumPool } from "./ops-accumulate.js";
import { emitConcat, emitDequantize, emitQuantize, emitReshape, emitTranspose } from "./ops-io.js";
import { emitRemap } from "./ops-remap.js";
import { emitRequant, emitRescale } from "./ops-requant.js";
import { emitFixedRescale } from "./ops-fixed.js";
import { emitWideConv, emitWideDense } from "./ops-wide.js";
import { C_CHECKS } from "./checks.js";
import { emitTransformerOp } from "./ops-transformer.js";
import { isTransformerOp, TRANSFORMER_RUNTIME } from "../shared/transformer-c.js";
import { composeCpuPaths, DISPATCH_CONFIG } from "./cpu-dispatch.js";
import { laneRequantParts } from "./requant-avx2.js";
import { apiFunctions, type CApiFunction, type CCode, type CParts, cSignature, joinParts } from "./c-parts.js";
import { GEMM_S16_CODE, LANE_HELPERS_CODE, QUANTIZE_LANES_CODE, TILE_DOT_CODE, TILE_DOT_U8_CODE, TRANSPOSE16_CODE } from "./kernels.js";

export interface EmitCOptions {
  /** Prefix of every exported symbol and macro (a C identifier; default "fixq"). */
  readonly prefix?: string;
  /** Name shown in the header comments and README (default "model"). */
  readonly modelName?: string;
  /** Certified value ranges for the check (computed when needed and absent). */
  readonly ranges?: CheckOptions["ranges"];
}

const C_BACKEND = "c";
/** The files emitC writes, relative to the output folder. */
export const C_FILES = ["model.h", "model.c", "model_run.c", "Makefile", "README.txt"] as const;

const EMITTERS = {
  quantize: emitQuantize,
  dequantize: emitDequantize,
  // layers whose certified accumulator leaves int32 take the int64 kernels of ops-wide.ts; the rest are untouched
  conv: (op, ctx) => (isWideValue(ctx.value(op.output)) ? emitWideConv(op, ctx) : emitConv(op, ctx)),
  dense: (op, ctx) => (isWideValue(ctx.value(op.output)) ? emitWideDense(op, ctx) : emitDense(op, ctx)),
  sumpool: emitSumPool,
  maxpool: emitMaxPool,
  requant: emitRequant,
  rescale: emitRescale,
  fixedrescale: emitFixedRescale,
  reshape: emitReshape,
  transpose: emitTranspose,
  concat: emitConcat,
  matmul: emitTransformerOp,
  mul: emitTransformerOp,
  table: emitTransformerOp,
  softmax: emitTransformerOp,
  layernorm: emitTransformerOp,
  addconst: emitTransformerOp,
  gather: emitTransformerOp,
  slice: emitTransformerOp,
  remap: emitRemap,
} satisfies { readonly [K in IntOpKind]: COpEmitter<OpOf<K>> };

/** Why each op the generated C cannot run is refused: numerics' domain, and tables that do not cover their input (checks.ts). */
export function checkC(p: Program, opts?: CheckOptions): Diagnostic[] {
  return checkWith(p, [NUMERICS_CHECKS, C_CHECKS], opts);
}

/** Throws a usage error unless `prefix` is a C identifier. */
export function checkPrefix(prefix: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) throw new FixqError("usage", `--prefix expects a C identifier (letters, digits, _; not starting with a digit), got '${prefix}'`);
}

/** What the API text needs to know about one input or output. */
export interface Port {
  readonly name: string;
  readonly shape: readonly number[];
  readonly size: number;
  readonly scale: number;
  readonly zeroPoint: number;
  /** The integer value behind it (quantize output, dequantize input) and its C type. */
  readonly value: string;
  readonly type: CType;
}

export function ports(p: Program): { ins: Port[]; outs: Port[] } {
  const ins = p.inputs.map((io) => {
    const q = p.ops.find((op) => op.kind === "quantize" && op.input === io.name);
    if (q?.kind !== "quantize") throw new Error(`program input '${io.name}' has no quantize op`);
    return { name: io.name, shape: io.shape, size: sampleSize(io.shape), scale: Math.fround(q.scale), zeroPoint: q.zeroPoint, value: q.output, type: cType(p.values.get(q.output)!.type) };
  });
  const ints = integerOutputs(p);
  const outs = p.outputs.map((io, k) => {
    const dq = p.ops.find((op) => op.kind === "dequantize" && op.output === io.name);
    if (dq?.kind !== "dequantize") throw new Error(`program output '${io.name}' has no dequantize op`);
    return { name: io.name, shape: io.shape, size: sampleSize(io.shape), scale: Math.fround(dq.scale), zeroPoint: dq.zeroPoint, value: ints[k]!, type: cType(p.values.get(ints[k]!)!.type) };
  });
  return { ins, outs };
}

function headerText(p: Program, prefix: string, model: string, io: { ins: Port[]; outs: Port[] }): string {
  const P = prefix.toUpperCase();
  const guard = `${P}_MODEL_H`;
  const port = (k: number, x: Port, kind: "IN" | "OUT") => {
    const M = `${P}_${kind}${k}`;
    return [
      `/* ${kind === "IN" ? "input" : "output"} ${k}: '${cComment(x.name)}' */`,
      `#define ${M}_NAME "${x.name.replace(/[\\"\u0000-\u001f\u007f-\uffff]/g, "_")}"`,
      `#define ${M}_RANK ${x.shape.length}`,
      `#define ${M}_SHAPE {${x.shape.join(", ")}}`,
      `#define ${M}_SIZE ${x.size}`,
      `#define ${M}_SCALE ${cDouble(x.scale)}f`,
      `#define ${M}_ZERO_POINT ${x.zeroPoint}`,
      `typedef ${x.type} ${prefix}_${kind.toLowerCase()}${k}_t;`,
    ].join("\n");
  };
  const api = apiFunctions(prefix, io);
  const decl = (f: CApiFunction) => `${cSignature(f)};`;
  return `/* ${cComment(model)}: integer-only model generated by fixq (compile --target c). Do not edit.
 * ${p.ops.length} integer ops, ${p.rounding} rounding requantization. C99; one call runs one sample.
 * Not reentrant: the activations live in static arrays. Returns ${P}_OK, or ${P}_ERANGE where an
 * integer input lies beyond what the program's arithmetic accepts (numerics refuses it too), or ${P}_EINDEX where
 * an id lies outside its embedding table (gather; the emulator refuses it too). */
#ifndef ${guard}
#define ${guard}

#include <stdint.h>

#define ${P}_OK 0
#define ${P}_ERANGE 1
#define ${P}_EINDEX 2
#define ${P}_NUM_INPUTS ${io.ins.length}
#define ${P}_NUM_OUTPUTS ${io.outs.length}

${io.ins.map((x, k) => port(k, x, "IN")).join("\n\n")}

${io.outs.map((x, k) => port(k, x, "OUT")).join("\n\n")}

#ifdef __cplusplus
extern "C" {
#endif

/* Float inputs (per-sample shapes above, row-major) -> QuantizeLinear -> integer program -> DequantizeLinear -> float outputs. */
${decl(api.run)}

/* The integer program alone: quantized inputs -> the raw integer outputs (before DequantizeLinear). */
${decl(api.runInt)}

/* The input quantization alone (QuantizeLinear) and the output dequantization alone (DequantizeLinear). */
${decl(api.quantize)}
${decl(api.dequantize)}

/* The CPU path the calls take: "avx2 (dispatched)", "baseline (dispatched)" (FIXQ_CPU=portable, or no AVX2),
 * "avx2 (compiled)" or "baseline (compiled)" (a build without run-time dispatch: -march=..., -DFIXQ_PORTABLE, ...). */
${decl(api.cpu)}

/* ${prefix}_run, also writing the raw integer outputs (any of them may be NULL). */
${decl(api.runFull)}

${batchHeader(prefix, io)}
#ifdef __cplusplus
}
#endif

#endif
`;
}

/**
 * model.c's one-sample part: the activation arrays and the ops' constants
 * (data), the kernels the ops call, the op functions, fixq_forward and the
 * one-sample API (code). `batch`: the batch part's kernel needs.
 */
function oneSampleParts(p: Program, prefix: string, io: { ins: Port[]; outs: Port[] }, batch: { usesDot: boolean; usesDotU8: boolean }): CParts {
  const ctx = (index: number): CEmitCtx => ({
    program: p,
    index,
    value(name) {
      const v = p.values.get(name);
      if (!v) throw new Error(`op ${index} (${p.ops[index]!.kind} ${p.ops[index]!.source}) uses '${name}', which has no entry in program.values`);
      return v;
    },
  });
  const codes: COpCode[] = p.ops.map((op, index) => (EMITTERS[op.kind] as COpEmitter<IntOp>)(op, ctx(index)));
  const plan = planBuffers(p);
  const at = (v: string) => {
    const pl = plan.place.get(v);
    if (!pl) throw new Error(`value '${v}' has no buffer`);
    return `(fixq_pool_${pl.pool} + ${pl.offset})`;
  };
  const scratch = new Map<string, number>();
  for (const c of codes) for (const [t, n] of Object.entries(c.scratch ?? {})) scratch.set(t, Math.max(scratch.get(t) ?? 0, n));
  const pools = [...plan.poolSize].filter(([, n]) => n > 0).map(([t, n]) => `static ${t} fixq_pool_${t}[${n}];`);
  const scratches = [...scratch].map(([key, n]) => {
    const [kind, t] = key.includes(":") ? key.split(":") : ["scratch", key];
    return `static ${t} fixq_${kind}_${t}[${n}];`;
  });
  const call = (i: number, args: string[]) => `  if ((st = ${codes[i]!.name}(${args.join(", ")})) != 0) return st;`;
  const forward: string[] = [];
  const quantizes: string[] = [];
  const dequantizes: string[] = [];
  p.ops.forEach((op, i) => {
    if (op.kind === "quantize") quantizes.push(call(i, [`in${io.ins.findIndex((x) => x.name === op.input)}`, at(op.output)]));
    else if (op.kind === "dequantize") dequantizes.push(call(i, [at(op.input), `out${io.outs.findIndex((x) => x.name === op.output)}`]));
    else forward.push(call(i, [...opInputs(op).map(at), at(op.output)]));
  });
  const api = apiFunctions(prefix, io);
  const copyOut = (dst: (k: number) => string, guard: boolean) =>
    io.outs.map((x, k) => `  ${guard ? `if (${dst(k)}) ` : ""}memcpy(${dst(k)}, ${at(x.value)}, ${x.size} * sizeof(${x.type}));`);
  // the requant lane helpers serve every requant with a lane form (its constants and loops: requant-avx2.ts)
  const lanes = p.ops.some((op, i) => op.kind === "requant" && laneRequantParts(op, ctx(i)) !== undefined);
  const uses = (k: string) => codes.some((c) => c.uses?.includes(k));
  const kernels = [...(uses("gemm_s16") ? [GEMM_S16_CODE] : []), ...(batch.usesDot || uses("tile_dot") ? [TILE_DOT_CODE] : []), ...(batch.usesDotU8 || uses("tile_dot_u8") ? [TILE_DOT_U8_CODE] : []), QUANTIZE_LANES_CODE, TRANSPOSE16_CODE, ...(lanes ? [LANE_HELPERS_CODE] : [])];
  const define = (f: CApiFunction, body: string[]): CCode => ({ text: `FIXQ_API ${cSignature(f)} {\n${body.filter((l) => l !== "").join("\n")}\n}`, functions: [f.name] });
  const runFull = define(api.runFull, ["  int st;", ...quantizes, "  if ((st = fixq_forward()) != 0) return st;", ...dequantizes, ...copyOut((k) => `out${k}_int`, true), "  return 0;"]);
  const quantize = define(api.quantize, ["  int st;", ...quantizes, ...io.ins.map((x, k) => `  memcpy(q${k}, ${at(x.value)}, ${x.size} * sizeof(${x.type}));`), "  return 0;"]);
  const dequantize = define(api.dequantize, ["  int st;", ...io.outs.map((x, k) => `  memcpy(${at(x.value)}, q${k}, ${x.size} * sizeof(${x.type}));`), ...dequantizes, "  return 0;"]);
  const run = define(api.run, [`  return ${api.runFull.name}(${[...io.ins.map((_, k) => `in${k}`), ...io.outs.map((_, k) => `out${k}`), ...io.outs.map(() => "NULL")].join(", ")});`]);
  const runInt = define(api.runInt, ["  int st;", ...io.ins.map((x, k) => `  memcpy(${at(x.value)}, in${k}, ${x.size} * sizeof(${x.type}));`), "  if ((st = fixq_forward()) != 0) return st;", ...copyOut((k) => `out${k}`, false), "  return 0;"]);
  return {
    data: [`/* Activations of one sample, statically planned (values whose lives do not overlap share elements). */\n${[...pools, ...scratches].join("\n")}`, ...codes.flatMap((c) => (c.decls ? [c.decls] : []))],
    code: [
      ...kernels,
      ...codes.map((c) => ({ text: c.text, functions: [c.name] })),
      {
        text: `/* Every op between the quantized inputs and the raw integer outputs, in program order. */
static int fixq_forward(void) {
${forward.length > 0 ? `  int st;\n${forward.join("\n")}\n` : ""}  return 0;
}`,
        functions: ["fixq_forward"],
      },
      runFull,
      quantize,
      dequantize,
      run,
      runInt,
    ],
  };
}

function sourceText(p: Program, prefix: string, model: string, io: { ins: Port[]; outs: Port[] }): string {
  const transformer = p.ops.some(isTransformerOp);
  const batch = batchParts(p, prefix, io);
  const api = apiFunctions(prefix, io);
  const body = composeCpuPaths(joinParts(oneSampleParts(p, prefix, io, batch), batch.parts), [api.run, api.runInt, api.quantize, api.dequantize, api.runFull, api.runBatch, api.runBatchInt, api.runBatchFull], api.cpu);
  return `/* ${cComment(model)}: integer-only model generated by fixq (compile --target c). Do not edit.
 * Arithmetic (all integers between the input quantize and the output dequantize; rshr(x, s) = floor((x + 2^(s-1)) / 2^s)):
 *   quantize:   q = clamp(roundHalfEven(float32(x / scale)) + zeroPoint, qmin, qmax)   (ONNX QuantizeLinear)
 *   conv/dense: acc = bias[c] + sum (x - inputZero) * w                               (exact int32)
 *   sumpool:    acc = sum over the window of (x - inputZero)
 *   requant:    y = clamp(R(acc, m[c] * 2^-s[c]) + outZero, lo, hi), R = rshr(acc * m, s) or gemmlowp double rounding
 *   rescale:    y = clamp(outZero + rshr(sum_i (x_i - z_i) * m_i, shift), lo, hi)
 *   maxpool:    max over the window, padding ignored; reshape, transpose, concat: data movement
 *   remap:      y[i_0, ...] = x[sum_a R_a[i_a]], a gather at compile-time indices (nearest Resize, ConvTranspose phases)
 *   dequantize: y = float32(float32(q - zeroPoint) * scale)                          (ONNX DequantizeLinear)
 * Compile with -std=c99 -ffp-contract=off (the Makefile does): the float boundary relies on IEEE double
 * arithmetic without fused multiply-add. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "model.h"

/* Clang (unlike gcc) warns about unused static inline functions in a .c file: numerics' runtime prints them all. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wunused-function"
#endif

${DISPATCH_CONFIG}

${C_RUNTIME}

${C_RUNTIME32}
${transformer ? `\n${TRANSFORMER_RUNTIME}\n` : ""}
/* An int32 from its two's-complement bits, without an implementation-defined conversion. */
static inline int32_t fixq_u32_to_i32(uint32_t v) { return v <= 0x7fffffffu ? (int32_t)v : (int32_t)(v - 0x80000000u) + INT32_MIN; }

/* Nearest integer, ties to even (ONNX QuantizeLinear); printed from numerics' definition. */
${printCFunction(roundHalfEvenDef)}

${body}`;
}

/** The generated files (relative path → text); refuses what `checkC` reports. */
export function emitC(p: Program, opts: EmitCOptions = {}): Map<string, string> {
  refuseDiagnostics(C_BACKEND, checkC(p, opts));
  const prefix = opts.prefix ?? "fixq";
  checkPrefix(prefix);
  const model = opts.modelName ?? "model";
  const io = ports(p);
  return new Map([
    ["model.h", headerText(p, prefix, model, io)],
    ["model.c", sourceText(p, prefix, model, io)],
    ["model_run.c", harnessText(prefix, io, { program: "model_run", header: "model.h", batch: true })],
    ["Makefile", makefileText()],
    ["README.txt", readmeText(prefix, model, io)],
  ]);
}

/** The C back end under the common contract: relative path → file text. */
export const cBackend: IntegerBackend<EmitCOptions, Map<string, string>> = {
  name: C_BACKEND,
  check: checkC,
  emit: emitC,
};
