/**
 * A deliberately naive reference for integer Programs (one sample at a time,
 * plain loops, the program.ts formulas written out with src/numerics), so the
 * ORT export can be checked before and besides the emulator.
 */
import type { IntOp, Program } from "../../../src/integer/program.js";
import { integerOutputs, sampleSize } from "../../../src/integer/program.js";
import { clampInt } from "../../../src/numerics/int.js";
import { quantizeValue } from "../../../src/numerics/int-group.js";
import { requantize } from "../../../src/numerics/requant.js";

type Values = Map<string, number[]>;

function rshr(x: bigint, s: number): bigint {
  return s === 0 ? x : (x + (1n << BigInt(s - 1))) >> BigInt(s);
}

function strides(shape: readonly number[]): number[] {
  const st = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1]! * shape[i + 1]!;
  return st;
}

/** One plane of a pool: reduce(values of each window), padded positions skipped. */
function poolPlane(
  x: number[],
  H: number,
  W: number,
  OH: number,
  OW: number,
  kernel: readonly number[],
  st: readonly number[],
  pads: readonly number[],
  dil: readonly number[],
  reduce: (vals: number[]) => number,
): number[] {
  const out: number[] = [];
  for (let oy = 0; oy < OH; oy++)
    for (let ox = 0; ox < OW; ox++) {
      const vals: number[] = [];
      for (let ky = 0; ky < kernel[0]!; ky++)
        for (let kx = 0; kx < kernel[1]!; kx++) {
          const iy = oy * st[0]! + ky * dil[0]! - pads[0]!;
          const ix = ox * st[1]! + kx * dil[1]! - pads[1]!;
          if (iy >= 0 && iy < H && ix >= 0 && ix < W) vals.push(x[iy * W + ix]!);
        }
      out.push(reduce(vals));
    }
  return out;
}

function step(p: Program, op: IntOp, v: Values, floats: Map<string, Float32Array>, sample: number): void {
  const shape = (n: string) => p.values.get(n)!.shape;
  switch (op.kind) {
    case "quantize": {
      const f = floats.get(op.input)!;
      const n = sampleSize(shape(op.output));
      v.set(op.output, Array.from(f.subarray(sample * n, (sample + 1) * n), (x) => quantizeValue(x, op.scale, op.zeroPoint, op.qmin, op.qmax)));
      return;
    }
    case "dequantize":
      return;
    case "conv": {
      const x = v.get(op.input)!;
      const [O, Cg, kh, kw] = op.weightShape;
      const inS = shape(op.input);
      const og = O / op.group;
      const [OC, OH, OW] = shape(op.output) as [number, number, number];
      const [, H, W] = inS as [number, number, number];
      const res: number[] = [];
      for (let oc = 0; oc < OC; oc++) {
        const g = Math.floor(oc / og);
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++) {
            let s = op.bias?.[oc] ?? 0;
            for (let c = 0; c < Cg; c++)
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * op.strides[0] + ky * op.dilations[0] - op.pads[0];
                  const ix = ox * op.strides[1] + kx * op.dilations[1] - op.pads[1];
                  if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                  s += (x[((g * Cg + c) * H + iy) * W + ix]! - op.inputZero) * op.weight[((oc * Cg + c) * kh + ky) * kw + kx]!;
                }
            res.push(s);
          }
      }
      v.set(op.output, res);
      return;
    }
    case "dense": {
      const x = v.get(op.input)!;
      const K = op.inFeatures;
      const rows = x.length / K;
      const res: number[] = [];
      for (let r = 0; r < rows; r++)
        for (let n = 0; n < op.outFeatures; n++) {
          let s = op.bias?.[n] ?? 0;
          for (let k = 0; k < K; k++) s += (x[r * K + k]! - op.inputZero) * op.weight[n * K + k]!;
          res.push(s);
        }
      v.set(op.output, res);
      return;
    }
    case "sumpool":
    case "maxpool": {
      const x = v.get(op.input)!;
      const inS = shape(op.input);
      const [C, H, W] = inS as [number, number, number];
      const [, OH, OW] = shape(op.output) as [number, number, number];
      const dil = op.kind === "maxpool" ? op.dilations : [1, 1];
      const res: number[] = [];
      for (let c = 0; c < C; c++) {
        const plane = x.slice(c * H * W, (c + 1) * H * W);
        const reduce = op.kind === "maxpool" ? (vals: number[]) => Math.max(...vals) : (vals: number[]) => vals.reduce((a, q) => a + q - op.inputZero, 0);
        res.push(...poolPlane(plane, H, W, OH, OW, op.kernel, op.strides, op.pads, dil, reduce));
      }
      v.set(op.output, res);
      return;
    }
    case "requant": {
      const x = v.get(op.input)!;
      const st = strides(shape(op.input));
      const dim = shape(op.input)[op.axis] ?? 1;
      v.set(
        op.output,
        x.map((a, i) => {
          const c = op.multipliers.length === 1 ? 0 : Math.floor(i / st[op.axis]!) % dim;
          return requantize(a, op.multipliers[c]!, op.outZero, op.clampLo, op.clampHi, p.rounding);
        }),
      );
      return;
    }
    case "rescale": {
      const xs = op.inputs.map((n) => v.get(n)!);
      v.set(
        op.output,
        xs[0]!.map((_, i) => {
          let s = 0n;
          xs.forEach((x, k) => {
            s += BigInt(x[i]! - op.inputZeros[k]!) * BigInt(op.multipliers[k]!);
          });
          return clampInt(Number(rshr(s, op.shift)) + op.outZero, op.clampLo, op.clampHi);
        }),
      );
      return;
    }
    case "reshape":
      v.set(op.output, v.get(op.input)!);
      return;
    case "transpose": {
      const x = v.get(op.input)!;
      const inS = shape(op.input);
      const outS = shape(op.output);
      const ist = strides(inS);
      const ost = strides(outS);
      const res = new Array<number>(x.length);
      for (let j = 0; j < x.length; j++) {
        let src = 0;
        op.perm.forEach((a, d) => {
          src += (Math.floor(j / ost[d]!) % outS[d]!) * ist[a]!;
        });
        res[j] = x[src]!;
      }
      v.set(op.output, res);
      return;
    }
    case "concat": {
      const outS = shape(op.output);
      const outer = outS.slice(0, op.axis).reduce((a, b) => a * b, 1);
      const res: number[] = [];
      for (let o = 0; o < outer; o++)
        for (const n of op.inputs) {
          const x = v.get(n)!;
          const chunk = x.length / outer;
          res.push(...x.slice(o * chunk, (o + 1) * chunk));
        }
      v.set(op.output, res);
      return;
    }
  }
}

/** The raw integer outputs (program value names of integerOutputs(p)), batch-major, for float inputs. */
export function naiveRun(p: Program, floats: Map<string, Float32Array>, batch: number): Map<string, Int32Array> {
  const names = integerOutputs(p);
  const out = new Map(names.map((n) => [n, new Int32Array(batch * sampleSize(p.values.get(n)!.shape))]));
  for (let b = 0; b < batch; b++) {
    const v: Values = new Map();
    for (const op of p.ops) step(p, op, v, floats, b);
    for (const n of names) {
      const x = v.get(n)!;
      out.get(n)!.set(x, b * x.length);
    }
  }
  return out;
}
