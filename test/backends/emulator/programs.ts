/** Small hand-built integer programs and random operands for the emulator tests. */
import type { IntOp, Program, ProgramValue } from "../../../src/integer/program.js";
import { type IntType, intMax, intMin, intType } from "../../../src/numerics/int.js";
import type { Rng } from "../../helpers/prng.js";

export const INT32 = intType(32, true);
export const UINT8 = intType(8, false);
export const INT8 = intType(8, true);
export const INT16 = intType(16, true);
export const UINT16 = intType(16, false);

export interface InputSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: IntType;
  readonly zeroPoint: number;
}

/**
 * A program: for each input `spec.name`, a float input `spec.name + "_f"`
 * quantized into it; `ops`; and for each output value `v`, a dequantize into
 * the float output `v + "_out"`. `values` lists the values the ops write.
 */
export function makeProgram(inputs: readonly InputSpec[], ops: readonly IntOp[], values: readonly ProgramValue[], outputs: readonly string[], rounding: "single" | "double" = "single"): Program {
  const all = new Map<string, ProgramValue>();
  for (const i of inputs) all.set(i.name, { name: i.name, shape: i.shape, type: i.type, scale: 0.05, zeroPoint: i.zeroPoint });
  for (const v of values) all.set(v.name, v);
  const q: IntOp[] = inputs.map((i) => ({
    kind: "quantize",
    source: `QuantizeLinear '${i.name}'`,
    input: `${i.name}_f`,
    output: i.name,
    scale: 0.05,
    zeroPoint: i.zeroPoint,
    qmin: intMin(i.type),
    qmax: intMax(i.type),
  }));
  const dq: IntOp[] = outputs.map((o) => ({ kind: "dequantize", source: `DequantizeLinear '${o}'`, input: o, output: `${o}_out`, scale: 0.25, zeroPoint: 3 }));
  return {
    inputs: inputs.map((i) => ({ name: `${i.name}_f`, shape: i.shape })),
    outputs: outputs.map((o) => ({ name: `${o}_out`, shape: all.get(o)!.shape })),
    values: all,
    ops: [...q, ...ops, ...dq],
    rounding,
    multiplierBits: 31,
  };
}

export function acc(name: string, shape: readonly number[]): ProgramValue {
  return { name, shape, type: INT32 };
}

export function act(name: string, shape: readonly number[], type: IntType, zeroPoint = 0): ProgramValue {
  return { name, shape, type, scale: 0.1, zeroPoint };
}

/** Uniform integers in [lo, hi]. */
export function randInts(rng: Rng, n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.range(lo, hi);
  return a;
}

/** Integer feeds for every input spec, uniform over the type's range. */
export function randomFeeds(rng: Rng, inputs: readonly InputSpec[], batch: number): Map<string, Int32Array> {
  const m = new Map<string, Int32Array>();
  for (const i of inputs) m.set(`${i.name}_f`, randInts(rng, batch * i.shape.reduce((a, b) => a * b, 1), intMin(i.type), intMax(i.type)));
  return m;
}

/** A random activation type and zero point (negative ones included for signed types). */
export function randomActType(rng: Rng, wide = false): { type: IntType; zeroPoint: number } {
  const t = rng.pick(wide ? [UINT8, INT8, INT16, UINT16] : [UINT8, INT8]);
  return { type: t, zeroPoint: rng.range(intMin(t), intMax(t)) };
}
