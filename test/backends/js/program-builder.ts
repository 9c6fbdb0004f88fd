/**
 * Hand-built integer Programs for the back-end tests: a small builder that
 * declares values with their per-sample shapes and appends ops, plus random
 * generators for weights and dyadic multipliers (every shift class: s ≤ 0,
 * 1…16, 17…63, ≥ 64, and zero multipliers).
 */
import type {
  ConvOp,
  IntOp,
  MaxPoolOp,
  Program,
  ProgramIo,
  ProgramValue,
  RequantOp,
  RescaleOp,
  SumPoolOp,
} from "../../../src/integer/program.js";
import { type IntType, intMax, intMin, intType } from "../../../src/numerics/int.js";
import type { Dyadic, RequantRounding } from "../../../src/numerics/requant.js";
import type { Rng } from "../../helpers/prng.js";

export const U8 = intType(8, false);
export const I8 = intType(8, true);
export const I16 = intType(16, true);
export const I32 = intType(32, true);

const convOut = (n: number, k: number, s: number, p0: number, p1: number, d: number) => Math.floor((n + p0 + p1 - d * (k - 1) - 1) / s) + 1;

export class ProgramBuilder {
  readonly values = new Map<string, ProgramValue>();
  readonly ops: IntOp[] = [];
  readonly inputs: ProgramIo[] = [];
  readonly outputs: ProgramIo[] = [];
  private n = 0;

  constructor(
    readonly rounding: RequantRounding = "single",
    readonly multiplierBits = 31,
  ) {}

  shape(v: string): readonly number[] {
    return this.values.get(v)!.shape;
  }

  private fresh(prefix: string, shape: readonly number[], type: IntType, scale?: number, zeroPoint?: number): string {
    const name = `${prefix}${this.n++}`;
    this.values.set(name, { name, shape, type, scale, zeroPoint });
    return name;
  }

  /** A float program input and its QuantizeLinear (full range of `type` unless qmin/qmax given). */
  input(shape: readonly number[], type: IntType, scale: number, zeroPoint: number, range?: [number, number]): string {
    const name = `in${this.inputs.length}`;
    this.inputs.push({ name, shape });
    const out = this.fresh("q", shape, type, scale, zeroPoint);
    const [qmin, qmax] = range ?? [intMin(type), intMax(type)];
    this.ops.push({ kind: "quantize", source: `QuantizeLinear '${name}'`, input: name, output: out, scale, zeroPoint, qmin, qmax });
    return out;
  }

  output(x: string, scale: number): string {
    const name = `out${this.outputs.length}`;
    const v = this.values.get(x)!;
    this.outputs.push({ name, shape: v.shape });
    this.ops.push({ kind: "dequantize", source: `DequantizeLinear '${name}'`, input: x, output: name, scale, zeroPoint: v.zeroPoint ?? 0 });
    return name;
  }

  conv(x: string, o: Omit<ConvOp, "kind" | "input" | "output" | "source">): string {
    const [, H, W] = this.shape(x) as [number, number, number];
    const [O, , KH, KW] = o.weightShape;
    const OH = convOut(H, KH, o.strides[0], o.pads[0], o.pads[2], o.dilations[0]);
    const OW = convOut(W, KW, o.strides[1], o.pads[1], o.pads[3], o.dilations[1]);
    const out = this.fresh("acc", [O, OH, OW], I32);
    this.ops.push({ kind: "conv", source: `Conv '/conv${this.n}'`, input: x, output: out, ...o });
    return out;
  }

  dense(x: string, inputZero: number, weight: Int32Array, outFeatures: number, bias?: Int32Array): string {
    const shape = this.shape(x);
    const K = shape[shape.length - 1]!;
    const out = this.fresh("acc", [...shape.slice(0, -1), outFeatures], I32);
    this.ops.push({ kind: "dense", source: `Gemm '/fc${this.n}'`, input: x, output: out, inputZero, weight, inFeatures: K, outFeatures, bias });
    return out;
  }

  pool(kind: "sumpool" | "maxpool", x: string, o: Omit<SumPoolOp, "kind" | "input" | "output" | "source" | "inputZero"> & { inputZero?: number; dilations?: [number, number] }): string {
    const v = this.values.get(x)!;
    const [C, H, W] = v.shape as [number, number, number];
    const d = o.dilations ?? [1, 1];
    const OH = convOut(H, o.kernel[0], o.strides[0], o.pads[0], o.pads[2], d[0]);
    const OW = convOut(W, o.kernel[1], o.strides[1], o.pads[1], o.pads[3], d[1]);
    if (kind === "sumpool") {
      const out = this.fresh("acc", [C, OH, OW], I32);
      const op: SumPoolOp = { kind, source: `AveragePool '/pool${this.n}'`, input: x, output: out, inputZero: o.inputZero ?? 0, kernel: o.kernel, strides: o.strides, pads: o.pads };
      this.ops.push(op);
      return out;
    }
    const out = this.fresh("mp", [C, OH, OW], v.type, v.scale, v.zeroPoint);
    const op: MaxPoolOp = { kind, source: `MaxPool '/pool${this.n}'`, input: x, output: out, kernel: o.kernel, strides: o.strides, pads: o.pads, dilations: d };
    this.ops.push(op);
    return out;
  }

  requant(x: string, multipliers: readonly Dyadic[], axis: number, type: IntType, outZero: number, clamp?: [number, number]): string {
    const out = this.fresh("rq", this.shape(x), type, 0.05, outZero);
    const [clampLo, clampHi] = clamp ?? [intMin(type), intMax(type)];
    const op: RequantOp = { kind: "requant", source: `Requant '/rq${this.n}'`, input: x, output: out, multipliers, axis, outZero, clampLo, clampHi };
    this.ops.push(op);
    return out;
  }

  rescale(xs: readonly string[], o: Omit<RescaleOp, "kind" | "inputs" | "output" | "source" | "clampLo" | "clampHi">, type: IntType, clamp?: [number, number]): string {
    const out = this.fresh("rs", this.shape(xs[0]!), type, 0.05, o.outZero);
    const [clampLo, clampHi] = clamp ?? [intMin(type), intMax(type)];
    this.ops.push({ kind: "rescale", source: `Add '/add${this.n}'`, inputs: xs, output: out, ...o, clampLo, clampHi });
    return out;
  }

  reshape(x: string, shape: readonly number[]): string {
    const v = this.values.get(x)!;
    const out = this.fresh("r", shape, v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "reshape", source: `Reshape '/reshape${this.n}'`, input: x, output: out });
    return out;
  }

  transpose(x: string, perm: readonly number[]): string {
    const v = this.values.get(x)!;
    const out = this.fresh("t", perm.map((p) => v.shape[p]!), v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "transpose", source: `Transpose '/transpose${this.n}'`, input: x, output: out, perm });
    return out;
  }

  concat(xs: readonly string[], axis: number): string {
    const v = this.values.get(xs[0]!)!;
    const shape = [...v.shape];
    shape[axis] = xs.reduce((s, x) => s + this.shape(x)[axis]!, 0);
    const out = this.fresh("cat", shape, v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "concat", source: `Concat '/concat${this.n}'`, inputs: xs, output: out, axis });
    return out;
  }

  /** y[i_0, …] = x[Σ_a offsets[a][i_a]] (the output shape is the tables' lengths). */
  remap(x: string, offsets: readonly Int32Array[]): string {
    const v = this.values.get(x)!;
    const out = this.fresh("rm", offsets.map((t) => t.length), v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "remap", source: `Resize '/resize${this.n}'`, input: x, output: out, offsets });
    return out;
  }

  build(): Program {
    return { inputs: this.inputs, outputs: this.outputs, values: this.values, ops: this.ops, rounding: this.rounding, multiplierBits: this.multiplierBits };
  }
}

/** Integers uniform in [lo, hi], with some zeros. */
export function randomInts(rng: Rng, n: number, lo: number, hi: number, zeroChance = 0.1): Int32Array {
  return Int32Array.from({ length: n }, () => (rng.chance(zeroChance) ? 0 : rng.range(lo, hi)));
}

/** A `bits`-bit multiplier (2^(b−1) ≤ m < 2^b) with the given shift. */
export function dyadic(rng: Rng, s: number, bits = 31): Dyadic {
  return { m: 2 ** (bits - 1) + rng.int(2 ** (bits - 1)), s };
}

/** Shifts of every class the requant code distinguishes, for `rounding`. */
export function shiftClasses(rounding: RequantRounding): number[] {
  return rounding === "single" ? [-3, 0, 1, 5, 16, 17, 31, 38, 46, 63, 64, 90] : [24, 30, 31, 35, 40, 46, 62];
}
