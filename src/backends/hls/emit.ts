/**
 * `fixq compile MODEL --target hls -o DIR`: an integer Program → a Vitis
 * HLS-style C++ project, as relative path → file text:
 *   firmware/fixq_top.h, .cpp   the top function NAME_top (top.ts), parallel
 *                               (array ports) or stream (hls::stream, DATAFLOW)
 *   firmware/fixq_defines.h     per-layer typedefs (design.ts): layer<i>_acc_t
 *                               exactly the certified accumulator width …
 *   firmware/fixq_layers.h      one function per layer: conv/dense in hls4ml's
 *                               reuse-factor style (mac-layer.ts), the activation
 *                               matmul likewise (matmul-layer.ts), requant and
 *                               the rest (ops-data.ts), weights as const arrays
 *   tb/model.h, model.c         the C back end's code, for the host-side float
 *                               boundary (QuantizeLinear, DequantizeLinear)
 *   tb/csim_run.cpp             the testbench: the C harness (same arguments as
 *                               model_run) calling quantize → NAME_top → dequantize
 *   tb/csim_check.cpp           the self-check against outputs stored at compile time
 *   ap_types/ap_int.h, ap_fixed.h, hls_stream.h   fixq's minimal headers
 *   Makefile (make csim_run), build.tcl (Vitis HLS; build-tcl.ts), README.txt
 * Types are ap_int/ap_uint (default) or plain stdint (`--hls-types stdint`).
 */
import { type Certificate, certifyProgram } from "../../integer/certify.js";
import type { Program } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import { checkPrefix, emitC, type EmitCOptions } from "../c/emit.js";
import { harnessText } from "../c/harness.js";
import { C_RUNTIME } from "../shared/print-c.js";
import { AP_FIXED_H, AP_INT_H, HLS_STREAM_H } from "./ap-types.js";
import { buildTclText } from "./build-tcl.js";
import { planDesign } from "./design.js";
import { HLS_TYPES, type HlsTypes, readInt, writeInt } from "./hls-types.js";
import { macLayer } from "./mac-layer.js";
import { matmulLayer } from "./matmul-layer.js";
import { moveLayer, poolLayer, requantLayer, rescaleLayer } from "./ops-data.js";
import { checkPartName } from "./part-name.js";
import { fixedRescaleLayer } from "./ops-fixed.js";
import { checkTransformerStream, transformerLayer } from "./ops-transformer.js";
import { isTransformerOp, TRANSFORMER_RUNTIME } from "../shared/transformer-c.js";
import { estimateResources, type LayerResources, type ReuseRequest } from "./resources.js";
import { selfCheckText } from "./self-check.js";
import { HLS_IO, type HlsIo, type HlsPort, hlsPorts, streamLoop, topHeader, topSource } from "./top.js";

export { apIntType } from "./hls-types.js";

export interface EmitHlsOptions extends EmitCOptions {
  /** FPGA part written into build.tcl. */
  readonly part?: string;
  /** Clock period in ns written into build.tcl. */
  readonly clockNs?: number;
  /** The certificate (computed when absent). */
  readonly cert?: Certificate;
  /** Reuse factors (every layer and/or per layer); default: per layer the least that fits the partition limit. */
  readonly reuse?: ReuseRequest;
  /** The layer plan, when the caller already made it with estimateResources (the same as `reuse` gives). */
  readonly layers?: readonly LayerResources[];
  /** parallel (array ports; default) or stream (hls::stream ports, DATAFLOW). */
  readonly io?: HlsIo;
  /** ap (ap_int/ap_uint; default) or stdint. */
  readonly types?: HlsTypes;
}

export const HLS_DEFAULT_PART = "xcvu9p-flga2104-2-e";
export const HLS_DEFAULT_CLOCK_NS = 5;

/** The files emitHls writes, relative to the output folder. */
export const HLS_FILES = [
  "firmware/fixq_top.h",
  "firmware/fixq_top.cpp",
  "firmware/fixq_defines.h",
  "firmware/fixq_layers.h",
  "tb/model.h",
  "tb/model.c",
  "tb/csim_run.cpp",
  "tb/csim_shim.h",
  "tb/csim_check.cpp",
  "ap_types/ap_int.h",
  "ap_types/ap_fixed.h",
  "ap_types/hls_stream.h",
  "Makefile",
  "build.tcl",
  "README.txt",
] as const;

/** The testbench's API: the C harness's run_full / run_int, implemented over the top function. */
function shimText(prefix: string, io: { ins: HlsPort[]; outs: HlsPort[] }, style: HlsIo, mode: HlsTypes, shapeOf: (value: string) => readonly number[]): string {
  const T = `${prefix}_tb`;
  const fin = io.ins.map((_, k) => `const float *in${k}`);
  const fout = io.outs.map((_, k) => `float *out${k}`);
  const iin = io.ins.map((_, k) => `const ${T}_in${k}_t *in${k}`);
  const iout = io.outs.map((_, k) => `${T}_out${k}_t *out${k}`);
  const ioutFull = io.outs.map((_, k) => `${T}_out${k}_t *out${k}_int`);
  const portIn = (k: number) => `${prefix}_hls_in${k}_t`;
  const portOut = (k: number) => `${prefix}_hls_out${k}_t`;
  const run =
    style === "parallel"
      ? [
          ...io.ins.map((x, k) => `  static ${portIn(k)} a${k}[${x.size}];`),
          ...io.outs.map((x, k) => `  static ${portOut(k)} b${k}[${x.size}];`),
          ...io.ins.map((x, k) => `  for (int i = 0; i < ${x.size}; i++) a${k}[i] = ${writeInt(portIn(k), `in${k}[i]`, mode)};`),
          `  int st = ${prefix}_top(${[...io.ins.map((_, k) => `a${k}`), ...io.outs.map((_, k) => `b${k}`)].join(", ")});`,
          ...io.outs.map((x, k) => `  for (int i = 0; i < ${x.size}; i++) out${k}[i] = (${T}_out${k}_t)${readInt(`b${k}[i]`, mode)};`),
        ]
      : [
          ...io.ins.map((_, k) => `  hls::stream<${portIn(k)}> a${k};`),
          ...io.outs.map((_, k) => `  hls::stream<${portOut(k)}> b${k};`),
          ...io.ins.map((x, k) => streamLoop(shapeOf(x.value), (j) => `a${k}.write(${writeInt(portIn(k), `in${k}[${j}]`, mode)});`)),
          `  ${prefix}_top(${[...io.ins.map((_, k) => `a${k}`), ...io.outs.map((_, k) => `b${k}`)].join(", ")});`,
          "  int st = 0;",
          ...io.outs.map((x, k) => streamLoop(shapeOf(x.value), (j) => `out${k}[${j}] = (${T}_out${k}_t)${readInt(`b${k}.read()`, mode)};`)),
        ];
  return `/* The testbench's view of the design (generated by fixq): the C harness's API over ${prefix}_top. */
#ifndef ${T.toUpperCase()}_SHIM_H
#define ${T.toUpperCase()}_SHIM_H
#include <string.h>
#include "../firmware/fixq_top.h"
#include "model.h"

#define ${T.toUpperCase()}_OK ${prefix.toUpperCase()}_OK
${io.ins.map((_, k) => `typedef ${prefix}_in${k}_t ${T}_in${k}_t;`).join("\n")}
${io.outs.map((_, k) => `typedef ${prefix}_out${k}_t ${T}_out${k}_t;`).join("\n")}

/* Integer inputs -> the top function's ports -> ${prefix}_top -> integer outputs. */
static inline int ${T}_run_int(${[...iin, ...iout].join(", ")}) {
${run.join("\n")}
  return st;
}

/* Float inputs -> QuantizeLinear -> the top function -> DequantizeLinear (the C back end's boundary code). */
static inline int ${T}_run_full(${[...fin, ...fout, ...ioutFull].join(", ")}) {
${io.ins.map((x, k) => `  static ${prefix}_in${k}_t q${k}[${x.size}];`).join("\n")}
${io.outs.map((x, k) => `  static ${prefix}_out${k}_t r${k}[${x.size}];`).join("\n")}
  int st = ${prefix}_quantize(${[...io.ins.map((_, k) => `in${k}`), ...io.ins.map((_, k) => `q${k}`)].join(", ")});
  if (st == 0) st = ${T}_run_int(${[...io.ins.map((_, k) => `q${k}`), ...io.outs.map((_, k) => `r${k}`)].join(", ")});
  if (st == 0) st = ${prefix}_dequantize(${[...io.outs.map((_, k) => `r${k}`), ...io.outs.map((_, k) => `out${k}`)].join(", ")});
${io.outs.map((x, k) => `  if (out${k}_int) memcpy(out${k}_int, r${k}, ${x.size} * sizeof(${prefix}_out${k}_t));`).join("\n")}
  return st;
}
#endif
`;
}

function makefileText(): string {
  return `# Builds the C simulation csim_run (generated by fixq). AP_TYPES points at the ap_int.h/ap_fixed.h to use
# (default: fixq's own in ap_types/; e.g. make csim_run AP_TYPES=$$XILINX_HLS/include); hls_stream.h, included
# with quotes, always comes from ap_types/ (-iquote). CXXFLAGS / CFLAGS are
# yours; FIXQ_*FLAGS hold what bit-exactness needs (g++ does not know the HLS pragmas, hence -Wno-unknown-pragmas;
# loop labels name the loops for the pragmas and reports, hence -Wno-unused-label).
# tb/model.c is the C back end's code: the testbench's float boundary (QuantizeLinear, DequantizeLinear).
CC ?= cc
CXX = g++
AP_TYPES ?= ap_types
CFLAGS ?= -O2
CXXFLAGS ?= -O2
FIXQ_CFLAGS = -std=c99 -Wall -Wextra -Werror -ffp-contract=off
FIXQ_CXXFLAGS = -std=c++14 -Wall -Wextra -Wno-unknown-pragmas -Wno-unused-label -ffp-contract=off -iquote ap_types -I$(AP_TYPES) -Iap_types -Ifirmware -Itb
FIRMWARE = firmware/fixq_top.cpp firmware/fixq_top.h firmware/fixq_defines.h firmware/fixq_layers.h

csim_run: tb/csim_run.cpp tb/csim_shim.h firmware/fixq_top.h fixq_top.o model.o
\t$(CXX) $(FIXQ_CXXFLAGS) $(CXXFLAGS) -o $@ tb/csim_run.cpp fixq_top.o model.o -lm

# Builds and runs the self-check (exit 0 when the top function gives the stored outputs).
csim_check: tb/csim_check.cpp tb/csim_shim.h firmware/fixq_top.h fixq_top.o model.o
\t$(CXX) $(FIXQ_CXXFLAGS) $(CXXFLAGS) -o csim_check tb/csim_check.cpp fixq_top.o model.o -lm
\t./csim_check

# The design, compiled once for both testbenches.
fixq_top.o: $(FIRMWARE)
\t$(CXX) $(FIXQ_CXXFLAGS) $(CXXFLAGS) -c -o fixq_top.o firmware/fixq_top.cpp

model.o: tb/model.c tb/model.h
\t$(CC) $(FIXQ_CFLAGS) $(CFLAGS) -c -o model.o tb/model.c

clean:
\trm -f csim_run csim_check model.o fixq_top.o

.PHONY: clean csim_check
`;
}

function readmeText(prefix: string, model: string, io: { ins: HlsPort[]; outs: HlsPort[] }, opts: { part: string; clockNs: number; style: HlsIo; types: HlsTypes; layers: readonly LayerResources[] }): string {
  const line = (x: HlsPort, k: number, kind: string) => `  ${kind} ${k} '${x.name}': float32 [${x.shape.join(", ")}], port ${x.port}, scale ${x.scale}, zero point ${x.zeroPoint}`;
  const reuse = opts.layers.map((l) => `  ${l.source}: reuse factor ${l.reuseFactor}, ${l.multipliers} multipliers, II ${l.ii}, ${l.accumulatorBits}-bit accumulator`);
  return `${model}: HLS C++ generated by fixq (compile --target hls); top function ${prefix}_top, ${opts.style} I/O, ${opts.types === "ap" ? "ap_int/ap_uint" : "stdint"} types

  make csim_run                      C simulation with g++ -std=c++14 and fixq's ap_types/
  make csim_run AP_TYPES=DIR         the same against other ap_int.h/ap_fixed.h (e.g. Xilinx's)
  make csim_check                    runs 3 integer samples through the top function against the
                                     emulator's outputs stored at compile time (exit 0 when equal)
  ./csim_run IN.bin OUT.bin [--int OUT_INT.bin]   same arguments and bytes as the C target's model_run
  vitis_hls -f build.tcl [-tclargs nocsim|nosynth|cosim|export]   part ${opts.part}, clock ${opts.clockNs} ns (not run by fixq)

IN.bin holds float32 little-endian samples back to back; OUT.bin receives the float32 outputs, the
values \`fixq emulate --out\` gives, bit for bit; --int writes the raw integer outputs as int32.

${[...io.ins.map((x, k) => line(x, k, "input")), ...io.outs.map((x, k) => line(x, k, "output"))].join("\n")}

Layers (see firmware/fixq_layers.h; estimates: fixq compile --target hls --report):
${reuse.join("\n")}
`;
}

/** The typedefs' header. */
function definesText(typedefs: readonly string[], types: HlsTypes): string {
  return `/* Per-layer types of the HLS design (generated by fixq). layer<i>_acc_t: exactly the width the accumulator
 * certificate proves for layer i's sum; layer<i>_x_t: x - inputZero over the certified input range;
 * layer<i>_weight_t: the layer's weight type; layer<i>_t: the storage type of the value layer i writes. */
#ifndef FIXQ_DEFINES_H
#define FIXQ_DEFINES_H
#include <stdint.h>
${types === "ap" ? "#include <ap_int.h>\n" : ""}
${typedefs.join("\n")}

#endif
`;
}

/** The layers' header: the printed numerics' helpers, then one function per op. */
function layersText(p: Program, d: ReturnType<typeof planDesign>, style: HlsIo): string {
  const fns = p.ops.flatMap((op, i) => {
    switch (op.kind) {
      case "conv":
        // stream I/O: the conv is its line-buffered DATAFLOW process (line-buffer.ts, in fixq_top.cpp)
        return style === "stream" ? [] : [macLayer(d, op, i)];
      case "dense":
        return [macLayer(d, op, i)];
      case "matmul":
        return [matmulLayer(d, op, i)];
      case "requant":
        return [requantLayer(d, op, i)];
      case "rescale":
        return [rescaleLayer(d, op, i)];
      case "fixedrescale":
        return [fixedRescaleLayer(d, op, i)];
      case "sumpool":
      case "maxpool":
        return [poolLayer(d, op, i)];
      case "reshape":
      case "transpose":
      case "concat":
      case "remap":
        return [moveLayer(d, op, i)];
      case "quantize":
      case "dequantize":
        return [];
      default:
        return [transformerLayer(d, op, i)];
    }
  });
  return `/* The layers of the HLS design (generated by fixq), one function per integer op over one sample.
 * Integer helpers printed with numerics' definitions (floor shift, saturating product, 2^s, min/max). */
#ifndef FIXQ_LAYERS_H
#define FIXQ_LAYERS_H
#include <stdint.h>
#include "fixq_defines.h"

${C_RUNTIME}
${p.ops.some(isTransformerOp) ? `\n${TRANSFORMER_RUNTIME}\n` : ""}
${fns.join("\n\n")}

#endif
`;
}

/** The generated project (relative path → text); refuses what the C back end refuses. */
export function emitHls(p: Program, opts: EmitHlsOptions = {}): Map<string, string> {
  const prefix = opts.prefix ?? "fixq";
  checkPrefix(prefix);
  const clockNs = opts.clockNs ?? HLS_DEFAULT_CLOCK_NS;
  if (!(clockNs > 0 && Number.isFinite(clockNs))) throw new FixqError("usage", `--clock expects a positive period in ns, got '${clockNs}'`);
  const part = opts.part ?? HLS_DEFAULT_PART;
  checkPartName(part);
  const style = opts.io ?? "parallel";
  if (!HLS_IO.includes(style)) throw new FixqError("usage", `--io expects ${HLS_IO.join(" or ")}, got '${style}'`);
  const types = opts.types ?? "ap";
  if (!HLS_TYPES.includes(types)) throw new FixqError("usage", `--hls-types expects ${HLS_TYPES.join(" or ")}, got '${types}'`);
  if (style === "stream") checkTransformerStream(p);
  const cert = opts.cert ?? certifyProgram(p);
  const ranges = opts.ranges ?? cert.ranges;
  const c = emitC(p, { ...opts, ranges });
  const layers = opts.layers ?? estimateResources(p, cert, opts.reuse ?? {});
  const design = planDesign(p, cert, layers, types);
  const io = hlsPorts(p, ranges, types);
  const model = opts.modelName ?? "model";
  const harness = harnessText(`${prefix}_tb`, io, { program: "csim_run", header: "csim_shim.h" });
  return new Map([
    ["firmware/fixq_top.h", topHeader(prefix, io, style, types)],
    ["firmware/fixq_top.cpp", topSource(design, prefix, io, style)],
    ["firmware/fixq_defines.h", definesText(design.typedefs, types)],
    ["firmware/fixq_layers.h", layersText(p, design, style)],
    ["tb/model.h", c.get("model.h")!],
    ["tb/model.c", c.get("model.c")!],
    ["tb/csim_run.cpp", harness],
    ["tb/csim_shim.h", shimText(prefix, io, style, types, (v) => p.values.get(v)!.shape)],
    ["tb/csim_check.cpp", selfCheckText(p, prefix)],
    ["ap_types/ap_int.h", AP_INT_H],
    ["ap_types/ap_fixed.h", AP_FIXED_H],
    ["ap_types/hls_stream.h", HLS_STREAM_H],
    ["Makefile", makefileText()],
    ["build.tcl", buildTclText(prefix, { part, clockNs })],
    ["README.txt", readmeText(prefix, model, io, { part, clockNs, style, types, layers })],
  ]);
}
