/**
 * `verifyProgram`: the integer program's own `verify`. It proves what every
 * back end relies on:
 * - every value an op reads is defined earlier, and every value is defined
 *   once;
 * - every value is an integer;
 * - float enters only through a `quantize` of a program input and leaves only
 *   through a `dequantize` into a program output, so no float op sits
 *   between them;
 * - element counts agree across data movement and element-wise ops;
 * - clamps lie inside the output type, and multipliers and shifts lie inside
 *   the program's widths;
 * - conv and dense weights match the shapes they are applied to, and the
 *   spatial output of every conv and pool is what its window gives.
 * It returns one line per problem; an empty list means the program checks.
 */
import { intMax, intMin, intTypeName } from "../numerics/int.js";
import { RESCALE_MAX_SHIFT } from "../numerics/rescale.js";
import { remapIssue } from "../numerics/remap.js";
import { type ConvOp, type IntOp, type MaxPoolOp, opInputs, type Program, type SumPoolOp, sampleSize, type WeightTyped } from "./program.js";

function checkOp(p: Program, op: IntOp, problems: string[]): void {
  const where = `${op.source} (${op.kind})`;
  const size = (name: string) => sampleSize(p.values.get(name)?.shape ?? []);
  const out = p.values.get(op.output);
  const clampInside = (lo: number, hi: number) => {
    if (!out) return;
    if (!(lo <= hi) || lo < intMin(out.type) || hi > intMax(out.type)) problems.push(`${where}: clamp [${lo}, ${hi}] is not inside ${out.type.signed ? "" : "u"}int${out.type.bits}`);
  };
  switch (op.kind) {
    case "quantize":
      clampInside(op.qmin, op.qmax);
      break;
    case "requant": {
      clampInside(op.clampLo, op.clampHi);
      for (const d of op.multipliers) {
        if (d.m !== 0 && (d.m < 2 ** (p.multiplierBits - 1) || d.m >= 2 ** p.multiplierBits)) problems.push(`${where}: multiplier ${d.m} is not a ${p.multiplierBits}-bit multiplier`);
        if (d.m !== 0 && (d.s < 0 || d.s > 62)) problems.push(`${where}: shift ${d.s} is outside 0…62`);
      }
      const channels = out?.shape[op.axis];
      if (op.multipliers.length !== 1 && op.multipliers.length !== channels) problems.push(`${where}: ${op.multipliers.length} multipliers for ${channels} channels along axis ${op.axis}`);
      break;
    }
    case "rescale":
      clampInside(op.clampLo, op.clampHi);
      if (op.shift < 0 || op.shift > RESCALE_MAX_SHIFT) problems.push(`${where}: shift ${op.shift} is outside 0…${RESCALE_MAX_SHIFT}`);
      if (op.multipliers.some((m) => !Number.isInteger(m) || m < 0 || m >= 2 ** 31)) problems.push(`${where}: a multiplier is not an integer in [0, 2^31)`);
      if (op.inputs.some((i) => size(i) !== size(op.output))) problems.push(`${where}: inputs and output differ in size`);
      break;
    case "fixedrescale":
      clampInside(op.clampLo, op.clampHi);
      if (op.shift < 0 || op.shift > RESCALE_MAX_SHIFT) problems.push(`${where}: shift ${op.shift} is outside 0…${RESCALE_MAX_SHIFT}`);
      if (op.multipliers.length !== op.inputs.length || op.multipliers.some((m) => !Number.isInteger(m) || m < 0 || m >= 2 ** 31)) problems.push(`${where}: multipliers are not one integer in [0, 2^31) per input`);
      if (op.inputs.some((i) => size(i) !== size(op.output))) problems.push(`${where}: inputs and output differ in size`);
      if (out && (out.type.bits !== op.cast.bits || out.type.signed !== op.cast.signed)) problems.push(`${where}: casts to ${op.cast.bits} bits but writes ${out.type.signed ? "" : "u"}int${out.type.bits}`);
      break;
    case "reshape":
    case "transpose":
      if (size(op.input) !== size(op.output)) problems.push(`${where}: ${size(op.input)} elements in, ${size(op.output)} out`);
      break;
    case "gather":
      if (op.table.length !== op.rows * op.width) problems.push(`${where}: ${op.table.length} table codes for ${op.rows} rows of ${op.width}`);
      if (size(op.input) * op.width !== size(op.output)) problems.push(`${where}: ${size(op.input)} ids of ${op.width} values do not make ${size(op.output)}`);
      break;
    case "slice": {
      const d = p.values.get(op.input)?.shape[op.axis] ?? 0;
      if (!(op.start >= 0 && op.start < op.end && op.end <= d)) problems.push(`${where}: rows ${op.start}…${op.end - 1} are not within axis ${op.axis} of length ${d}`);
      if ((size(op.input) / d) * (op.end - op.start) !== size(op.output)) problems.push(`${where}: the output's size is not the slice's`);
      break;
    }
    case "remap": {
      const issue = remapIssue(op.offsets, size(op.input), out?.shape ?? []);
      if (issue) problems.push(`${where}: ${issue}`);
      break;
    }
    case "concat":
      if (op.inputs.reduce((a, i) => a + size(i), 0) !== size(op.output)) problems.push(`${where}: the inputs' sizes do not add up to the output's`);
      break;
    case "sumpool":
    case "maxpool":
      checkWindow(p, op, [op.kernel[0], op.kernel[1]], op.kind === "maxpool" ? op.dilations : [1, 1], problems);
      break;
    case "conv": {
      const [o, i, kh, kw] = op.weightShape;
      checkWindow(p, op, [kh, kw], op.dilations, problems);
      const inC = p.values.get(op.input)?.shape[0];
      if (op.weight.length !== o * i * kh * kw) problems.push(`${where}: ${op.weight.length} weights for shape [${op.weightShape.join(",")}]`);
      if (inC !== i * op.group) problems.push(`${where}: input has ${inC} channels, the weight expects ${i * op.group}`);
      if (out?.shape[0] !== o) problems.push(`${where}: output has ${out?.shape[0]} channels, the weight ${o}`);
      if (op.bias && op.bias.length !== o) problems.push(`${where}: ${op.bias.length} biases for ${o} channels`);
      checkWeightType(op, where, problems);
      break;
    }
    case "dense": {
      const inShape = p.values.get(op.input)?.shape ?? [];
      if (op.weight.length !== op.inFeatures * op.outFeatures) problems.push(`${where}: ${op.weight.length} weights for [${op.outFeatures}, ${op.inFeatures}]`);
      if (inShape.at(-1) !== op.inFeatures) problems.push(`${where}: input's last axis is ${inShape.at(-1)}, the weight expects ${op.inFeatures}`);
      if (op.bias && op.bias.length !== op.outFeatures) problems.push(`${where}: ${op.bias.length} biases for ${op.outFeatures} outputs`);
      checkWeightType(op, where, problems);
      break;
    }
    default:
      break;
  }
}

/** Every weight lies in the declared weight type. */
function checkWeightType(op: WeightTyped, where: string, problems: string[]): void {
  const t = op.weightType;
  if (!t) return;
  const bad = op.weight.findIndex((w) => w < intMin(t) || w > intMax(t));
  if (bad >= 0) problems.push(`${where}: weight[${bad}] = ${op.weight[bad]} is outside its declared type ${intTypeName(t)}`);
}

/** Spatial output size of a 2-D window op: ⌊(H + pads − d·(k − 1) − 1) / s⌋ + 1 per axis. */
function checkWindow(p: Program, op: ConvOp | SumPoolOp | MaxPoolOp, kernel: readonly number[], dilations: readonly number[], problems: string[]): void {
  const inShape = p.values.get(op.input)?.shape ?? [];
  const outShape = p.values.get(op.output)?.shape ?? [];
  for (const a of [0, 1]) {
    const size = inShape[a + 1]! + op.pads[a]! + op.pads[a + 2]!;
    const want = Math.floor((size - dilations[a]! * (kernel[a]! - 1) - 1) / op.strides[a]!) + 1;
    if (outShape[a + 1] !== want) problems.push(`${op.source} (${op.kind}): output ${a === 0 ? "height" : "width"} is ${outShape[a + 1]}, the window gives ${want}`);
  }
}

export function verifyProgram(p: Program): string[] {
  const problems: string[] = [];
  const inputs = new Set(p.inputs.map((i) => i.name));
  const outputs = new Set(p.outputs.map((o) => o.name));
  const defined = new Set<string>();
  for (const v of p.values.values()) if (v.type.kind !== "int") problems.push(`value '${v.name}' is not an integer`);
  for (const op of p.ops) {
    const where = `${op.source} (${op.kind})`;
    const reads = op.kind === "quantize" ? [] : opInputs(op);
    if (op.kind === "quantize" && !inputs.has(op.input)) problems.push(`${where}: quantizes '${op.input}', which is not a program input`);
    for (const r of reads) if (!defined.has(r)) problems.push(`${where}: reads '${r}' before it is defined`);
    if (op.kind === "dequantize") {
      if (!outputs.has(op.output)) problems.push(`${where}: dequantizes into '${op.output}', which is not a program output`);
      continue;
    }
    if (!p.values.has(op.output)) problems.push(`${where}: writes '${op.output}', which is not a program value`);
    if (defined.has(op.output)) problems.push(`${where}: '${op.output}' is defined twice`);
    defined.add(op.output);
    checkOp(p, op, problems);
  }
  for (const o of p.outputs) if (!p.ops.some((op) => op.kind === "dequantize" && op.output === o.name)) problems.push(`output '${o.name}' has no dequantize`);
  return problems;
}
