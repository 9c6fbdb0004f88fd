/**
 * A deliberately plain interpreter of the integer Program, element by element
 * with the numerics module's scalar functions and multi-index loops, as a
 * third opinion beside the emulator (which is optimised) and the generated
 * JS (which is independent code).
 */
import { integerOutputs, isWideValue, type Program, sampleSize } from "../../../src/integer/program.js";
import { clampInt } from "../../../src/numerics/int.js";
import { quantizeValue } from "../../../src/numerics/int-group.js";
import { requantize } from "../../../src/numerics/requant.js";
import { rescale } from "../../../src/numerics/rescale.js";
import { refAssign } from "../../numerics/fixed-reference.js";

export interface NaiveResult {
  outputs: Map<string, Float32Array>;
  ints: Map<string, Int32Array>;
}

/** `feeds` are float inputs by program input name, or with `quantized` the quantize outputs' integers. */
export function naiveRun(p: Program, feeds: ReadonlyMap<string, Float32Array | Int32Array>, batch: number, quantized = false): NaiveResult {
  // an int64 accumulator (program.ts ACC64) is held in doubles: its certified range is below 2^48
  const vals = new Map<string, Int32Array>();
  const outputs = new Map<string, Float32Array>();
  const shape = (v: string) => p.values.get(v)!.shape;
  const size = (v: string) => sampleSize(shape(v));
  for (const op of p.ops) {
    const n = op.kind === "dequantize" ? 0 : batch * size(op.output);
    const out = (op.kind !== "dequantize" && isWideValue(p.values.get(op.output)) ? new Float64Array(n) : new Int32Array(n)) as Int32Array;
    switch (op.kind) {
      case "quantize": {
        const x = feeds.get(op.input)!;
        for (let i = 0; i < out.length; i++) out[i] = quantized ? x[i]! : quantizeValue(x[i]!, Math.fround(op.scale), op.zeroPoint, op.qmin, op.qmax);
        break;
      }
      case "dequantize": {
        const x = vals.get(op.input)!;
        outputs.set(op.output, Float32Array.from(x, (q) => Math.fround(Math.fround(q - op.zeroPoint) * Math.fround(op.scale))));
        break;
      }
      case "conv": {
        const x = vals.get(op.input)!;
        const [C, H, W] = shape(op.input) as [number, number, number];
        const [O, OH, OW] = shape(op.output) as [number, number, number];
        const [, CG, KH, KW] = op.weightShape;
        const OG = O / op.group;
        for (let n = 0; n < batch; n++)
          for (let o = 0; o < O; o++)
            for (let oh = 0; oh < OH; oh++)
              for (let ow = 0; ow < OW; ow++) {
                let acc = op.bias?.[o] ?? 0;
                for (let c = 0; c < CG; c++)
                  for (let kh = 0; kh < KH; kh++)
                    for (let kw = 0; kw < KW; kw++) {
                      const ih = oh * op.strides[0] - op.pads[0] + kh * op.dilations[0];
                      const iw = ow * op.strides[1] - op.pads[1] + kw * op.dilations[1];
                      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                      const ic = Math.floor(o / OG) * CG + c;
                      acc += (x[((n * C + ic) * H + ih) * W + iw]! - op.inputZero) * op.weight[((o * CG + c) * KH + kh) * KW + kw]!;
                    }
                out[((n * O + o) * OH + oh) * OW + ow] = acc;
              }
        break;
      }
      case "dense": {
        const x = vals.get(op.input)!;
        const K = op.inFeatures;
        const N = op.outFeatures;
        for (let r = 0; r < out.length / N; r++)
          for (let j = 0; j < N; j++) {
            let acc = op.bias?.[j] ?? 0;
            for (let k = 0; k < K; k++) acc += (x[r * K + k]! - op.inputZero) * op.weight[j * K + k]!;
            out[r * N + j] = acc;
          }
        break;
      }
      case "sumpool":
      case "maxpool": {
        const x = vals.get(op.input)!;
        const [C, H, W] = shape(op.input) as [number, number, number];
        const [, OH, OW] = shape(op.output) as [number, number, number];
        const [dh, dw] = op.kind === "maxpool" ? op.dilations : [1, 1];
        for (let nc = 0; nc < batch * C; nc++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              let acc = op.kind === "sumpool" ? 0 : -Infinity;
              for (let kh = 0; kh < op.kernel[0]; kh++)
                for (let kw = 0; kw < op.kernel[1]; kw++) {
                  const ih = oh * op.strides[0] - op.pads[0] + kh * dh;
                  const iw = ow * op.strides[1] - op.pads[1] + kw * dw;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  const v = x[(nc * H + ih) * W + iw]!;
                  acc = op.kind === "sumpool" ? acc + v - op.inputZero : Math.max(acc, v);
                }
              out[(nc * OH + oh) * OW + ow] = acc;
            }
        break;
      }
      case "requant": {
        const x = vals.get(op.input)!;
        const s = shape(op.input);
        const inner = sampleSize(s.slice(op.axis + 1));
        const C = s[op.axis]!;
        for (let i = 0; i < out.length; i++) {
          const d = op.multipliers.length === 1 ? op.multipliers[0]! : op.multipliers[Math.floor(i / inner) % C]!;
          out[i] = requantize(x[i]!, d, op.outZero, op.clampLo, op.clampHi, p.rounding);
        }
        break;
      }
      case "rescale": {
        const xs = op.inputs.map((v) => vals.get(v)!);
        for (let i = 0; i < out.length; i++) {
          out[i] = clampInt(rescale(xs.map((x) => x[i]!), op.inputZeros, op.multipliers, op.shift, op.outZero, op.clampLo, op.clampHi), op.clampLo, op.clampHi);
        }
        break;
      }
      case "fixedrescale": {
        // the independent ap_fixed reference (test/numerics/fixed-reference.ts), on the exact sum
        const xs = op.inputs.map((v) => vals.get(v)!);
        const c = op.cast;
        const t = { w: c.bits, i: c.bits, signed: c.signed, q: c.round, o: c.overflow, n: c.satBits };
        for (let i = 0; i < out.length; i++) {
          const sum = xs.reduce((acc, x, k) => acc + BigInt(x[i]!) * BigInt(op.multipliers[k]!), 0n);
          out[i] = clampInt(Number(refAssign(t, { n: sum, d: 2n ** BigInt(op.shift) })), op.clampLo, op.clampHi);
        }
        break;
      }
      case "reshape":
        out.set(vals.get(op.input)!);
        break;
      case "transpose": {
        const x = vals.get(op.input)!;
        const inShape = shape(op.input);
        const outShape = shape(op.output);
        const per = sampleSize(inShape);
        const strides = inShape.map((_, k) => sampleSize(inShape.slice(k + 1)));
        for (let n = 0; n < batch; n++)
          for (let i = 0; i < per; i++) {
            let rest = i;
            let src = 0;
            for (let k = outShape.length - 1; k >= 0; k--) {
              src += (rest % outShape[k]!) * strides[op.perm[k]!]!;
              rest = Math.floor(rest / outShape[k]!);
            }
            out[n * per + i] = x[n * per + src]!;
          }
        break;
      }
      case "remap": {
        // each output element's multi-index, its offsets summed (program.ts)
        const x = vals.get(op.input)!;
        const outShape = shape(op.output);
        const per = sampleSize(outShape);
        const inPer = sampleSize(shape(op.input));
        for (let n = 0; n < batch; n++)
          for (let i = 0; i < per; i++) {
            let rest = i;
            let src = 0;
            for (let k = outShape.length - 1; k >= 0; k--) {
              src += op.offsets[k]![rest % outShape[k]!]!;
              rest = Math.floor(rest / outShape[k]!);
            }
            out[n * per + i] = x[n * inPer + src]!;
          }
        break;
      }
      case "concat": {
        const outShape = shape(op.output);
        const outer = batch * sampleSize(outShape.slice(0, op.axis));
        const inner = sampleSize(outShape.slice(op.axis + 1));
        let o = 0;
        for (let m = 0; m < outer; m++)
          for (const v of op.inputs) {
            const block = shape(v)[op.axis]! * inner;
            out.set(vals.get(v)!.subarray(m * block, (m + 1) * block), o);
            o += block;
          }
        break;
      }
    }
    if (op.kind !== "dequantize") vals.set(op.output, out);
  }
  const ints = new Map(integerOutputs(p).map((v, k) => [p.outputs[k]!.name, vals.get(v)!]));
  return { outputs, ints };
}
