/**
 * The generated module's `forward(feeds, quantized, batch, buffers)`: the
 * program's ops in order on one chunk of samples, each op writing its own
 * typed array (Int32Array for integer values, Float32Array for outputs),
 * allocated at the first chunk and reused by the next ones. With
 * `quantized`, the feeds are the already-quantized inputs and the quantize
 * ops are skipped.
 */
import { integerOutputs, isWideValue, opInputs, type Program, sampleSize } from "../../integer/program.js";
import { commentText } from "./codegen.js";

export interface ForwardCall {
  /** Function name of each op, in program order. */
  readonly names: readonly string[];
}

export function forwardText(p: Program, call: ForwardCall): string {
  const ids = new Map<string, string>();
  const id = (value: string, what: string): string => {
    const v = ids.get(value);
    if (v === undefined) throw new Error(`${what} reads '${value}' before any op writes it`);
    return v;
  };
  const inputIndex = new Map(p.inputs.map((io, k) => [io.name, k]));
  const outputIndex = new Map(p.outputs.map((io, k) => [io.name, k]));
  const lines: string[] = [];
  p.ops.forEach((op, i) => {
    const fn = call.names[i]!;
    const what = `op ${i} (${op.kind} '${op.source}')`;
    if (ids.has(op.output)) throw new Error(`${what} writes '${op.output}', which an earlier op wrote`);
    const y = `v${ids.size}`;
    lines.push(`// ${commentText(`op ${i} ${op.kind}: ${op.source} → '${op.output}'`)}`);
    if (op.kind === "quantize") {
      const k = inputIndex.get(op.input);
      if (k === undefined) throw new Error(`${what} reads '${op.input}', which is not a program input`);
      const size = sampleSize(p.values.get(op.output)?.shape ?? p.inputs[k]!.shape);
      lines.push(`const ${y} = quantized ? Int32Array.from(feeds[${k}]) : scratch(buffers, ${ids.size}, Int32Array, batch * ${size});`);
      lines.push(`if (!quantized) ${fn}(feeds[${k}], ${y}, batch);`);
    } else if (op.kind === "dequantize") {
      const k = outputIndex.get(op.output);
      if (k === undefined) throw new Error(`${what} writes '${op.output}', which is not a program output`);
      lines.push(`const ${y} = scratch(buffers, ${ids.size}, Float32Array, batch * ${sampleSize(p.outputs[k]!.shape)});`);
      lines.push(`${fn}(${id(op.input, what)}, ${y}, batch);`);
    } else {
      const v = p.values.get(op.output);
      if (!v) throw new Error(`${what} writes '${op.output}', which has no entry in program.values`);
      const ins = opInputs(op).map((n) => id(n, what));
      // an int64 accumulator (program.ts ACC64) lives in doubles: its sums are proven below 2^53 (ops-accumulate.ts)
      lines.push(`const ${y} = scratch(buffers, ${ids.size}, ${isWideValue(v) ? "Float64Array" : "Int32Array"}, batch * ${sampleSize(v.shape)});`);
      lines.push(`${fn}(${[...ins, y].join(", ")}, batch);`);
    }
    ids.set(op.output, y);
  });
  const outs = p.outputs.map((o) => id(o.name, `program output '${o.name}'`));
  const ints = integerOutputs(p).map((n) => id(n, "a program output's dequantize"));
  return `/** Slot k of \`buffers\` as an array of n elements, allocated once per run and reused by every chunk. */
function scratch(buffers, k, Type, n) {
  let b = buffers[k];
  if (b === undefined || b.length < n) {
    b = new Type(n);
    buffers[k] = b;
  }
  return b.length === n ? b : b.subarray(0, n);
}

/**
 * Runs every op on \`batch\` samples; \`feeds\` are the program inputs in order (float, or integer when \`quantized\`).
 * Every op overwrites all of its output, so the buffers can be reused.
 */
function forward(feeds, quantized, batch, buffers) {
${lines.map((l) => `  ${l}`).join("\n")}
  return { outputs: [${outs.join(", ")}], ints: [${ints.join(", ")}] };
}`;
}
