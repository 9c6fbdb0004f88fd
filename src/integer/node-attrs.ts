/** The 2-D window attributes (kernel, strides, pads, dilations) pools and convs share. */
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
