/**
 * Hand-built integer Programs for the onnx-int tests: small networks that
 * together use every op kind, both carriers (8-bit and int32), weights
 * outside int8 (digit splitting), per-channel requant edge cases
 * (s ≤ 0, s ≥ 63, m = 0), and both rounding modes.
 */
import type { IntOp, Program, ProgramValue } from "../../../src/integer/program.js";
import { type IntType, intMax, intMin, intType } from "../../../src/numerics/int.js";
import type { Dyadic, RequantRounding } from "../../../src/numerics/requant.js";
import { Rng } from "../../helpers/prng.js";

export const U8 = intType(8, false);
export const S8 = intType(8, true);
export const S16 = intType(16, true);
export const U16 = intType(16, false);
export const S4 = intType(4, true);
export const U4 = intType(4, false);
export const I32 = intType(32, true);
export const I31 = intType(31, true);

export class ProgramBuilder {
  readonly values = new Map<string, ProgramValue>();
  readonly ops: IntOp[] = [];
  readonly inputs: { name: string; shape: number[] }[] = [];
  readonly outputs: { name: string; shape: number[] }[] = [];
  constructor(readonly rng: Rng) {}

  value(name: string, shape: number[], type: IntType, scale?: number, zeroPoint?: number): string {
    if (this.values.has(name)) throw new Error(`duplicate value ${name}`);
    this.values.set(name, { name, shape, type, scale, zeroPoint });
    return name;
  }
  shape(name: string): number[] {
    return [...this.values.get(name)!.shape];
  }
  type(name: string): IntType {
    return this.values.get(name)!.type;
  }

  input(name: string, shape: number[], type: IntType, scale: number, zeroPoint: number, qmin = intMin(type), qmax = intMax(type)): string {
    scale = Math.fround(scale);
    this.inputs.push({ name, shape });
    const out = this.value(`${name}_q`, shape, type, scale, zeroPoint);
    this.ops.push({ kind: "quantize", source: name, input: name, output: out, scale, zeroPoint, qmin, qmax });
    return out;
  }

  output(x: string, name: string, scale: number): void {
    const v = this.values.get(x)!;
    scale = Math.fround(scale);
    this.outputs.push({ name, shape: [...v.shape] });
    this.ops.push({ kind: "dequantize", source: name, input: x, output: name, scale, zeroPoint: v.zeroPoint ?? 0 });
  }

  randInts(n: number, lo: number, hi: number, extremes = true): Int32Array {
    return Int32Array.from({ length: n }, () => (extremes && this.rng.chance(0.2) ? this.rng.pick([lo, hi]) : this.rng.range(lo, hi)));
  }

  conv(x: string, out: string, o: { oc: number; k: [number, number]; strides?: [number, number]; pads?: [number, number, number, number]; dilations?: [number, number]; group?: number; wlo?: number; whi?: number; bias?: boolean; inputZero?: number }): string {
    const [C, H, W] = this.shape(x) as [number, number, number];
    const group = o.group ?? 1;
    const strides = o.strides ?? [1, 1];
    const pads = o.pads ?? [0, 0, 0, 0];
    const dil = o.dilations ?? [1, 1];
    const [kh, kw] = o.k;
    const OH = Math.floor((H + pads[0] + pads[2] - (dil[0] * (kh - 1) + 1)) / strides[0]) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - (dil[1] * (kw - 1) + 1)) / strides[1]) + 1;
    const weight = this.randInts(o.oc * (C / group) * kh * kw, o.wlo ?? -128, o.whi ?? 127);
    const bias = o.bias === false ? undefined : this.randInts(o.oc, -5000, 5000, false);
    this.value(out, [o.oc, OH, OW], I32);
    this.ops.push({ kind: "conv", source: out, input: x, output: out, inputZero: o.inputZero ?? this.values.get(x)!.zeroPoint ?? 0, weight, weightShape: [o.oc, C / group, kh, kw], bias, strides, pads, dilations: dil, group });
    return out;
  }

  dense(x: string, out: string, n: number, wlo = -128, whi = 127): string {
    const s = this.shape(x);
    const k = s[s.length - 1]!;
    const weight = this.randInts(n * k, wlo, whi);
    this.value(out, [...s.slice(0, -1), n], I32);
    this.ops.push({ kind: "dense", source: out, input: x, output: out, inputZero: this.values.get(x)!.zeroPoint ?? 0, weight, inFeatures: k, outFeatures: n, bias: this.randInts(n, -3000, 3000, false) });
    return out;
  }

  /** A requant whose multipliers map the accumulator's typical spread `accSpan` onto the output type. */
  requant(x: string, out: string, type: IntType, zero: number, axis: number, multipliers: Dyadic[], clamp?: [number, number]): string {
    this.value(out, this.shape(x), type, 0.05, zero);
    this.ops.push({ kind: "requant", source: out, input: x, output: out, multipliers, axis, outZero: zero, clampLo: clamp?.[0] ?? intMin(type), clampHi: clamp?.[1] ?? intMax(type) });
    return out;
  }

  /** Random dyadic multipliers m ∈ [2^30, 2^31) with shifts in [sLo, sHi]. */
  dyadics(n: number, sLo: number, sHi: number): Dyadic[] {
    return Array.from({ length: n }, () => ({ m: this.rng.range(2 ** 30, 2 ** 31 - 1), s: this.rng.range(sLo, sHi) }));
  }

  rescale(xs: string[], out: string, type: IntType, zero: number, multipliers: number[], shift: number, clamp?: [number, number]): string {
    this.value(out, this.shape(xs[0]!), type, 0.05, zero);
    this.ops.push({ kind: "rescale", source: out, inputs: xs, output: out, inputZeros: xs.map((x) => this.values.get(x)!.zeroPoint ?? 0), multipliers, shift, outZero: zero, clampLo: clamp?.[0] ?? intMin(type), clampHi: clamp?.[1] ?? intMax(type) });
    return out;
  }

  sumpool(x: string, out: string, kernel: [number, number], strides: [number, number] = [1, 1], pads: [number, number, number, number] = [0, 0, 0, 0]): string {
    const [C, H, W] = this.shape(x) as [number, number, number];
    const OH = Math.floor((H + pads[0] + pads[2] - kernel[0]) / strides[0]) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - kernel[1]) / strides[1]) + 1;
    this.value(out, [C, OH, OW], I32);
    this.ops.push({ kind: "sumpool", source: out, input: x, output: out, inputZero: this.values.get(x)!.zeroPoint ?? 0, kernel, strides, pads });
    return out;
  }

  maxpool(x: string, out: string, kernel: [number, number], strides: [number, number], pads: [number, number, number, number] = [0, 0, 0, 0], dilations: [number, number] = [1, 1]): string {
    const [C, H, W] = this.shape(x) as [number, number, number];
    const OH = Math.floor((H + pads[0] + pads[2] - (dilations[0] * (kernel[0] - 1) + 1)) / strides[0]) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - (dilations[1] * (kernel[1] - 1) + 1)) / strides[1]) + 1;
    const v = this.values.get(x)!;
    this.value(out, [C, OH, OW], v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "maxpool", source: out, input: x, output: out, kernel, strides, pads, dilations });
    return out;
  }

  reshape(x: string, out: string, shape: number[]): string {
    const v = this.values.get(x)!;
    this.value(out, shape, v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "reshape", source: out, input: x, output: out });
    return out;
  }

  transpose(x: string, out: string, perm: number[]): string {
    const v = this.values.get(x)!;
    this.value(out, perm.map((a) => v.shape[a]!), v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "transpose", source: out, input: x, output: out, perm });
    return out;
  }

  concat(xs: string[], out: string, axis: number): string {
    const v = this.values.get(xs[0]!)!;
    const shape = [...v.shape];
    shape[axis] = xs.reduce((a, x) => a + this.shape(x)[axis]!, 0);
    this.value(out, shape, v.type, v.scale, v.zeroPoint);
    this.ops.push({ kind: "concat", source: out, inputs: xs, output: out, axis });
    return out;
  }

  build(rounding: RequantRounding = "single"): Program {
    return { inputs: this.inputs, outputs: this.outputs, values: this.values, ops: this.ops, rounding, multiplierBits: 31 };
  }
}

/**
 * A CNN-like program on 8-bit carriers: conv (padded, biased) → per-channel
 * requant with ReLU clamp → maxpool → padded sumpool → requant → dilated
 * depthwise conv → requant → global sumpool → requant → reshape → dense →
 * requant → output; a second output through rescale/concat/transpose.
 */
export function cnnProgram(seed: number, act: IntType, rounding: RequantRounding = "single"): Program {
  const b = new ProgramBuilder(new Rng(seed));
  const zx = act.signed ? -3 : 7;
  const x = b.input("image", [3, 9, 9], act, 1 / 64, zx);
  const z = act.signed ? -10 : 12;
  const c1 = b.conv(x, "c1", { oc: 8, k: [3, 3], pads: [1, 1, 1, 1] });
  const a1 = b.requant(c1, "a1", act, z, 0, b.dyadics(8, 38, 44), [z, intMax(act)]);
  const m1 = b.maxpool(a1, "m1", [2, 2], [2, 2], [0, 0, 1, 1]);
  const p1 = b.sumpool(m1, "p1", [3, 3], [1, 1], [1, 1, 1, 1]);
  const a2 = b.requant(p1, "a2", act, z, 0, [{ m: 1908874354, s: 34 }]);
  const c2 = b.conv(a2, "c2", { oc: 8, k: [3, 3], group: 8, dilations: [2, 2], pads: [2, 1, 2, 1], strides: [1, 2] });
  const a3 = b.requant(c2, "a3", act, z, 0, b.dyadics(1, 36, 40)); // one multiplier, per-channel bias
  const g = b.sumpool(a3, "g", b.shape(a3).slice(1) as [number, number]);
  const a4 = b.requant(g, "a4", act, z, 0, [{ m: 1431655765, s: 33 }]);
  const f = b.reshape(a4, "f", [8]);
  const d = b.dense(f, "d", 5);
  const y = b.requant(d, "y", act, 0, 0, b.dyadics(5, 36, 40));
  b.output(y, "logits", 0.1);
  // second head: residual-style rescale of two branches, concat, transpose
  const r = b.rescale([a1, a1], "r", act, z, [1 << 20, 3 << 19], 21, [z, intMax(act)]);
  const s = b.rescale([m1], "s", act, z, [1], 0);
  const sr = b.maxpool(r, "rp", [2, 2], [2, 2], [0, 0, 1, 1]);
  const cat = b.concat([sr, s], "cat", 0);
  const t = b.transpose(cat, "t", [1, 2, 0]);
  b.output(t, "features", 0.02);
  return b.build(rounding);
}

/**
 * Wide values on int32 carriers: a 16-bit input, a conv with weights far
 * outside int8 (base-128 digits) on 16-bit activations (base-256 digits),
 * a padded maxpool on int32 (Pad + Slice + Max), a dense with 12-bit
 * weights, requant into int16 and uint16 outputs.
 */
export function wideProgram(seed: number, rounding: RequantRounding = "single"): Program {
  const b = new ProgramBuilder(new Rng(seed));
  const x = b.input("signal", [2, 6, 5], S16, 1 / 4096, -77);
  const c = b.conv(x, "c", { oc: 4, k: [3, 2], pads: [1, 0, 1, 1], wlo: -300, whi: 300 });
  const a = b.requant(c, "a", S16, 100, 0, b.dyadics(4, 34, 38));
  const m = b.maxpool(a, "m", [3, 3], [2, 1], [1, 1, 1, 1]);
  const p = b.sumpool(m, "p", [2, 2], [2, 2], [0, 0, 1, 1]);
  const q = b.requant(p, "q", U16, 40000, 0, b.dyadics(1, 33, 35));
  b.output(q, "pooled", 0.5);
  const f = b.reshape(m, "f", [4, b.shape(m)[1]! * b.shape(m)[2]!]);
  const d = b.dense(f, "d", 3, -2000, 2000);
  const y = b.requant(d, "y", S16, -5, 1, b.dyadics(3, 40, 44));
  b.output(y, "out", 0.25);
  return b.build(rounding);
}

/**
 * Narrow types: an int4 input with a narrowed quantizer range, dense into
 * uint4 with a clamp, and uint8 weights' spread [−255, 255]; the accumulator
 * has two readers.
 */
export function narrowProgram(seed: number, rounding: RequantRounding = "single"): Program {
  const b = new ProgramBuilder(new Rng(seed));
  const x = b.input("v", [3, 16], S4, 0.25, 1, -7, 7);
  const d = b.dense(x, "d", 6, -255, 255);
  const y = b.requant(d, "y", U4, 3, 1, b.dyadics(6, 36, 40), [3, 14]);
  b.output(y, "out", 0.5);
  // a second reader of the accumulator: its bias is added in the graph, not folded
  const y2 = b.requant(d, "y2", S8, -2, 1, b.dyadics(1, 34, 36));
  b.output(y2, "out2", 0.25);
  return b.build(rounding);
}

/**
 * Requant edge cases on accumulators near ±2^31 (60 inputs × 17-bit weights)
 * into int31 (int32 carrier, saturating at ±2^30):
 * per channel s ≤ 0, 1, 31, 62, ≥ 63 and m = 0 (single rounding), or for
 * double rounding shifts 31…62 plus m = 0.
 */
export function edgeProgram(seed: number, rounding: RequantRounding): Program {
  const b = new ProgramBuilder(new Rng(seed));
  const x = b.input("v", [60], U8, 1 / 255, 0);
  const d = b.dense(x, "d", 12, -131071, 131071);
  const top = (s: number): Dyadic => ({ m: b.rng.range(2 ** 30, 2 ** 31 - 1), s });
  const ms: Dyadic[] =
    rounding === "single"
      ? [top(0), top(-3), top(1), top(5), top(31), top(40), top(62), top(63), top(70), { m: 0, s: 0 }, { m: 2 ** 30, s: 30 }, top(45)]
      : [top(31), top(32), top(40), top(50), top(62), top(31), top(33), top(45), top(61), top(36), { m: 0, s: 31 }, top(60)];
  const y = b.requant(d, "y", I31, 17, 0, ms);
  b.output(y, "acc", 1);
  return b.build(rounding);
}

/** Double rounding with left shifts (s < 31) on small accumulators (x·2^(31−s) stays in int32). */
export function leftShiftProgram(seed: number): Program {
  const b = new ProgramBuilder(new Rng(seed));
  const x = b.input("v", [4], S8, 1 / 127, 0);
  const d = b.dense(x, "d", 6, -4, 4);
  const y = b.requant(d, "y", S8, -1, 0, [
    { m: 1500000000, s: 20 },
    { m: 2 ** 30, s: 25 },
    { m: 2147483647, s: 30 },
    { m: 1234567890, s: 29 },
    { m: 1073741825, s: 31 },
    { m: 2000000000, s: 22 },
  ]);
  b.output(y, "out", 1 / 32);
  return b.build("double");
}
