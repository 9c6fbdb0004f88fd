/**
 * Switchable activation fake quantization (fake-quant-graph.ts) on
 * y = Relu(x·w): switched off the graph computes the float model exactly;
 * switched on, each chain computes (clamp(round(t/s) + z) − z)·s, checked
 * against that formula evaluated here (round half to even), for a tensor
 * with a producer (the Relu output, also the graph output) and for a graph
 * input, with two formats chained on one tensor.
 */
import { describe, expect, it } from "vitest";
import { withFakeQuant } from "../../../src/quant/mixed/fake-quant-graph.js";
import { type HostTensor, OrtSession } from "../../../src/runtime/ort-session.js";
import { graph, model, node, value } from "../../ir/builders.js";
import { tensor } from "../../passes/float-helpers.js";

const roundEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const fq = (v: number, s: number, z: number, lo: number, hi: number) => (Math.min(Math.max(roundEven(v / s) + z, lo), hi) - z) * s;

describe("withFakeQuant", () => {
  const m = model(graph([node("MatMul", ["x", "w"], ["h"], [], "mm"), node("Relu", ["h"], ["y"], [], "relu")], [value("x", 1, ["n", 2])], [value("y", 1, ["n", 2])], [tensor("w", [2, 2], [1.5, -0.7, 0.3, 2.1])]));
  const x = Float32Array.from({ length: 16 }, (_, i) => Math.fround(((i * 37) % 17) / 5 - 1.6));
  const u8 = { scale: 0.03, zeroPoint: 0, qmin: 0, qmax: 255 };
  const u16 = { scale: 0.0002, zeroPoint: 0, qmin: 0, qmax: 65535 };
  const xin = { scale: 0.0125, zeroPoint: 128, qmin: 0, qmax: 255 };
  const fqm = withFakeQuant(m, [
    { tensor: "y", mask: "my8", ...u8 },
    { tensor: "y", mask: "my16", ...u16 },
    { tensor: "x", mask: "mx", ...xin },
  ]);
  const run = async (mdl: typeof m, feeds: Record<string, HostTensor>) => {
    const s = await OrtSession.create(mdl, { threads: 1 });
    try {
      return (await s.run(feeds))["y"]!.data as Float32Array;
    } finally {
      await s.release();
    }
  };
  const scalar = (v: number): HostTensor => ({ dtype: 1, dims: [], data: Float32Array.of(v) });
  const feeds = (my8: number, my16: number, mx: number) => ({ x: { dtype: 1, dims: [8, 2], data: x }, my8: scalar(my8), my16: scalar(my16), mx: scalar(mx) });
  const ref = (qx: boolean, f?: typeof u8) => {
    const w = [1.5, -0.7, 0.3, 2.1].map(Math.fround);
    const out: number[] = [];
    for (let r = 0; r < 8; r++) {
      const a = [0, 1].map((j) => (qx ? fq(x[r * 2 + j]!, xin.scale, xin.zeroPoint, 0, 255) : x[r * 2 + j]!));
      for (let c = 0; c < 2; c++) {
        const h = Math.max(0, a[0]! * w[c]! + a[1]! * w[2 + c]!);
        out.push(f ? fq(h, f.scale, f.zeroPoint, f.qmin, f.qmax) : h);
      }
    }
    return out;
  };

  it("switched off, computes the float model exactly", async () => {
    expect(await run(fqm, feeds(0, 0, 0))).toEqual(await run(m, { x: { dtype: 1, dims: [8, 2], data: x } }));
  });

  it("each switch quantizes its tensor in its format, alone or with the input's", async () => {
    const close = (got: Float32Array, want: number[]) => {
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    };
    close(await run(fqm, feeds(1, 0, 0)), ref(false, u8));
    close(await run(fqm, feeds(0, 1, 0)), ref(false, u16));
    close(await run(fqm, feeds(0, 0, 1)), ref(true));
    close(await run(fqm, feeds(1, 0, 1)), ref(true, u8));
    // 8-bit output steps of 0.03 move it, 16-bit steps of 0.0002 far less.
    const f = ref(false);
    const err = (g: Float32Array) => g.reduce((s, v, i) => s + (v - f[i]!) ** 2, 0);
    expect(err(await run(fqm, feeds(0, 1, 0)))).toBeLessThan(err(await run(fqm, feeds(1, 0, 0))) / 100);
  });
});
