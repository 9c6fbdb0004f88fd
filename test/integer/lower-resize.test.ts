/**
 * integer/lower-resize.ts and resize-index.ts: a nearest Resize/Upsample is a
 * `remap` of the quantized codes. The compile-time index map is checked
 * against ONNX Runtime's own float Resize (the judge of what the QDQ model
 * computes) on inputs whose values are their own flat indices, for every
 * coordinate transformation mode and nearest mode torch and TF exports use,
 * up- and downsampling, integer and fractional scales, scales and sizes, and
 * Resize-10 / Upsample's legacy rounding. Then two small quantized models
 * (Conv → Resize ×2, asymmetric + floor and half_pixel + round_prefer_floor
 * from sizes): the certificate holds, the emulator tracks ONNX Runtime's
 * fake-quant model within a step, and the generated JS and the integer-only
 * ONNX equal the emulator bit for bit. Linear mode by whole factors
 * (lower-resize-linear.ts): the tap weights by hand, three models through the
 * same pipeline (half_pixel ×2, Upsample-9 asymmetric ×2, pytorch_half_pixel
 * ×3/×2 with rounded weights); linear with moving taps
 * (lower-resize-matrix.ts: align_corners ×2, ×1.5/×1.6, downsampling ×0.5)
 * through two dense passes, its matrix by hand; cubic mode,
 * tf_crop_and_resize and antialiased downsampling are refused in one line
 * naming the node.
 */
import { afterAll, describe, expect, it } from "vitest";
import { integerizeModel } from "../../src/integer/integerize.js";
import { nearestSources } from "../../src/integer/resize-index.js";
import { linearTaps } from "../../src/integer/lower-resize-linear.js";
import { interpolationMatrix } from "../../src/integer/lower-resize-matrix.js";
import type { Attribute, Model } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { axisGatherOffsets, remapKernel } from "../../src/numerics/remap.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { Rng } from "../helpers/prng.js";
import { graph, model, node, randomWeight, value } from "../ir/builders.js";
import { checkIntegerPipeline, type PipelineCase } from "./integer-pipeline.js";
import { int64Tensor, str } from "./decoder-models.js";

afterAll(cleanupModules);


interface IndexCase {
  readonly coord: string;
  readonly nearest: string;
  readonly inHW: [number, number];
  /** Either scales (float) or output sizes for H, W. */
  readonly scales?: [number, number];
  readonly sizes?: [number, number];
}

/** A float model Resize(x [1, 2, H, W]) in opset 19 (11 for tf_half_pixel_for_nn, dropped in 13; Resize-10 / Upsample-9 with `legacy`). */
function resizeModel(c: IndexCase, legacy?: "Resize" | "Upsample"): Model {
  const [H, W] = c.inHW;
  const inits: Tensor[] = [];
  let inputs: string[];
  if (legacy) {
    inits.push(makeFloatTensor("scales", [4], [1, 1, ...c.scales!]));
    inputs = ["x", "scales"];
  } else if (c.sizes) {
    inits.push(int64Tensor("sizes", [1, 2, ...c.sizes]), makeFloatTensor("roi", [0], []), makeFloatTensor("none", [0], []));
    inputs = ["x", "roi", "none", "sizes"];
  } else {
    inits.push(makeFloatTensor("scales", [4], [1, 1, ...c.scales!]), makeFloatTensor("roi", [0], []));
    inputs = ["x", "roi", "scales"];
  }
  const attrs = legacy ? [str("mode", "nearest")] : [str("mode", "nearest"), str("coordinate_transformation_mode", c.coord), str("nearest_mode", c.nearest)];
  const g = graph([node(legacy ?? "Resize", inputs, ["y"], attrs, "resize")], [value("x", 1, [1, 2, H, W])], [value("y", 1)], inits);
  return model(g, legacy === "Upsample" ? 9 : legacy === "Resize" ? 10 : c.coord === "tf_half_pixel_for_nn" ? 11 : 19);
}

/** ORT's float Resize of x = 0, 1, 2, … (its flat indices) against the remap of x by resize-index.ts's sources. */
async function compareWithOrt(c: IndexCase, legacy?: "Resize" | "Upsample"): Promise<void> {
  const [H, W] = c.inHW;
  const x = Float32Array.from({ length: 2 * H * W }, (_, i) => i);
  const s = await OrtSession.create(resizeModel(c, legacy), { threads: 1 });
  const y = (await s.run({ x: { dtype: 1, dims: [1, 2, H, W], data: x } }).finally(() => s.release())).y!;
  const [, , OH, OW] = y.dims as number[];
  if (c.sizes) expect([OH, OW]).toEqual(c.sizes);
  const scale = (a: 0 | 1) => (c.sizes ? Math.fround(c.sizes[a] / c.inHW[a]) : c.scales![a]);
  const mode = legacy ? (["asymmetric", "simple"] as const) : ([c.coord, c.nearest] as const);
  const sources = [[0, 1], nearestSources(mode[0] as never, mode[1] as never, scale(0), H, OH!), nearestSources(mode[0] as never, mode[1] as never, scale(1), W, OW!)];
  const ours = new Int32Array(2 * OH! * OW!);
  remapKernel(x, ours, axisGatherOffsets([2, H, W], sources), 0, 0);
  expect(Array.from(ours)).toEqual(Array.from(y.data as Float32Array));
}

const MODES: [string, string][] = [
  ["asymmetric", "floor"],
  ["half_pixel", "round_prefer_floor"],
  ["pytorch_half_pixel", "round_prefer_floor"],
  ["align_corners", "round_prefer_ceil"],
  ["half_pixel", "round_prefer_ceil"],
  ["asymmetric", "ceil"],
  ["tf_half_pixel_for_nn", "round_prefer_ceil"],
  ["half_pixel_symmetric", "round_prefer_floor"],
];

describe("nearest Resize index maps match ONNX Runtime's Resize", () => {
  it.each(MODES)("%s + %s: ×2, ×3/×1.5 scales, sizes 5×7 → 8×3 and 7×4 → 7×9", async (coord, nearest) => {
    await compareWithOrt({ coord, nearest, inHW: [4, 5], scales: [2, 2] });
    await compareWithOrt({ coord, nearest, inHW: [3, 4], scales: [3, 1.5] });
    await compareWithOrt({ coord, nearest, inHW: [5, 7], sizes: [8, 3] });
    await compareWithOrt({ coord, nearest, inHW: [7, 4], sizes: [7, 9] });
  }, 30_000);

  it("Resize-10 and Upsample-9 (asymmetric, truncation up, ceil down)", async () => {
    await compareWithOrt({ coord: "", nearest: "", inHW: [4, 5], scales: [2, 2.5] }, "Resize");
    await compareWithOrt({ coord: "", nearest: "", inHW: [6, 5], scales: [0.5, 0.6] }, "Resize");
    await compareWithOrt({ coord: "", nearest: "", inHW: [3, 4], scales: [2, 3] }, "Upsample");
  });
});

const rng = new Rng(41);
const N = 64;
const randn = (n: number) => Float32Array.from({ length: n }, () => (rng.float() + rng.float() + rng.float() - 1.5) * 2);

/** Conv 3×3 → Resize → Conv 1×1 on [3, 6, 5]. */
function convResize(name: string, attrs: Attribute[], resizeInputs: string[], extra: Tensor[], opset = 17, batch: number | string = "N"): PipelineCase {
  const g = graph(
    [
      node("Conv", ["x", "w1", "b1"], ["a"], [{ name: "pads", type: 7, ints: [1, 1, 1, 1] }], "conv1"),
      node("Resize", ["a", ...resizeInputs], ["u"], attrs, "resize"),
      node("Conv", ["u", "w2"], ["y"], [], "conv2"),
    ],
    [value("x", 1, [batch, 3, 6, 5])],
    [value("y", 1)],
    [randomWeight(rng, "w1", [4, 3, 3, 3]), makeFloatTensor("b1", [4], [0.1, -0.2, 0.05, 0]), randomWeight(rng, "w2", [2, 4, 1, 1]), ...extra],
  );
  return { name, model: model(g, opset), feeds: { x: randn(N * 90) }, dims: { x: [N, 3, 6, 5] } };
}

describe.each([
  convResize("×2 asymmetric + floor (scales)", [str("mode", "nearest"), str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor")], ["", "scales"], [makeFloatTensor("scales", [4], [1, 1, 2, 2])]),
  convResize("×2 half_pixel + round_prefer_floor (sizes, static batch)", [str("mode", "nearest"), str("coordinate_transformation_mode", "half_pixel")], ["", "", "sizes"], [int64Tensor("sizes", [N, 4, 12, 10])], 17, N),
])("integer nearest Resize: $name", (c) => {
  it("lowers to one remap with the input's scale; certified; within a step of fake-quant; JS = integer ONNX = emulator", async () => {
    const { program, worstSteps } = await checkIntegerPipeline(c, N);
    const remaps = program.ops.filter((o) => o.kind === "remap");
    expect(remaps.length).toBe(1);
    const r = remaps[0]!;
    if (r.kind !== "remap") throw new Error("unreachable");
    expect(program.values.get(r.output)!.shape).toEqual([4, 12, 10]);
    expect(program.values.get(r.output)!.scale).toBe(program.values.get(r.input)!.scale);
    expect(worstSteps).toBeLessThanOrEqual(1);
  }, 60_000);
});

describe("linearTaps", () => {
  it("gives the two taps of each phase as dyadic weights: ×2 half_pixel, ×2 asymmetric, ×3 rounded at 7 bits", () => {
    // half_pixel ×2: o = 2q reads x[q − 1]·¼ + x[q]·¾, o = 2q + 1 reads x[q]·¾ + x[q + 1]·¼ (offsets into the edge-padded input)
    expect(linearTaps(2, true)).toEqual({ bits: 2, phases: [{ offset: 0, weights: [1, 3] }, { offset: 1, weights: [3, 1] }] });
    expect(linearTaps(2, false)).toEqual({ bits: 1, phases: [{ offset: 1, weights: [2, 0] }, { offset: 1, weights: [1, 1] }] });
    // ×3 half_pixel: δ = −⅓, 0, ⅓: not dyadic, so 128·⅔ = 85.3 → 85
    expect(linearTaps(3, true)).toEqual({ bits: 7, phases: [{ offset: 0, weights: [43, 85] }, { offset: 1, weights: [128, 0] }, { offset: 1, weights: [85, 43] }] });
  });
});

describe.each([
  convResize("linear ×2 half_pixel (scales)", [str("mode", "linear")], ["", "scales"], [makeFloatTensor("scales", [4], [1, 1, 2, 2])]),
  convResize("linear ×2 asymmetric (Upsample-9)", [str("mode", "linear")], ["scales"], [makeFloatTensor("scales", [4], [1, 1, 2, 2])], 9),
  convResize("linear ×3 / ×2 pytorch_half_pixel (sizes, static batch)", [str("mode", "linear"), str("coordinate_transformation_mode", "pytorch_half_pixel")], ["", "", "sizes"], [int64Tensor("sizes", [N, 4, 18, 10])], 17, N),
])("integer linear Resize by whole factors: $name", (c) => {
  it("lowers to an edge remap, depthwise phase convs and an interleave; certified; within 3 output steps of fake-quant; JS = integer ONNX = emulator", async () => {
    const { program, worstSteps } = await checkIntegerPipeline(c, N);
    expect(program.ops.filter((o) => o.kind === "remap").length).toBe(2);
    expect(program.ops.filter((o) => o.kind === "conv" && o.group === 4).length).toBeGreaterThanOrEqual(4);
    // the Resize's codes differ from ORT's float interpolation + Q by at most a rounding step; the 1×1 conv after it sums four channels (measured ≤ 2 steps)
    expect(worstSteps).toBeLessThanOrEqual(3);
  }, 60_000);
});

describe.each([
  convResize("linear ×2 align_corners", [str("mode", "linear"), str("coordinate_transformation_mode", "align_corners")], ["", "scales"], [makeFloatTensor("scales", [4], [1, 1, 2, 2])]),
  convResize("linear ×1.5 / ×1.6 half_pixel", [str("mode", "linear")], ["", "scales"], [makeFloatTensor("scales", [4], [1, 1, 1.5, 1.6])]),
  convResize("linear ×0.5 asymmetric (downsampling)", [str("mode", "linear"), str("coordinate_transformation_mode", "asymmetric")], ["", "scales"], [makeFloatTensor("scales", [4], [1, 1, 0.5, 0.5])]),
])("integer linear Resize with moving taps: $name", (c) => {
  it("lowers to two dense interpolation passes (int16 between them) and one requant; certified; within 3 output steps of fake-quant; JS = integer ONNX = emulator", async () => {
    const { program, worstSteps } = await checkIntegerPipeline(c, N);
    const dense = program.ops.filter((o) => o.kind === "dense");
    expect(dense.length).toBe(2);
    expect(program.values.get(dense[1]!.input)!.type).toEqual({ kind: "int", bits: 16, signed: true });
    expect(worstSteps).toBeLessThanOrEqual(3);
  }, 60_000);
});

describe("interpolationMatrix", () => {
  it("builds align_corners ×2 rows of 3 → 6 by hand (x_orig = o·2/5), each summing to 2^F", () => {
    // o = 0…5 → x_orig 0, 0.4, 0.8, 1.2, 1.6, 2 → (i0, f) = (0, 0), (0, .4), (0, .8), (1, .2), (1, .6), (2, 0); at F = 4: round(16f) = 0, 6, 13, 3, 10, 0
    expect(Array.from(interpolationMatrix("align_corners", 2, 3, 6, 4))).toEqual([16, 0, 0, 10, 6, 0, 3, 13, 0, 0, 13, 3, 0, 6, 10, 0, 0, 16]);
  });
});

describe("integer Resize refusals", () => {
  async function lowered(c: PipelineCase): Promise<() => unknown> {
    const host = { x: { dtype: 1, dims: c.dims.x!, data: c.feeds.x! } };
    const { model: q } = await quantizeModel(c.model, arraySource(host), buildRecipe({}), { threads: 1 });
    return () => integerizeModel(q);
  }
  it("refuses mode cubic in one line naming the node and the mode", async () => {
    const c = convResize("cubic", [str("mode", "cubic")], ["", "scales"], [makeFloatTensor("scales", [4], [1, 1, 2, 2])]);
    expect(await lowered(c)).toThrow(/Resize 'resize' uses mode 'cubic'; integer code covers modes 'nearest' \(a gather of the quantized values\) and 'linear' \(whole factors\)/);
  }, 30_000);
  it("refuses linear tf_crop_and_resize and antialiased linear downsampling, naming the node", async () => {
    const crop = convResize("crop", [str("mode", "linear"), str("coordinate_transformation_mode", "tf_crop_and_resize")], ["roi", "scales"], [makeFloatTensor("roi", [8], [0, 0, 0, 0, 1, 1, 1, 1]), makeFloatTensor("scales", [4], [1, 1, 2, 2])]);
    expect(await lowered(crop)).toThrow(/Resize 'resize' uses mode 'linear' with coordinate_transformation_mode 'tf_crop_and_resize'/);
    const aa = convResize("aa", [str("mode", "linear"), { name: "antialias", type: 2, i: 1 }], ["", "scales"], [makeFloatTensor("scales", [4], [1, 1, 0.5, 0.5])], 18);
    expect(await lowered(aa)).toThrow(/Resize 'resize' downsamples with antialias/);
  }, 30_000);
});
