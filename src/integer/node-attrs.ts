/** The 2-D window attributes (kernel, strides, pads, dilations) pools and convs share; a 1-D window as a 2-D one of height 1. */
import { attrInts, attrString } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { label } from "./lowering-context.js";

export interface Window2d {
  readonly kernel: [number, number];
  readonly strides: [number, number];
  readonly pads: [number, number, number, number];
  readonly dilations: [number, number];
}

/**
 * The 2-D window of a Conv or pool. `auto_pad` other than NOTSET is refused
 * (its pads depend on shapes; export with explicit pads), and so is a window
 * that is not 2-D. `kernel` is the weight's spatial shape for a Conv and the
 * required `kernel_shape` for a pool.
 */
export function window2d(n: Node, kernel?: readonly number[]): Window2d {
  const autoPad = attrString(n, "auto_pad");
  if (autoPad !== undefined && autoPad !== "NOTSET") {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses auto_pad; export the model with explicit pads`);
  }
  const k = kernel ?? attrInts(n, "kernel_shape");
  if (!k) throw new FixqError("model", `${label(n)} has no kernel_shape`);
  if (k.length === 1) return windowRow(n, k[0]!);
  const pads = attrInts(n, "pads") ?? [0, 0, 0, 0];
  const strides = attrInts(n, "strides") ?? [1, 1];
  const dilations = attrInts(n, "dilations") ?? [1, 1];
  if (k.length !== 2 || pads.length !== 4 || strides.length !== 2 || dilations.length !== 2) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} is not a 2-D window (kernel [${k.join(",")}])`);
  }
  return {
    kernel: [k[0]!, k[1]!],
    strides: [strides[0]!, strides[1]!],
    pads: [pads[0]!, pads[1]!, pads[2]!, pads[3]!],
    dilations: [dilations[0]!, dilations[1]!],
  };
}

/**
 * A 1-D window over [C, L] as the 2-D window over [C, 1, L]: kernel [1, k],
 * pads [0, p_begin, 0, p_end], strides [1, s], dilations [1, d]. Over a
 * height of 1 the extra axis adds nothing, so the 2-D conv computes exactly
 * the 1-D one.
 */
function windowRow(n: Node, k: number): Window2d {
  const pads = attrInts(n, "pads") ?? [0, 0];
  const strides = attrInts(n, "strides") ?? [1];
  const dilations = attrInts(n, "dilations") ?? [1];
  if (pads.length !== 2 || strides.length !== 1 || dilations.length !== 1) {
    throw new FixqError("model", `${label(n)} has a 1-D kernel [${k}] but pads [${pads.join(",")}], strides [${strides.join(",")}], dilations [${dilations.join(",")}]`);
  }
  return { kernel: [1, k], strides: [1, strides[0]!], pads: [0, pads[0]!, 0, pads[1]!], dilations: [1, dilations[0]!] };
}
