/**
 * int4/uint4 encode (ONNX QuantizeLinear: float32 x / scale, round half to
 * even, + zero point, saturate) against ONNX Runtime's QuantizeLinear-21, on
 * more than a million inputs: every tie point k + ½ of the scaled grid, its
 * float32 neighbours, out-of-range values, ±0, ±Inf and random values. ORT's
 * int4 result is read back through DequantizeLinear, which maps each code to a
 * distinct float, so the comparison is exact. NaN is left out: QuantizeLinear
 * does not define it for integer outputs.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { intFormat, quantizeValue } from "../../src/ir/quant.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { Rng } from "../helpers/prng.js";
import { graph, model, node, value } from "../ir/builders.js";

function inputsFor(scale: number, zeroPoint: number): Float32Array {
  const xs: number[] = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e30, -1e30];
  const next = (x: number, dir: number) => {
    const f = new Float32Array([x]);
    const u = new Uint32Array(f.buffer);
    if (x === 0) u[0] = dir > 0 ? 1 : 0x80000001;
    else u[0]! += (x > 0) === dir > 0 ? 1 : -1;
    return f[0]!;
  };
  // Every tie point of the grid from far below qmin to far above qmax, and its float32 neighbours.
  for (let k = -40; k <= 40; k++) {
    const tie = Math.fround((k - zeroPoint + 0.5) * scale);
    const on = Math.fround((k - zeroPoint) * scale);
    xs.push(tie, next(tie, 1), next(tie, -1), on, next(on, 1), next(on, -1));
  }
  const rng = new Rng(21);
  while (xs.length < 1 << 20) xs.push(Math.fround(rng.range(-12, 12) * scale));
  return Float32Array.from(xs);
}

async function ortRoundTrip(dtype: number, scale: number, zeroPoint: number, x: Float32Array): Promise<Float32Array> {
  const zp: Tensor = { name: "zp", dtype, dims: [], raw: Uint8Array.of(zeroPoint & 0xf) };
  const s: Tensor = { name: "s", dtype: DataType.FLOAT, dims: [], raw: new Uint8Array(Float32Array.of(scale).buffer) };
  const m = model(
    graph(
      [node("QuantizeLinear", ["x", "s", "zp"], ["q"]), node("DequantizeLinear", ["q", "s", "zp"], ["y"])],
      [value("x", DataType.FLOAT, [x.length])],
      [value("y", DataType.FLOAT, [x.length])],
      [s, zp],
    ),
    21,
  );
  const session = await OrtSession.create({ ...m, irVersion: 10 }, { threads: 1 });
  try {
    return (await session.run({ x: { dtype: 1, dims: [x.length], data: x } }))["y"]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe("int4/uint4 encode against ONNX Runtime QuantizeLinear", () => {
  for (const [name, dtype, scale64, zeroPoint] of [
    ["int4", DataType.INT4, 0.5, 0],
    ["int4", DataType.INT4, 0.1, -3],
    ["uint4", DataType.UINT4, 0.5, 8],
    ["uint4", DataType.UINT4, 0.037, 2],
  ] as const) {
    it(`${name}, scale ${scale64}, zero point ${zeroPoint}: every one of ≥ 1M codes matches`, async () => {
      const scale = Math.fround(scale64); // the float32 scale the model stores
      const f = intFormat(name);
      const x = inputsFor(scale, zeroPoint);
      expect(x.length).toBeGreaterThanOrEqual(1 << 20);
      const ort = await ortRoundTrip(dtype, scale, zeroPoint, x);
      let mismatches = 0;
      let first = -1;
      for (let i = 0; i < x.length; i++) {
        const q = quantizeValue(x[i]!, scale, zeroPoint, f.qmin, f.qmax);
        if (Math.fround((q - zeroPoint) * scale) !== ort[i]) {
          mismatches++;
          if (first < 0) first = i;
        }
      }
      expect(mismatches, first >= 0 ? `first at x = ${x[first]}: ORT ${ort[first]}` : "").toBe(0);
    });
  }
});
