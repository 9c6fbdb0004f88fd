/**
 * A naive reference interpreter of the integer program, written from the
 * contract in src/integer/program.ts with straightforward per-sample loops
 * and BigInt where products can pass 2^53 (requant, rescale). It shares no
 * code with the emulator: the emulator's kernels are tested against it.
 */
import type { IntOp, Program } from "../../../src/integer/program.js";

const big = BigInt;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b > a ? q - 1n : q;
}

/** rshr(x, s) = floor((x + 2^(s−1)) / 2^s), s ≥ 1; x for s = 0. */
export function refRshr(x: bigint, s: number): bigint {
  if (s === 0) return x;
  return floorDiv(x + (1n << big(s - 1)), 1n << big(s));
}

/** Single rounding: round(x·m·2^−s), ties toward +∞ (x·m·2^−s exactly when s ≤ 0). */
export function refSingle(x: number, m: number, s: number): bigint {
  const p = big(x) * big(m);
  return s <= 0 ? p << big(-s) : refRshr(p, s);
}

/** gemmlowp MultiplyByQuantizedMultiplier with int64 semantics: left shift, SRDHM, RDBP. */
export function refDouble(x: number, m: number, s: number): bigint {
  const left = Math.max(0, 31 - s);
  const right = Math.max(0, s - 31);
  const a = big(x) << big(left);
  if (a < -(2n ** 31n) || a >= 2n ** 31n) throw new RangeError("left shift overflows int32");
  let h: bigint;
  if (a === -(2n ** 31n) && big(m) === -(2n ** 31n)) h = 2n ** 31n - 1n;
  else {
    const ab = a * big(m);
    const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
    h = (ab + nudge) / (1n << 31n); // truncation toward zero, as C++
  }
  if (right === 0) return h;
  const mask = (1n << big(right)) - 1n;
  const rem = h & mask;
  const threshold = (mask >> 1n) + (h < 0n ? 1n : 0n);
  return (h >> big(right)) + (rem > threshold ? 1n : 0n);
}

const clamp = (x: bigint, lo: number, hi: number) => Number(x < big(lo) ? big(lo) : x > big(hi) ? big(hi) : x);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** ONNX QuantizeLinear, spelled out: float32 division, round half to even, saturate. */
export function refQuantize(x: number, scale: number, zp: number, qmin: number, qmax: number): number {
  const v = Math.fround(Math.fround(x) / Math.fround(scale));
  const f = Math.floor(v);
  const r = v - f > 0.5 || (v - f === 0.5 && f % 2 !== 0) ? f + 1 : f;
  return Math.min(qmax, Math.max(qmin, r + zp));
}

function runOp(p: Program, op: IntOp, env: Map<string, number[]>): void {
  const shapeOf = (n: string) => p.values.get(n)!.shape;
  const put = (name: string, v: number[]) => env.set(name, v);
  switch (op.kind) {
    case "quantize":
    case "dequantize":
      throw new Error("boundary ops are handled by refRun");
    case "conv": {
      const x = env.get(op.input)!;
      const [c, h, w] = shapeOf(op.input) as [number, number, number];
      const [oc, oh, ow] = shapeOf(op.output) as [number, number, number];
      const [, icg, kh, kw] = op.weightShape;
      const ocg = oc / op.group;
      const y = new Array<number>(oc * oh * ow).fill(0);
      for (let o = 0; o < oc; o++) {
        const g = Math.floor(o / ocg);
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let acc = op.bias ? op.bias[o]! : 0;
            for (let i = 0; i < icg; i++) {
              const ci = g * icg + i;
              for (let ky = 0; ky < kh; ky++) {
                for (let kx = 0; kx < kw; kx++) {
                  const yy = oy * op.strides[0] - op.pads[0] + ky * op.dilations[0];
                  const xx = ox * op.strides[1] - op.pads[1] + kx * op.dilations[1];
                  const v = yy < 0 || yy >= h || xx < 0 || xx >= w ? op.inputZero : x[(ci * h + yy) * w + xx]!;
                  acc += (v - op.inputZero) * op.weight[((o * icg + i) * kh + ky) * kw + kx]!;
                }
              }
            }
            y[(o * oh + oy) * ow + ox] = acc;
          }
        }
      }
      if (c !== icg * op.group) throw new Error("bad group");
      put(op.output, y);
      return;
    }
    case "dense": {
      const x = env.get(op.input)!;
      const K = op.inFeatures;
      const N = op.outFeatures;
      const rows = x.length / K;
      const y: number[] = [];
      for (let r = 0; r < rows; r++) {
        for (let n = 0; n < N; n++) {
          let acc = op.bias ? op.bias[n]! : 0;
          for (let k = 0; k < K; k++) acc += (x[r * K + k]! - op.inputZero) * op.weight[n * K + k]!;
          y.push(acc);
        }
      }
      put(op.output, y);
      return;
    }
    case "sumpool":
    case "maxpool": {
      const x = env.get(op.input)!;
      const [c, h, w] = shapeOf(op.input) as [number, number, number];
      const [, oh, ow] = shapeOf(op.output) as [number, number, number];
      const dil = op.kind === "maxpool" ? op.dilations : [1, 1];
      const y: number[] = [];
      for (let ci = 0; ci < c; ci++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let acc = op.kind === "sumpool" ? 0 : Number.NEGATIVE_INFINITY;
            for (let ky = 0; ky < op.kernel[0]; ky++) {
              for (let kx = 0; kx < op.kernel[1]; kx++) {
                const yy = oy * op.strides[0] - op.pads[0] + ky * dil[0]!;
                const xx = ox * op.strides[1] - op.pads[1] + kx * dil[1]!;
                if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                const v = x[(ci * h + yy) * w + xx]!;
                acc = op.kind === "sumpool" ? acc + (v - op.inputZero) : Math.max(acc, v);
              }
            }
            y.push(acc);
          }
        }
      }
      put(op.output, y);
      return;
    }
    case "requant": {
      const x = env.get(op.input)!;
      const s = shapeOf(op.input);
      const inner = size(s.slice(op.axis + 1));
      const ch = op.multipliers.length === 1 ? 1 : s[op.axis]!;
      put(
        op.output,
        x.map((v, i) => {
          const d = op.multipliers[op.multipliers.length === 1 ? 0 : Math.floor(i / inner) % ch]!;
          const r = p.rounding === "single" ? refSingle(v, d.m, d.s) : refDouble(v, d.m, d.s);
          return clamp(r + big(op.outZero), op.clampLo, op.clampHi);
        }),
      );
      return;
    }
    case "rescale": {
      const xs = op.inputs.map((n) => env.get(n)!);
      put(
        op.output,
        xs[0]!.map((_, j) => {
          let acc = 0n;
          xs.forEach((x, i) => {
            acc += big(x[j]! - op.inputZeros[i]!) * big(op.multipliers[i]!);
          });
          return clamp(big(op.outZero) + refRshr(acc, op.shift), op.clampLo, op.clampHi);
        }),
      );
      return;
    }
    case "reshape":
      put(op.output, env.get(op.input)!);
      return;
    case "transpose": {
      const x = env.get(op.input)!;
      const is = shapeOf(op.input);
      const os = shapeOf(op.output);
      const y: number[] = [];
      for (let j = 0; j < x.length; j++) {
        // output multi-index of j, then input index with perm
        let rem = j;
        const oi = os.map(() => 0);
        for (let a = os.length - 1; a >= 0; a--) {
          oi[a] = rem % os[a]!;
          rem = Math.floor(rem / os[a]!);
        }
        const ii = is.map(() => 0);
        op.perm.forEach((pa, a) => {
          ii[pa] = oi[a]!;
        });
        let src = 0;
        for (let a = 0; a < is.length; a++) src = src * is[a]! + ii[a]!;
        y.push(x[src]!);
      }
      put(op.output, y);
      return;
    }
    case "concat": {
      const os = shapeOf(op.output);
      const outer = size(os.slice(0, op.axis));
      const y: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const name of op.inputs) {
          const x = env.get(name)!;
          const chunk = x.length / outer;
          y.push(...x.slice(o * chunk, (o + 1) * chunk));
        }
      }
      put(op.output, y);
      return;
    }
  }
}

/**
 * Runs `p` sample by sample. `feeds` are float inputs (quantized with
 * refQuantize) or, with `intFeeds`, the quantized values themselves.
 * Returns each output's dequantized floats and raw integers.
 */
export function refRun(
  p: Program,
  batch: number,
  feeds: { float?: ReadonlyMap<string, Float32Array>; int?: ReadonlyMap<string, Int32Array> },
): { outputs: Map<string, Float32Array>; ints: Map<string, Int32Array> } {
  const outputs = new Map<string, Float32Array>();
  const ints = new Map<string, Int32Array>();
  for (const o of p.outputs) {
    outputs.set(o.name, new Float32Array(batch * size(o.shape)));
    ints.set(o.name, new Int32Array(batch * size(o.shape)));
  }
  for (let b = 0; b < batch; b++) {
    const env = new Map<string, number[]>();
    for (const op of p.ops) {
      if (op.kind === "quantize") {
        const n = size(p.inputs.find((i) => i.name === op.input)!.shape);
        if (feeds.int) env.set(op.output, Array.from(feeds.int.get(op.input)!.subarray(b * n, (b + 1) * n)));
        else env.set(op.output, Array.from(feeds.float!.get(op.input)!.subarray(b * n, (b + 1) * n), (x) => refQuantize(x, op.scale, op.zeroPoint, op.qmin, op.qmax)));
      } else if (op.kind === "dequantize") {
        const q = env.get(op.input)!;
        const s = Math.fround(op.scale);
        outputs.get(op.output)!.set(q.map((v) => Math.fround(Math.fround(v - op.zeroPoint) * s)), b * q.length);
        ints.get(op.output)!.set(q, b * q.length);
      } else {
        runOp(p, op, env);
      }
    }
  }
  return { outputs, ints };
}
