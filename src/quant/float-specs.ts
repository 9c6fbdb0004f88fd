/**
 * Activation specs for float formats.
 *
 * - FP8 (static): one scale per tensor from the calibrated range,
 *   s = float32(max(|lo|, |hi|) / max_fp8) (1 for an all-zero range), zero point 0;
 *   QuantizeLinear saturates what the clip leaves outside ±max_fp8·s.
 * - MX / NVFP4 (dynamic): block scales are computed per block at run time, so
 *   only the block layout is fixed here: blocks run along the axis the
 *   consuming op reduces over: channels (axis 1) for Conv/ConvTranspose
 *   inputs, K for Gemm (axis 1, or 0 with transA) and MatMul (last axis of A,
 *   second-to-last of an activation B). Only these compute-op inputs are
 *   quantized, as MX hardware quantizes matmul operands; every other tensor
 *   stays float. NVFP4's tensor scale is static: the calibrated amax / 2688.
 *   A Conv's activation blocks cover channels at one pixel, while its weight
 *   blocks cover Cin·kh·kw: an im2col patch mixes pixels, so a GEMM's
 *   K-blocks of the patch cannot be expressed on the activation tensor.
 */
import type { Graph, Node } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import type { DynamicBlockQuant, FloatQuant } from "../ir/quant.js";
import type { FloatFormat } from "../numerics/float-format.js";
import { nvfp4TensorScale, NVFP4_BLOCK_SIZE } from "../numerics/nvfp4.js";
import type { ResolvedPlan } from "./resolve-plan.js";

export function fp8ActivationSpec(lo: number, hi: number, format: FloatFormat): FloatQuant {
  const amax = Math.max(Math.abs(lo), Math.abs(hi));
  return { kind: "float", format, scale: Float32Array.of(amax > 0 ? Math.fround(amax / format.max) : 1) };
}

function intAttr(n: Node, name: string, dflt: number): number {
  const a = n.attributes.find((x) => x.name === name);
  return a?.i !== undefined ? Number(a.i) : dflt;
}

/** The activation inputs of a compute op with the axis each reduces over (as a position from the end when rank is unknown: negative). */
function reducedInputs(n: Node): { slot: number; axis: number }[] {
  switch (n.opType) {
    case "Conv":
    case "ConvTranspose":
      return [{ slot: 0, axis: 1 }];
    case "Gemm":
      return [{ slot: 0, axis: intAttr(n, "transA", 0) ? 0 : 1 }];
    case "MatMul":
      return [
        { slot: 0, axis: -1 },
        { slot: 1, axis: -2 },
      ];
    default:
      return [];
  }
}

/**
 * Dynamic block specs for the activation inputs of the plan's compute ops
 * whose activation choice is MX or NVFP4. An input whose reduction axis has
 * no static size is left float (reported by the caller as unquantized).
 */
export function dynamicActivationSpecs(g: Graph, plan: ResolvedPlan, ranges: ReadonlyMap<string, { lo: number; hi: number }>): Map<string, DynamicBlockQuant> {
  const out = new Map<string, DynamicBlockQuant>();
  const calibrated = new Set(plan.activations);
  const dynamic = (t: string) => {
    const s = calibrated.has(t) ? plan.acts.get(t)?.scheme : undefined;
    return s?.kind === "mx" || s?.kind === "nvfp4" ? s : undefined;
  };
  if (!plan.activations.some((t) => dynamic(t))) return out;
  const types = inferTypes(g);
  for (const d of plan.decisions) {
    if (!d.quantized || d.role !== "compute") continue;
    for (const { slot, axis } of reducedInputs(d.node)) {
      const t = d.node.inputs[slot] ?? "";
      const scheme = dynamic(t);
      if (!scheme || out.has(t)) continue;
      const shape = types.get(t)?.shape;
      if (!shape) continue;
      const a = axis < 0 ? shape.length + axis : axis;
      const extent = shape[a];
      if (a < 0 || typeof extent !== "number") continue;
      const blockSize = scheme.kind === "nvfp4" ? NVFP4_BLOCK_SIZE : scheme.format.blockSize;
      const r = ranges.get(t);
      const tensorScale = scheme.kind === "nvfp4" ? nvfp4TensorScale(r ? Math.max(Math.abs(r.lo), Math.abs(r.hi)) : 0) : undefined;
      out.set(t, { kind: "dynamic-block", format: scheme.kind === "nvfp4" ? "nvfp4" : scheme.format, axis: a, extent, blockSize, tensorScale });
    }
  }
  return out;
}
