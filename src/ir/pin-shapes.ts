/**
 * Pinning dynamic input dims (`--input-shape NAME=1x3x640x640`): the model's
 * declared input types get the given sizes, so shape inference, MAC counts,
 * probing and data checks see concrete shapes.
 *
 * A symbolic dim pinned to size s is pinned everywhere it is declared: in the
 * other inputs, in the outputs (Silero's `input` [batch, sequence] pinned
 * to 1x512 makes `h` [2, batch, 64] into [2, 1, 64]) and in the intermediate
 * value_info (torch's dynamo exporter declares every value: position ids
 * [1, sequence]; left symbolic, a declared type stands in for the shape
 * inference finds, and a constant such as Unsqueeze(Range(0, 16)) does not fold). A static dim must be
 * given its own size; a rank must match; a name must be an input.
 */
import { FixqError } from "./errors.js";
import type { Dim, Graph, Model, TypeProto, ValueInfo } from "./graph.js";
import type { ProtoMessage } from "./onnx/codec.js";
import { formatShape, tensorTypeOf } from "./types.js";

/** Input name → the size of every dim. */
export type InputShapes = ReadonlyMap<string, readonly number[]>;

/** Parses `NAME=1x3x640x640` (a scalar input: `NAME=`); `flag` names the option in messages. */
export function parseInputShape(spec: string, flag = "--input-shape"): [string, number[]] {
  const eq = spec.lastIndexOf("=");
  if (eq <= 0) throw new FixqError("usage", `${flag} expects NAME=DxDx… (e.g. x=1x3x640x640), got '${spec}'`);
  const name = spec.slice(0, eq);
  const text = spec.slice(eq + 1).trim();
  const dims = text === "" ? [] : text.split(/[x×,]/).map((d) => (/^\d+$/.test(d.trim()) ? Number(d) : Number.NaN));
  if (dims.some((d) => !Number.isSafeInteger(d))) throw new FixqError("usage", `${flag} ${name}: dims must be non-negative integers separated by x, got '${text}'`);
  return [name, dims];
}

/** Parses every `--input-shape` given; an input named twice is a usage error. */
export function parseInputShapes(specs: readonly string[] | undefined): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of specs ?? []) {
    const [name, dims] = parseInputShape(s);
    if (out.has(name)) throw new FixqError("usage", `--input-shape gives input '${name}' twice`);
    out.set(name, dims);
  }
  return out;
}

/** Marks a pinned dim's former symbolic name in its (otherwise unused) denotation, so batch axes are still found by name. */
const PINNED = "fixq.pinned:";

function withDims(type: TypeProto | undefined, dims: readonly Dim[]): TypeProto {
  const tt = (type?.["tensor_type"] ?? {}) as ProtoMessage;
  const old = tensorTypeOf(type)?.shape;
  const dim = dims.map((d, i): ProtoMessage => {
    const was = old?.[i];
    if (typeof d === "number") return typeof was === "string" ? { dim_value: d, denotation: `${PINNED}${was}` } : { dim_value: d };
    return typeof d === "string" ? { dim_param: d } : {};
  });
  return { ...type, tensor_type: { ...tt, shape: { ...((tt["shape"] as ProtoMessage | undefined) ?? {}), dim } } };
}

/** Per dim of a declared type: its symbolic name, declared or from before --input-shape pinned it (undefined: none). */
export function dimSymbols(type: TypeProto | undefined): (string | undefined)[] | undefined {
  const shape = (type?.["tensor_type"] as ProtoMessage | undefined)?.["shape"] as ProtoMessage | undefined;
  if (!shape) return undefined;
  return ((shape["dim"] as ProtoMessage[] | undefined) ?? []).map((d) => {
    const p = d["dim_param"] as string | undefined;
    const den = d["denotation"] as string | undefined;
    return p ? p : den?.startsWith(PINNED) ? den.slice(PINNED.length) : undefined;
  });
}

/**
 * The model with its inputs' dims pinned; see the file comment. Returns the
 * model unchanged when `pins` is empty.
 */
export function pinInputShapes(model: Model, pins: InputShapes): Model {
  const g = model.graph;
  if (!g || pins.size === 0) return model;
  const symbols = new Map<string, [number, string]>();
  for (const [name, dims] of pins) {
    const v = g.inputs.find((x) => x.name === name);
    if (!v) throw new FixqError("usage", `--input-shape names '${name}', which is not a model input (inputs: ${g.inputs.map((x) => x.name).join(", ")})`);
    const declared = tensorTypeOf(v.type)?.shape;
    if (!declared) continue;
    const what = `--input-shape ${name}=${dims.join("x")}`;
    if (declared.length !== dims.length) throw new FixqError("usage", `${what}: input '${name}' has rank ${declared.length} ${formatShape(declared)}`);
    declared.forEach((d, i) => {
      if (typeof d === "number" && d !== dims[i]) throw new FixqError("usage", `${what}: dim ${i} of input '${name}' is fixed at ${d} ${formatShape(declared)}`);
      if (typeof d === "string") {
        const seen = symbols.get(d);
        if (seen && seen[0] !== dims[i]) throw new FixqError("usage", `${what}: '${d}' is ${dims[i]} here but ${seen[0]} in ${seen[1]}`);
        symbols.set(d, [dims[i]!, `input '${name}'`]);
      }
    });
  }
  const pin = (v: ValueInfo): ValueInfo => {
    const shape = tensorTypeOf(v.type)?.shape;
    const own = pins.get(v.name);
    if (own && g.inputs.includes(v)) return { ...v, type: withDims(v.type, own) };
    if (!shape?.some((d) => typeof d === "string" && symbols.has(d))) return v;
    return { ...v, type: withDims(v.type, shape.map((d) => (typeof d === "string" ? (symbols.get(d)?.[0] ?? d) : d))) };
  };
  const graph: Graph = { ...g, inputs: g.inputs.map(pin), outputs: g.outputs.map(pin), valueInfo: g.valueInfo.map(pin) };
  return { ...model, graph };
}

/**
 * `pinned` with the declared input, output and value_info types of `original`
 * put back (by name): a model written after pinning keeps the signature it
 * was given.
 */
export function restoreSignature(pinned: Model, original: Model): Model {
  if (!pinned.graph || !original.graph || pinned === original) return pinned;
  const g = original.graph;
  const declared = new Map([...g.inputs, ...g.outputs, ...g.valueInfo].map((v) => [v.name, v.type]));
  const put = (v: ValueInfo): ValueInfo => (declared.has(v.name) ? { ...v, type: declared.get(v.name) } : v);
  return { ...pinned, graph: { ...pinned.graph, inputs: pinned.graph.inputs.map(put), outputs: pinned.graph.outputs.map(put), valueInfo: pinned.graph.valueInfo.map(put) } };
}

/**
 * The batch among the symbols `pins` sets: the one symbol pinned to 1 (torch's
 * seq-first x=5x1x32 pins [seq, batch, d]; BERT's input_ids=1x16), or else the
 * symbolic leading dim of an input.
 */
function pinnedBatch(g: Graph, pins: InputShapes): string | undefined {
  const ones = new Set<string>();
  for (const [name, dims] of pins) {
    const shape = tensorTypeOf(g.inputs.find((v) => v.name === name)?.type)?.shape ?? [];
    shape.forEach((d, i) => {
      if (typeof d === "string" && dims[i] === 1) ones.add(d);
    });
  }
  if (ones.size === 1) return [...ones][0];
  return g.inputs.map((v) => tensorTypeOf(v.type)?.shape?.[0]).find((d): d is string => typeof d === "string");
}

/**
 * Pins the per-sample dims only (`fixq compile/emulate --input-shape`, e.g.
 * a BERT export's sequence length): the dims are pinned as
 * `pinInputShapes` does, then the batch (see pinnedBatch) is put back in every
 * input and output that declared it, so the integer program, which is per
 * sample, still runs any batch size.
 */
export function pinSampleShapes(model: Model, pins: InputShapes): Model {
  const pinned = pinInputShapes(model, pins);
  const g = pinned.graph;
  if (!g || pinned === model) return pinned;
  const batch = pinnedBatch(model.graph!, pins);
  const declared = new Map([...model.graph!.inputs, ...model.graph!.outputs, ...model.graph!.valueInfo].map((v) => [v.name, v.type]));
  const unpinBatch = (v: ValueInfo): ValueInfo => {
    const was = tensorTypeOf(declared.get(v.name))?.shape;
    const now = tensorTypeOf(v.type)?.shape;
    if (batch === undefined || !was?.includes(batch) || !now) return v;
    return { ...v, type: withDims(v.type, now.map((d, i) => (was[i] === batch ? batch : d))) };
  };
  return { ...pinned, graph: { ...g, inputs: g.inputs.map(unpinBatch), outputs: g.outputs.map(unpinBatch), valueInfo: g.valueInfo.map(unpinBatch) } };
}
