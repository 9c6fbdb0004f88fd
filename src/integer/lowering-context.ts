/**
 * Shared state of one `integerize` run: the stripped float graph with its
 * specs, inferred shapes, constants, the program being built, and the map
 * from float values to the integer values that carry them.
 */
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { type AffineQuant, type QuantSpec, quantizeValue } from "../ir/quant.js";
import type { Tensor } from "../ir/tensor.js";
import { type IntType, intMax, intMin, intType } from "../numerics/int.js";
import { formatType } from "../quant/format-annotation.js";
import type { RequantRounding } from "../numerics/requant.js";
import type { FixedType } from "../numerics/fixed.js";
import type { IntOp, ProgramValue } from "./program.js";

export interface IntegerizeOptions {
  /** Requant rounding: "single" (default) or gemmlowp/TFLite "double". */
  readonly rounding?: RequantRounding;
  /** Width of requant multipliers, 2…31 (default 31). */
  readonly multiplierBits?: number;
  /** Called with each note of the QDQ reader: a weight format inferred from its codes, not read from an annotation. */
  readonly onNote?: (line: string) => void;
}

/** A per-tensor integer activation spec, as the program needs it. */
export interface ActSpec {
  readonly scale: number;
  readonly zeroPoint: number;
  readonly qmin: number;
  readonly qmax: number;
  readonly type: IntType;
  /** The exact ap type of a fixed-point activation (quant/fixed-formats.ts). */
  readonly fixed?: FixedType;
}

const STORAGE_BITS: Partial<Record<number, [number, boolean]>> = {
  [DataType.INT4]: [4, true],
  [DataType.UINT4]: [4, false],
  [DataType.INT8]: [8, true],
  [DataType.UINT8]: [8, false],
  [DataType.INT16]: [16, true],
  [DataType.UINT16]: [16, false],
};

export const INT32: IntType = intType(32, true);

export function label(n: Node): string {
  return `${n.opType} '${n.name || n.outputs[0] || "?"}'`;
}

export class LoweringContext {
  readonly types;
  readonly consts: Map<string, Tensor>;
  readonly ops: IntOp[] = [];
  readonly values = new Map<string, ProgramValue>();
  /** Float value name → integer value name. */
  readonly lowered = new Map<string, string>();
  /** Nodes already lowered as part of another node's pattern (fused clamps). */
  readonly consumed = new Set<Node>();
  readonly readers = new Map<string, Node[]>();
  /** Graph inputs read only as attention masks (lower-key-mask.ts): quantized to 0/1. */
  readonly maskInputs = new Set<string>();
  readonly graphOutputs: Set<string>;
  readonly rounding: RequantRounding;
  readonly multiplierBits: number;

  constructor(
    readonly graph: Graph,
    opts: IntegerizeOptions,
  ) {
    this.types = inferTypes(graph);
    this.consts = constantTensors(graph);
    for (const n of graph.nodes) for (const i of n.inputs) if (i) this.readers.set(i, [...(this.readers.get(i) ?? []), n]);
    this.graphOutputs = new Set(graph.outputs.map((o) => o.name));
    this.rounding = opts.rounding ?? "single";
    this.multiplierBits = opts.multiplierBits ?? 31;
    if (!Number.isInteger(this.multiplierBits) || this.multiplierBits < 2 || this.multiplierBits > 31) {
      throw new FixqError("usage", `multiplier width ${this.multiplierBits} is not in 2…31`);
    }
  }

  /** Per-sample shape of a float value (its leading batch axis dropped); throws if unknown. */
  sampleShape(name: string, where: string): number[] {
    const shape = this.types.get(name)?.shape;
    if (!shape || shape.length === 0 || shape.slice(1).some((d) => typeof d !== "number")) {
      throw new FixqError("unsupported", `cannot integerize: the shape of '${name}' is not known (a static shape after the batch axis is needed)`, where);
    }
    return shape.slice(1) as number[];
  }

  /** The integer-activation spec of a value, or undefined when it has none. Rejects specs integer code cannot run. */
  actSpec(name: string, where: string): ActSpec | undefined {
    const q: QuantSpec | undefined = this.graph.quant?.get(name);
    if (!q) return undefined;
    if (q.kind !== "affine") {
      throw new FixqError("unsupported", `cannot integerize: '${name}' is quantized as ${q.kind === "float" ? q.format.name : q.kind}; integer-only code needs integer (affine) activations`, where);
    }
    if (q.scale.length !== 1) throw new FixqError("unsupported", `cannot integerize: activation '${name}' is quantized per channel; integer-only code needs one scale per activation tensor`, where);
    return affineActSpec(q, name, where);
  }

  /** Adds a program value, with a name unique in the program. */
  addValue(base: string, shape: readonly number[], type: IntType, spec?: ActSpec): string {
    let name = base;
    for (let k = 2; this.values.has(name); k++) name = `${base}_${k}`;
    this.values.set(name, { name, shape, type, ...(spec ? { scale: spec.scale, zeroPoint: spec.zeroPoint } : {}), ...(spec?.fixed ? { fixed: spec.fixed } : {}) });
    return name;
  }

  /** The integer value holding float value `name`, or a "not fully quantized" error naming the node (and a constant as one: it has no integer value). */
  intInput(name: string, n: Node): string {
    const v = this.lowered.get(name);
    if (v) return v;
    const c = this.consts.get(name);
    if (c) throw new FixqError("unsupported", `cannot integerize: ${label(n)} reads the constant '${name}' (${dtypeName(c.dtype)} [${c.dims.join(",")}]) where integer code takes only a computed value`);
    throw new FixqError("unsupported", `not fully quantized: ${label(n)} reads '${name}', which is float (it has no integer quantization spec)`);
  }

  /** The spec of an already-lowered integer activation. */
  specOfInt(intName: string): ActSpec {
    const v = this.values.get(intName)!;
    if (v.scale === undefined || v.zeroPoint === undefined) throw new Error(`internal: '${intName}' is not a quantized activation`);
    return { scale: v.scale, zeroPoint: v.zeroPoint, qmin: intMin(v.type), qmax: intMax(v.type), type: v.type, ...(v.fixed ? { fixed: v.fixed } : {}) };
  }

  /** The only reader of a value, when it has exactly one and is not a graph output. */
  soleReader(name: string): Node | undefined {
    const r = this.readers.get(name);
    return r?.length === 1 && !this.graphOutputs.has(name) ? r[0] : undefined;
  }
}


function affineActSpec(q: AffineQuant, name: string, where: string): ActSpec {
  const storage = STORAGE_BITS[q.format.dtype];
  if (!storage) throw new FixqError("unsupported", `cannot integerize: activation '${name}' has element type ${dtypeName(q.format.dtype)}, not a 4/8/16-bit integer`, where);
  const scale = q.scale[0]!;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new FixqError("unsupported", `cannot integerize: activation '${name}' has scale ${scale}`, where);
  // The exact format's type (int8 for [-127, 127]); its range is what the requant and quantize clamps keep to.
  return { scale, zeroPoint: q.zeroPoint[0] ?? 0, qmin: q.format.qmin, qmax: q.format.qmax, type: formatType(q.format), ...(q.fixed ? { fixed: q.fixed } : {}) };
}

/** The integer a float clamp bound maps to: QuantizeLinear of the bound (monotone, so it commutes with the clamp). */
export function quantizeBound(v: number, s: ActSpec): number {
  if (v === Number.POSITIVE_INFINITY) return s.qmax;
  if (v === Number.NEGATIVE_INFINITY) return s.qmin;
  return quantizeValue(v, s.scale, s.zeroPoint, s.qmin, s.qmax);
}
