/**
 * `fixq compile MODEL --target js|onnx-int -o OUT [--report]`: lowers a QDQ
 * model to its integer-only program and emits code for it.
 * - js: a dependency-free ES module (weights inside) computing the same
 *   integers as the emulator; OUT is a folder.
 * - onnx-int: an ONNX graph of integer ops only between the input
 *   QuantizeLinear and the output DequantizeLinear, which ONNX Runtime runs;
 *   the export is proven integer-only by a walk over its ops and types.
 * --report prints the accumulator-width certificate: per layer the exact
 * worst-case range, the minimal width and the headroom.
 */
import { mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import chalk from "chalk";
import { C_FILES, checkPrefix, emitC } from "../backends/c/emit.js";
import { emitHls, HLS_DEFAULT_CLOCK_NS, HLS_FILES } from "../backends/hls/emit.js";
import { HLS_TYPES, type HlsTypes } from "../backends/hls/hls-types.js";
import { checkPartName } from "../backends/hls/part-name.js";
import { estimateResources, formatResources, type LayerResources } from "../backends/hls/resources.js";
import { estimateTiming, formatTiming } from "../backends/hls/timing.js";
import { estimateTransformerResources, formatTransformerResources } from "../backends/hls/resources-transformer.js";
import { HLS_IO, type HlsIo } from "../backends/hls/top.js";
import { emitJsModule, jsModuleFileNames } from "../backends/js/emit.js";
import { emitIntegerOnnx } from "../backends/onnx-int/emit.js";
import { ortKernelHazards, verifyIntegerOnly } from "../backends/onnx-int/verify.js";
import { certifyProgram } from "../integer/certify.js";
import { certificateJson, formatCertificate } from "../integer/certify-report.js";
import { FixqError } from "../ir/errors.js";
import { saveModel } from "../ir/onnx/save.js";
import { type LoadCheck, loadCheckLine, verifyLoad } from "../runtime/verify-load.js";
import { writeFileAtomic } from "../ir/atomic-write.js";
import { requantJson } from "../integer/requant-report.js";
import { emitRun } from "./html-output.js";
import { reuseFactorsOf } from "./hls-reuse.js";
import { jsonOnStdout, jsonTarget } from "./json-output.js";
import { type IntegerCliOptions, loadProgram } from "./load-program.js";
import { externalDataInputs, guardOutputs } from "./output-guard.js";

export interface CompileOptions extends IntegerCliOptions {
  target?: string;
  output?: string;
  report?: boolean;
  json?: string | boolean;
  /** false with --no-verify-load. */
  verifyLoad?: boolean;
  /** --html FILE: the report page of this run (src/report). */
  html?: string;
  /** --target c, hls: prefix of the exported symbols and macros. */
  prefix?: string;
  /** --target hls: FPGA part and clock period (ns) for build.tcl. */
  part?: string;
  clock?: string;
  /** --target hls: the reuse factor of every layer (code and resource estimates). */
  reuseFactor?: string;
  /** --target hls: a recipe whose `layers` rules set per-layer reuseFactor. */
  recipe?: string;
  /** --target hls: parallel | stream. */
  io?: string;
  /** --target hls: ap | stdint. */
  hlsTypes?: string;
}

const TARGETS = ["js", "c", "hls", "onnx-int"] as const;

export async function runCompile(modelPath: string, opts: CompileOptions): Promise<number> {
  const target = opts.target;
  if (target !== undefined && !(TARGETS as readonly string[]).includes(target)) {
    throw new FixqError("usage", `--target expects ${TARGETS.join(" or ")}, got '${target}'`);
  }
  if (target !== undefined && opts.output === undefined) throw new FixqError("usage", `--target ${target} needs -o`);
  if (target === undefined && !opts.report) throw new FixqError("usage", `give --target ${TARGETS.join("|")} with -o, or --report`);
  if (target === undefined && opts.output !== undefined) throw new FixqError("usage", `-o needs --target ${TARGETS.join("|")}`);
  if (opts.prefix !== undefined && target !== "c" && target !== "hls") throw new FixqError("usage", "--prefix applies to --target c and hls only");
  const hlsOnly = [opts.part, opts.clock, opts.reuseFactor, opts.recipe, opts.io, opts.hlsTypes].some((o) => o !== undefined);
  if (hlsOnly && target !== "hls") throw new FixqError("usage", "--part, --clock, --reuse-factor, --recipe, --io and --hls-types apply to --target hls only");
  if (opts.io !== undefined && !(HLS_IO as readonly string[]).includes(opts.io)) throw new FixqError("usage", `--io expects ${HLS_IO.join(" or ")}, got '${opts.io}'`);
  if (opts.hlsTypes !== undefined && !(HLS_TYPES as readonly string[]).includes(opts.hlsTypes)) throw new FixqError("usage", `--hls-types expects ${HLS_TYPES.join(" or ")}, got '${opts.hlsTypes}'`);
  const reuseFactor = opts.reuseFactor === undefined ? undefined : Number(opts.reuseFactor);
  if (reuseFactor !== undefined && !(Number.isInteger(reuseFactor) && reuseFactor >= 1)) throw new FixqError("usage", `--reuse-factor expects a positive integer, got '${opts.reuseFactor}'`);
  const clockNs = opts.clock === undefined ? undefined : Number(opts.clock);
  if (clockNs !== undefined && !(Number.isFinite(clockNs) && clockNs > 0)) throw new FixqError("usage", `--clock expects a positive period in ns, got '${opts.clock}'`);
  if (opts.prefix !== undefined) checkPrefix(opts.prefix);
  const partWarning = opts.part === undefined ? undefined : checkPartName(opts.part);
  if (partWarning) process.stderr.write(`${chalk.yellow("warning:")} ${partWarning}\n`);
  const json = jsonTarget(opts.json);
  const outputs = [
    target === "js" || target === "c" || target === "hls"
      ? { what: `-o for --target ${target}`, path: opts.output, kind: "folder" as const, createParents: true, members: target === "js" ? jsModuleFileNames() : target === "c" ? [...C_FILES] : [...HLS_FILES] }
      : { what: "-o", path: opts.output },
    { what: "--json", path: json?.file },
    { what: "--html", path: opts.html },
  ];
  guardOutputs([{ what: "the model", path: modelPath }, ...(opts.recipe ? [{ what: "--recipe", path: opts.recipe }] : [])], outputs);
  const { model: input, program } = loadProgram(modelPath, opts);
  guardOutputs(externalDataInputs(input, "the model"), outputs);
  const cert = certifyProgram(program);
  const errors = cert.problems.filter((p) => p.level === "error");
  const written: string[] = [];
  let loads: LoadCheck | undefined; // the onnx-int model's load check
  // hls: the per-layer estimates, checked (reuse factor, partition limit) before anything is written
  const reuse = { all: reuseFactor, byLayer: opts.recipe && target === "hls" ? reuseFactorsOf(opts.recipe, input) : undefined };
  const resources: LayerResources[] | undefined = target === "hls" ? estimateResources(program, cert, reuse) : undefined;
  const timing = resources ? estimateTiming(program, cert, resources, (opts.io as HlsIo | undefined) ?? "parallel", (opts.hlsTypes as HlsTypes | undefined) ?? "ap") : undefined;
  const opResources = target === "hls" ? estimateTransformerResources(program, cert) : [];
  if (target !== undefined && errors.length > 0) {
    throw new FixqError("unsupported", `the accumulator certificate fails: ${errors[0]!.source}: ${errors[0]!.message}${errors.length > 1 ? ` (and ${errors.length - 1} more; see --report)` : ""}`, modelPath);
  }
  if (target === "js" || target === "c" || target === "hls") {
    const modelName = basename(modelPath).replace(/\.onnx$/i, "");
    // every file is generated before anything is written
    const files =
      target === "js"
        ? emitJsModule(program, { modelName, ranges: cert.ranges })
        : target === "c"
          ? emitC(program, { modelName, ranges: cert.ranges, prefix: opts.prefix })
          : emitHls(program, { modelName, cert, ranges: cert.ranges, prefix: opts.prefix, part: opts.part, clockNs, layers: resources, io: opts.io as HlsIo | undefined, types: opts.hlsTypes as HlsTypes | undefined });
    mkdirSync(opts.output!, { recursive: true });
    for (const [rel, text] of files) {
      const path = join(opts.output!, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileAtomic(path, new TextEncoder().encode(text));
      written.push(path);
    }
  } else if (target === "onnx-int") {
    const model = emitIntegerOnnx(program, { ranges: cert.ranges });
    const problems = verifyIntegerOnly(model);
    if (problems.length > 0) throw new Error(`the integer ONNX export is not integer-only: ${problems[0]}`);
    const hazards = ortKernelHazards(model);
    if (hazards.length > 0) throw new Error(`the integer ONNX export uses an ONNX Runtime kernel measured inexact: ${hazards[0]}`);
    loads = opts.verifyLoad === false ? { checked: false, note: "not opened in ONNX Runtime before writing (--no-verify-load)" } : await verifyLoad(model, opts.output!);
    saveModel(model, opts.output!);
    written.push(opts.output!);
  }
  await emitRun({ json, html: opts.html }, "compile", {
    model: modelPath,
    target: target ?? null,
    written,
    ortLoad: loads ?? null,
    ops: program.ops.length,
    certificate: certificateJson(cert),
    requant: requantJson(program),
    ...(resources ? { resources } : {}),
    ...(timing ? { timing } : {}),
    ...(opResources.length > 0 ? { transformerResources: opResources } : {}),
  });
  if (jsonOnStdout(json)) return errors.length > 0 ? 1 : 0;
  if (opts.report) process.stdout.write(`${formatCertificate(cert).trimEnd()}\n`);
  if (opts.report && resources) process.stdout.write(`${formatResources(resources)}\n`);
  if (opts.report && timing) process.stdout.write(`${formatTiming(timing, clockNs ?? HLS_DEFAULT_CLOCK_NS)}\n`);
  if (opts.report && opResources.length > 0) process.stdout.write(`${formatTransformerResources(opResources)}\n`);
  for (const p of cert.problems) process.stderr.write(`${p.level === "error" ? chalk.red("error:") : chalk.yellow("warning:")} ${p.source}: ${p.message}\n`);
  if (target !== undefined) {
    const kinds = new Map<string, number>();
    for (const op of program.ops) kinds.set(op.kind, (kinds.get(op.kind) ?? 0) + 1);
    const summary = [...kinds].map(([k, n]) => `${n}× ${k}`).join(", ");
    process.stdout.write(`wrote ${written.join(", ")}: ${program.ops.length} integer ops (${summary}), ${program.rounding} rounding, ${program.multiplierBits}-bit multipliers\n`);
    if (loads) process.stdout.write(`  ${loadCheckLine(loads)}\n`);
  }
  return errors.length > 0 ? 1 : 0;
}
