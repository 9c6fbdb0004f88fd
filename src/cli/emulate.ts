/**
 * `fixq emulate MODEL --data X --out Y [--out-int Yint]`: runs a QDQ model as
 * its integer-only program in the bit-exact emulator. Float inputs are
 * quantized with the model's input quantization; `--out` holds the
 * dequantized float32 outputs (ONNX DequantizeLinear exactly), `--out-int`
 * the raw integers before dequantization.
 */
import { extname } from "node:path";
import { type RunOptions, runProgram } from "../backends/emulator/run.js";
import { certifyProgram } from "../integer/certify.js";
import { integerOutputs, type Program, sampleSize } from "../integer/program.js";
import type { NpyArray, NpyDtype } from "../io/npy.js";
import { writeNpy } from "../io/npy.js";
import { writeNpz } from "../io/npz.js";
import { FixqError } from "../ir/errors.js";
import { moveAxis } from "../integer/sample-layout.js";
import { halfToFloat } from "../ir/tensor.js";
import { intTypeName } from "../numerics/int.js";
import { integerFeed } from "../eval/emulator-runner.js";
import { readArrays } from "./eval.js";
import { emitJson, jsonOnStdout, jsonTarget } from "./json-output.js";
import { type IntegerCliOptions, loadProgram } from "./load-program.js";
import { externalDataInputs, guardOutputs } from "./output-guard.js";

export interface EmulateOptions extends IntegerCliOptions {
  data: string;
  out: string;
  outInt?: string;
  batchSize?: string;
  assertRanges?: boolean;
  json?: string | boolean;
}

/** Binds data arrays to the program's inputs: one array for one input, else by name; returns the sample count. */
export function bindProgramInputs(p: Program, arrays: ReadonlyMap<string, NpyArray>, source: string): { feeds: Map<string, Float32Array>; samples: number } {
  const feeds = new Map<string, Float32Array>();
  let samples: number | undefined;
  for (const input of p.inputs) {
    const a = arrays.size === 1 && p.inputs.length === 1 ? [...arrays.values()][0]! : arrays.get(input.name);
    if (!a) throw new FixqError("data", `no array for input '${input.name}' (found ${[...arrays.keys()].join(", ") || "none"})`, `data ${source}`);
    // samples along the model's batch axis (0 unless the program records another: seq-first [seq, N, d])
    const axis = input.batchAxis ?? 0;
    const want = [...input.shape];
    const layout = [...want.slice(0, axis), "N", ...want.slice(axis)];
    if (a.shape.length !== want.length + 1 || a.shape.some((d, i) => i !== axis && d !== layout[i])) {
      throw new FixqError("data", `array of shape [${a.shape.join(",")}] does not fit input '${input.name}' of shape [${layout.join(",")}]`, `data ${source}`);
    }
    if (input.integer && (typeof (a.data as ArrayLike<unknown>)[0] === "bigint" || a.dtype === "b1")) {
      // ids and masks (int64, or a bool padding mask as 0/1): the program clamps them within ±2^24, so larger magnitudes may saturate here
      const n = a.shape[0]!;
      if (samples !== undefined && n !== samples) throw new FixqError("data", `inputs have different sample counts (${samples} and ${n})`, `data ${source}`);
      samples = n;
      feeds.set(input.name, integerFeed(a.data) as Float32Array);
      continue;
    }
    if (typeof (a.data as ArrayLike<unknown>)[0] === "bigint" || a.dtype === "b1") {
      throw new FixqError("data", `input '${input.name}' needs float data, the array is ${a.dtype}`, `data ${source}`);
    }
    const n = a.shape[axis]!;
    if (samples !== undefined && n !== samples) throw new FixqError("data", `inputs have different sample counts (${samples} and ${n})`, `data ${source}`);
    samples = n;
    // float16 arrives as raw half bits; other numeric dtypes convert by value
    const values = a.data instanceof Float32Array ? a.data : a.dtype === "f2" ? Float32Array.from(a.data as Uint16Array, halfToFloat) : Float32Array.from(a.data as ArrayLike<number>);
    feeds.set(input.name, moveAxis(values, a.shape, axis, 0));
  }
  return { feeds, samples: samples ?? 0 };
}

const INT_NPY: Record<string, NpyDtype> = { int8: "i1", uint8: "u1", int16: "i2", uint16: "u2" };

/** Runs the program over all samples in batches; concatenates outputs. */
export function emulateAll(p: Program, feeds: ReadonlyMap<string, Float32Array>, samples: number, batchSize: number, opts: RunOptions = {}) {
  const outputs = p.outputs.map((o) => new Float32Array(samples * sampleSize(o.shape)));
  const ints = p.outputs.map((o) => new Int32Array(samples * sampleSize(o.shape)));
  for (let start = 0; start < samples; start += batchSize) {
    const count = Math.min(batchSize, samples - start);
    const batchFeeds = new Map<string, Float32Array>();
    for (const i of p.inputs) {
      const n = sampleSize(i.shape);
      batchFeeds.set(i.name, feeds.get(i.name)!.subarray(start * n, (start + count) * n));
    }
    const r = runProgram(p, batchFeeds, count, opts);
    p.outputs.forEach((o, k) => {
      const n = sampleSize(o.shape);
      outputs[k]!.set(r.outputs.get(o.name)!, start * n);
      ints[k]!.set(r.ints.get(o.name)!, start * n);
    });
  }
  return { outputs, ints };
}

function writeArrays(path: string, p: Program, arrays: readonly NpyArray[]): void {
  if (extname(path).toLowerCase() === ".npz") writeNpz(path, new Map(p.outputs.map((o, k) => [o.name, arrays[k]!])));
  else writeNpy(path, arrays[0]!);
}

export function runEmulate(modelPath: string, opts: EmulateOptions): number {
  const batchSize = Number(opts.batchSize ?? "64");
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new FixqError("usage", `--batch-size expects a positive integer, got '${opts.batchSize}'`);
  const json = jsonTarget(opts.json);
  const outFiles = [
    { what: "--out", path: opts.out },
    { what: "--out-int", path: opts.outInt },
    { what: "--json", path: json?.file },
  ];
  guardOutputs(
    [
      { what: "the model", path: modelPath },
      { what: "--data", path: opts.data },
    ],
    outFiles,
  );
  for (const [flag, path] of [["--out", opts.out], ["--out-int", opts.outInt]] as const) {
    if (path !== undefined && ![".npy", ".npz"].includes(extname(path).toLowerCase())) throw new FixqError("usage", `${flag} must be a .npy or .npz file, got '${path}'`);
  }
  const { model, program } = loadProgram(modelPath, opts);
  guardOutputs(externalDataInputs(model, "the model"), outFiles);
  for (const [flag, path] of [["--out", opts.out], ["--out-int", opts.outInt]] as const) {
    if (path !== undefined && program.outputs.length > 1 && extname(path).toLowerCase() !== ".npz") {
      throw new FixqError("usage", `the model has ${program.outputs.length} outputs; ${flag} must be a .npz file`);
    }
  }
  const { feeds, samples } = bindProgramInputs(program, readArrays(opts.data, "data"), opts.data);
  const t0 = performance.now();
  // --assert-ranges: every value is checked against its certified range as it is written (a debug run; slower).
  const check = opts.assertRanges ? { assertRanges: certifyProgram(program).ranges } : {};
  let result: ReturnType<typeof emulateAll>;
  try {
    result = emulateAll(program, feeds, samples, batchSize, check);
  } catch (e) {
    if (opts.assertRanges && e instanceof Error && e.message.startsWith("assertRanges")) throw new FixqError("runtime", e.message, modelPath, { cause: e });
    throw e;
  }
  const { outputs, ints } = result;
  const seconds = (performance.now() - t0) / 1000;
  // outputs in the model's layout: samples back on the output's batch axis
  const axisOf = (k: number) => program.outputs[k]!.batchAxis ?? 0;
  const shapeOf = (k: number) => {
    const s = program.outputs[k]!.shape;
    return [...s.slice(0, axisOf(k)), samples, ...s.slice(axisOf(k))];
  };
  const layout = <T extends Float32Array | Int32Array | Int8Array | Uint8Array | Int16Array | Uint16Array>(data: T, k: number): T =>
    moveAxis(data, [samples, ...program.outputs[k]!.shape], 0, axisOf(k));
  writeArrays(opts.out, program, outputs.map((data, k) => ({ dtype: "f4", shape: shapeOf(k), data: layout(data, k) }) as NpyArray));
  if (opts.outInt !== undefined) {
    const typed = integerOutputs(program).map((name, k) => {
      const dtype = INT_NPY[intTypeName(program.values.get(name)!.type)] ?? "i4";
      const data = dtype === "i4" ? ints[k]! : convertInts(layout(ints[k]!, k), dtype);
      return { dtype, shape: shapeOf(k), data: dtype === "i4" ? layout(data as Int32Array, k) : data } as NpyArray;
    });
    writeArrays(opts.outInt, program, typed);
  }
  const summary = { model: modelPath, samples, ops: program.ops.length, seconds, samplesPerSecond: samples > 0 ? samples / seconds : 0, out: opts.out, outInt: opts.outInt ?? null };
  if (json) emitJson(json, "emulate", summary);
  if (!jsonOnStdout(json)) {
    const ints = opts.outInt ? ` and ${opts.outInt} (raw integers)` : "";
    process.stdout.write(`emulated ${samples} samples through ${program.ops.length} integer ops in ${seconds.toFixed(2)} s (${samples > 0 ? Math.round(samples / seconds) : 0} samples/s); wrote ${opts.out}${ints}\n`);
  }
  return 0;
}

function convertInts(a: Int32Array, dtype: NpyDtype): ArrayLike<number> {
  switch (dtype) {
    case "i1":
      return Int8Array.from(a);
    case "u1":
      return Uint8Array.from(a);
    case "i2":
      return Int16Array.from(a);
    default:
      return Uint16Array.from(a);
  }
}
