/** Attribute readers for the lowering, and the 2-D window attributes (kernel, strides, pads, dilations) pools and convs share. */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { label } from "./lowering-context.js";

export function intAttr(n: Node, name: string, dflt: number): number {
  const a = n.attributes.find((x) => x.name === name);
  return a?.i !== undefined ? Number(a.i) : dflt;
}

export function intsAttr(n: Node, name: string): number[] | undefined {
  return n.attributes.find((x) => x.name === name)?.ints?.map(Number);
}

export function floatAttr(n: Node, name: string): number | undefined {
  return n.attributes.find((x) => x.name === name)?.f;
}

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
  const autoPad = n.attributes.find((a) => a.name === "auto_pad")?.s;
  if (autoPad && new TextDecoder().decode(autoPad) !== "NOTSET") {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses auto_pad; export the model with explicit pads`);
  }
  const k = kernel ?? intsAttr(n, "kernel_shape");
  if (!k) throw new FixqError("model", `${label(n)} has no kernel_shape`);
  const pads = intsAttr(n, "pads") ?? [0, 0, 0, 0];
  const strides = intsAttr(n, "strides") ?? [1, 1];
  const dilations = intsAttr(n, "dilations") ?? [1, 1];
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
