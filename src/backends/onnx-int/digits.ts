/**
 * Splitting integers into 8-bit digits so that every product goes through a
 * ConvInteger / MatMulInteger combination measured exact on this CPU.
 *
 * Weights (constants) in base 128: w = Σ_j d_j·128^j, lower digits in
 * [0, 127], the top one signed; one int8 digit when w already fits int8.
 *
 * Activations wider than 8 bits, as d = x − z (int32): base 256,
 *   D_i = d_i mod 256 ∈ [0, 255] (uint8),  d_{i+1} = (d_i − D_i) / 256 (exact),
 * until the rest fits uint8 or int8, which is the top digit. ONNX: Mod (fmod=0
 * is a floor modulo on int32, measured), Sub, Div (exact here), Cast.
 */
import { DataType } from "../../ir/dtype.js";
import { intAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";

export interface WeightDigit {
  readonly values: Int8Array;
  /** The digit's place value, 128^j. */
  readonly factor: number;
}

export function weightDigits(w: Int32Array): WeightDigit[] {
  const out: WeightDigit[] = [];
  let rest = Float64Array.from(w);
  for (let factor = 1; ; factor *= 128) {
    let lo = 0;
    let hi = 0;
    for (const v of rest) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (lo >= -128 && hi <= 127) {
      if (lo !== 0 || hi !== 0 || out.length === 0) out.push({ values: Int8Array.from(rest), factor });
      return out;
    }
    const digit = Int8Array.from(rest, (v) => v - Math.floor(v / 128) * 128);
    if (digit.some((v) => v !== 0)) out.push({ values: digit, factor });
    rest = rest.map((v) => Math.floor(v / 128));
  }
}

export interface ActDigit {
  readonly x: Emitted;
  /** Zero point to pass to the integer kernel (only for an undigitized 8-bit activation). */
  readonly zero?: number;
  readonly factor: number;
}

/** Digits of d = x − z for d in [lo, hi], x an int32 tensor. */
export function activationDigits(ctx: EmitContext, x: Emitted, z: number, lo: number, hi: number, hint: string): ActDigit[] {
  let d = z === 0 ? x : ctx.binary("Sub", x, ctx.b.scalar(DataType.INT32, z, "z"), `${hint}_d`);
  const out: ActDigit[] = [];
  for (let factor = 1; ; factor *= 256) {
    if (lo >= 0 && hi <= 255) return [...out, { x: ctx.cast(d, DataType.UINT8, `${hint}_digit`), factor }];
    if (lo >= -128 && hi <= 127) return [...out, { x: ctx.cast(d, DataType.INT8, `${hint}_digit`), factor }];
    const base = ctx.b.scalar(DataType.INT32, 256, "base");
    const digit: Emitted = { name: ctx.b.op("Mod", [d.name, base], [intAttr("fmod", 0)], `${hint}_mod`), dtype: DataType.INT32 };
    out.push({ x: ctx.cast(digit, DataType.UINT8, `${hint}_digit`), factor });
    d = ctx.binary("Div", ctx.binary("Sub", d, digit.name, `${hint}_rest`), base, `${hint}_rest`);
    lo = Math.floor(lo / 256);
    hi = Math.floor(hi / 256);
  }
}
