/**
 * The generated module's exports: metadata (`inputs`, `outputs`, `rounding`)
 * and the entry points `run`, `runInt`, `runAll`, `runAllInt`. Batches are
 * processed in chunks of `chunk` samples so that memory stays bounded.
 */
import { type DequantizeOp, integerOutputs, type Program, type QuantizeOp, sampleSize } from "../../integer/program.js";
import { num, numList, str } from "./codegen.js";

function typeName(p: Program, value: string): string {
  const v = p.values.get(value);
  return v ? `${v.type.signed ? "" : "u"}int${v.type.bits}` : "int32";
}

function inputInfo(p: Program): string[] {
  return p.inputs.map((io) => {
    const q = p.ops.find((op): op is QuantizeOp => op.kind === "quantize" && op.input === io.name);
    if (!q) throw new Error(`program input '${io.name}' has no quantize op`);
    return (
      `{ name: ${str(io.name)}, shape: ${numList(io.shape)}, type: ${str(typeName(p, q.output))}, ` +
      `scale: ${num(Math.fround(q.scale))}, zeroPoint: ${num(q.zeroPoint)}, qmin: ${num(q.qmin)}, qmax: ${num(q.qmax)} }`
    );
  });
}

function outputInfo(p: Program): string[] {
  const ints = integerOutputs(p);
  return p.outputs.map((io, k) => {
    const dq = p.ops.find((op): op is DequantizeOp => op.kind === "dequantize" && op.output === io.name)!;
    return `{ name: ${str(io.name)}, shape: ${numList(io.shape)}, type: ${str(typeName(p, ints[k]!))}, scale: ${num(Math.fround(dq.scale))}, zeroPoint: ${num(dq.zeroPoint)} }`;
  });
}

export function apiText(p: Program, chunk: number): string {
  const inSizes = p.inputs.map((io) => sampleSize(io.shape));
  const outSizes = p.outputs.map((io) => sampleSize(io.shape));
  return `/** Float32 inputs: name, per-sample shape (no batch axis), and the QuantizeLinear applied to them. */
export const inputs = Object.freeze([
${inputInfo(p)
  .map((l) => `  ${l},`)
  .join("\n")}
]);
/** Float32 outputs: name, per-sample shape, and the DequantizeLinear of the integer value \`ints\` holds. */
export const outputs = Object.freeze([
${outputInfo(p)
  .map((l) => `  ${l},`)
  .join("\n")}
]);
/** Requantization rounding: "single" (rshr of the 62-bit product) or "double" (gemmlowp). */
export const rounding = ${str(p.rounding)};

const IN_SIZES = ${numList(inSizes)};
const OUT_SIZES = ${numList(outSizes)};
const CHUNK = ${chunk};

function execute(feeds, quantized, batch) {
  if (!Number.isInteger(batch) || batch < 0) throw new RangeError("batch must be a non-negative integer, got " + batch);
  feeds.forEach((f, k) => {
    const tag = f == null ? String(f) : f[Symbol.toStringTag];
    if (quantized ? !(ArrayBuffer.isView(f) && tag !== "Float32Array" && tag !== "Float64Array") : tag !== "Float32Array") {
      throw new TypeError("input '" + inputs[k].name + "' must be " + (quantized ? "an integer typed array" : "a Float32Array") + ", got " + tag);
    }
    if (f.length !== batch * IN_SIZES[k]) {
      throw new RangeError("input '" + inputs[k].name + "' has " + f.length + " elements, expected " + batch + " × " + IN_SIZES[k]);
    }
  });
  const outs = OUT_SIZES.map((n) => new Float32Array(batch * n));
  const ints = OUT_SIZES.map((n) => new Int32Array(batch * n));
  const buffers = [];
  for (let n0 = 0; n0 < batch; n0 += CHUNK) {
    const nb = Math.min(CHUNK, batch - n0);
    const part = forward(
      feeds.map((f, k) => f.subarray(n0 * IN_SIZES[k], (n0 + nb) * IN_SIZES[k])),
      quantized,
      nb,
      buffers,
    );
    for (let k = 0; k < OUT_SIZES.length; k++) {
      outs[k].set(part.outputs[k], n0 * OUT_SIZES[k]);
      ints[k].set(part.ints[k], n0 * OUT_SIZES[k]);
    }
  }
  return {
    outputs: Object.fromEntries(outputs.map((o, k) => [o.name, outs[k]])),
    ints: Object.fromEntries(outputs.map((o, k) => [o.name, ints[k]])),
  };
}

function feedList(feeds) {
  return inputs.map((i) => {
    if (feeds == null || !Object.hasOwn(feeds, i.name)) throw new TypeError("missing input '" + i.name + "'");
    return feeds[i.name];
  });
}

function only(input) {
  if (inputs.length !== 1) throw new TypeError("this model has " + inputs.length + " inputs: use runAll");
  return [input];
}

/**
 * Runs the model on float32 inputs keyed by input name, \`batch\` samples each
 * (row-major, batch axis first). Returns the dequantized outputs and the raw
 * integers feeding each output's DequantizeLinear, keyed by output name.
 */
export function runAll(feeds, batch) {
  return execute(feedList(feeds), false, batch);
}

/** As runAll, from already-quantized inputs (integer typed arrays, the QuantizeLinear's output), keyed by input name. */
export function runAllInt(feeds, batch) {
  return execute(feedList(feeds), true, batch);
}

/** The first output, dequantized (float32), for a one-input model. */
export function run(input, batch) {
  return execute(only(input), false, batch).outputs[outputs[0].name];
}

/** The first output's raw integers (before its DequantizeLinear), for a one-input model. */
export function runInt(input, batch) {
  return execute(only(input), false, batch).ints[outputs[0].name];
}`;
}
