/**
 * Small float decoder models for the ConvTranspose and Resize lowering tests
 * (test/integer, test/backends/c): attribute and int64 helpers, a lone
 * ConvTranspose with chosen geometry, and a tiny decoder
 * Conv → Relu → ConvTranspose (stride 2, output_padding 1, groups 2) → Relu →
 * Resize ×2 (nearest or linear) → Conv.
 */
import { DataType } from "../../src/ir/dtype.js";
import type { Attribute } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { Rng } from "../helpers/prng.js";
import { graph, int, ints, model, node, randomWeight, value } from "../ir/builders.js";
import type { PipelineCase } from "./integer-pipeline.js";

export const str = (name: string, s: string): Attribute => ({ name, type: 3, s: new TextEncoder().encode(s) });

export function int64Tensor(name: string, values: readonly number[]): Tensor {
  return { name, dtype: DataType.INT64, dims: [values.length], raw: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) };
}

/** Roughly normal floats in about ±3. */
export function randn(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.float() + rng.float() + rng.float() - 1.5) * 2);
}

export interface ConvTransposeGeometry {
  readonly name: string;
  /** Input [C, H, W] per sample. */
  readonly input: [number, number, number];
  /** Output channels M. */
  readonly outChannels: number;
  readonly kernel: [number, number];
  readonly strides?: [number, number];
  readonly pads?: [number, number, number, number];
  readonly outputPadding?: [number, number];
  readonly dilations?: [number, number];
  readonly group?: number;
  /** Spatial output_shape (pads then derived). */
  readonly outputShape?: [number, number];
  readonly relu?: boolean;
}

/** x → ConvTranspose(w [C, M/g, kh, kw], b) (→ Relu) → y, with random weights and N random samples. */
export function convTransposeCase(g: ConvTransposeGeometry, seed: number, N: number): PipelineCase {
  const rng = new Rng(seed);
  const [C, H, W] = g.input;
  const group = g.group ?? 1;
  const attrs: Attribute[] = [ints("kernel_shape", g.kernel), int("group", group)];
  if (g.strides) attrs.push(ints("strides", g.strides));
  if (g.pads) attrs.push(ints("pads", g.pads));
  if (g.outputPadding) attrs.push(ints("output_padding", g.outputPadding));
  if (g.dilations) attrs.push(ints("dilations", g.dilations));
  if (g.outputShape) attrs.push(ints("output_shape", g.outputShape));
  const bias = Array.from({ length: g.outChannels }, () => rng.float() - 0.5);
  const nodes = [node("ConvTranspose", ["x", "w", "b"], [g.relu ? "t" : "y"], attrs, "deconv")];
  if (g.relu) nodes.push(node("Relu", ["t"], ["y"], [], "relu"));
  const gr = graph(nodes, [value("x", 1, ["N", C, H, W])], [value("y", 1)], [randomWeight(rng, "w", [C, g.outChannels / group, ...g.kernel]), makeFloatTensor("b", [g.outChannels], bias)]);
  return { name: g.name, model: model(gr, 17), feeds: { x: randn(rng, N * C * H * W) }, dims: { x: [N, C, H, W] } };
}

/** Conv 3×3 → Relu → ConvTranspose 3×3 stride 2 pads 1 output_padding 1 groups 2 → Relu → Resize ×2 (nearest or linear) → Conv 1×1, on [3, 5, 4]. */
export function decoderCase(seed: number, N: number, coord = "asymmetric", nearest = "floor", mode = "nearest"): PipelineCase {
  const rng = new Rng(seed);
  const gr = graph(
    [
      node("Conv", ["x", "w1", "b1"], ["a"], [ints("pads", [1, 1, 1, 1])], "enc"),
      node("Relu", ["a"], ["ar"], [], "enc_relu"),
      node("ConvTranspose", ["ar", "w2", "b2"], ["d"], [ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1]), ints("output_padding", [1, 1]), int("group", 2)], "up1"),
      node("Relu", ["d"], ["dr"], [], "up1_relu"),
      node("Resize", ["dr", "", "scales"], ["u"], [str("mode", mode), str("coordinate_transformation_mode", coord), str("nearest_mode", nearest)], "up2"),
      node("Conv", ["u", "w3", "b3"], ["y"], [], "head"),
    ],
    [value("x", 1, ["N", 3, 5, 4])],
    [value("y", 1)],
    [
      randomWeight(rng, "w1", [4, 3, 3, 3]),
      makeFloatTensor("b1", [4], [0.1, -0.1, 0.2, 0]),
      randomWeight(rng, "w2", [4, 3, 3, 3]),
      makeFloatTensor("b2", [6], [0.05, 0, -0.05, 0.1, 0, 0.02]),
      makeFloatTensor("scales", [4], [1, 1, 2, 2]),
      randomWeight(rng, "w3", [2, 6, 1, 1]),
      makeFloatTensor("b3", [2], [0, 0.1]),
    ],
  );
  return { name: `decoder (Resize ${mode} ${coord}${mode === "nearest" ? ` + ${nearest}` : ""})`, model: model(gr, 17), feeds: { x: randn(rng, N * 60) }, dims: { x: [N, 3, 5, 4] } };
}
