/**
 * Hand-built integer programs for the certificate tests, and a plain
 * reference evaluator of the accumulating ops written straight from the
 * contract in src/integer/program.ts (independent of the certifier), and
 * the integer programs of quantized bundled models:
 *   conv:    acc[c, oh, ow] = bias[c] + Σ (x[ic, ih, iw] − inputZero)·w, over taps inside the input
 *   dense:   acc[n] = bias[n] + Σ_k (x[k] − inputZero)·w[n, k]
 *   sumpool: acc[c, oh, ow] = Σ (x − inputZero) over the window's inside elements
 */
import { join } from "node:path";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { intType } from "../../src/numerics/int.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import type { ConvOp, DenseOp, IntOp, Program, ProgramValue, SumPoolOp } from "../../src/integer/program.js";

export function val(name: string, shape: number[], bits = 32, signed = true): ProgramValue {
  return { name, shape, type: intType(bits, signed) };
}

export function program(inputShape: number[], values: ProgramValue[], ops: IntOp[], multiplierBits = 31): Program {
  return {
    inputs: [{ name: "x", shape: inputShape }],
    outputs: [],
    values: new Map(values.map((v) => [v.name, v])),
    ops,
    rounding: "single",
    multiplierBits,
  };
}

/** Output spatial size of a window op, as ONNX (floor mode). */
export function outSize(inSize: number, k: number, stride: number, padA: number, padB: number, dil = 1): number {
  return Math.floor((inSize + padA + padB - dil * (k - 1) - 1) / stride) + 1;
}

export function refConv(op: ConvOp, x: ArrayLike<number>, inShape: readonly number[], outShape: readonly number[]): number[] {
  const [cout, cinG, kh, kw] = op.weightShape;
  const [, inH, inW] = inShape as [number, number, number];
  const [, outH, outW] = outShape as [number, number, number];
  const out: number[] = [];
  for (let c = 0; c < cout; c++) {
    const g = Math.floor(c / (cout / op.group));
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let acc = op.bias ? op.bias[c]! : 0;
        for (let ci = 0; ci < cinG; ci++) {
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const ih = oh * op.strides[0] - op.pads[0] + ky * op.dilations[0];
              const iw = ow * op.strides[1] - op.pads[1] + kx * op.dilations[1];
              if (ih < 0 || iw < 0 || ih >= inH || iw >= inW) continue;
              const ic = g * cinG + ci;
              acc += (x[(ic * inH + ih) * inW + iw]! - op.inputZero) * op.weight[((c * cinG + ci) * kh + ky) * kw + kx]!;
            }
          }
        }
        out.push(acc);
      }
    }
  }
  return out;
}

export function refDense(op: DenseOp, x: ArrayLike<number>): number[] {
  const rows = x.length / op.inFeatures;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < op.outFeatures; n++) {
      let acc = op.bias ? op.bias[n]! : 0;
      for (let k = 0; k < op.inFeatures; k++) acc += (x[r * op.inFeatures + k]! - op.inputZero) * op.weight[n * op.inFeatures + k]!;
      out.push(acc);
    }
  }
  return out;
}

export function refSumPool(op: SumPoolOp, x: ArrayLike<number>, inShape: readonly number[], outShape: readonly number[]): number[] {
  const [c, inH, inW] = inShape as [number, number, number];
  const [, outH, outW] = outShape as [number, number, number];
  const out: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let acc = 0;
        for (let ky = 0; ky < op.kernel[0]; ky++) {
          for (let kx = 0; kx < op.kernel[1]; kx++) {
            const ih = oh * op.strides[0] - op.pads[0] + ky;
            const iw = ow * op.strides[1] - op.pads[1] + kx;
            if (ih >= 0 && iw >= 0 && ih < inH && iw < inW) acc += x[(ch * inH + ih) * inW + iw]! - op.inputZero;
          }
        }
        out.push(acc);
      }
    }
  }
  return out;
}

/** Calls f on every integer vector with entries in [lo, hi] (an odometer; the array is reused). */
export function forEachInput(n: number, lo: number, hi: number, f: (x: Int32Array) => void): void {
  const x = new Int32Array(n).fill(lo);
  for (;;) {
    f(x);
    let i = 0;
    while (i < n && x[i] === hi) x[i++] = lo;
    if (i === n) return;
    x[i]!++;
  }
}

/** models/NAME.onnx quantized with the default recipe (256 calibration samples) and integerized. */
export async function quantizedProgram(name: string): Promise<Program> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 256);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
    return integerizeModel(model);
  } finally {
    source.close();
  }
}
