/**
 * ONNX Conv's window over its input, per spatial dim j: stride s, dilation d,
 * pads (pb, pe) explicit or from auto_pad (VALID: 0; SAME_UPPER/LOWER: total
 * = max(0, (⌈I/s⌉ − 1)·s + d·(K − 1) + 1 − I), the odd one at the end for
 * UPPER, at the start for LOWER), and output size
 * O = ⌊(I + pb + pe − d·(K − 1) − 1) / s⌋ + 1.
 */
import { attrInts, attrString } from "./attrs.js";
import type { Node } from "./graph.js";

/** A convolution's window geometry over one input: per spatial dim, input size, kernel, stride, dilation, leading pad and output size. */
export interface ConvGeometry {
  readonly inSize: readonly number[];
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly padBegin: readonly number[];
  readonly outSize: readonly number[];
}

/** ONNX Conv's output size and padding per spatial dim (explicit pads, or auto_pad VALID / SAME_UPPER / SAME_LOWER). */
export function convGeometry(n: Node, inSize: readonly number[], kernel: readonly number[]): ConvGeometry {
  const nd = kernel.length;
  const strides = attrInts(n, "strides") ?? [];
  const dils = attrInts(n, "dilations") ?? [];
  const pads = attrInts(n, "pads") ?? [];
  const autoPad = attrString(n, "auto_pad") ?? "NOTSET";
  const stride = kernel.map((_, j) => strides[j] ?? 1);
  const dilation = kernel.map((_, j) => dils[j] ?? 1);
  const padBegin: number[] = [];
  const outSize: number[] = [];
  for (let j = 0; j < nd; j++) {
    const [I, K, s, d] = [inSize[j]!, kernel[j]!, stride[j]!, dilation[j]!];
    let [pb, pe] = [pads[j] ?? 0, pads[j + nd] ?? 0];
    if (autoPad === "VALID") [pb, pe] = [0, 0];
    else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const total = Math.max(0, (Math.ceil(I / s) - 1) * s + d * (K - 1) + 1 - I);
      pb = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
      pe = total - pb;
    }
    padBegin.push(pb);
    outSize.push(Math.floor((I + pb + pe - d * (K - 1) - 1) / s) + 1);
  }
  return { inSize, kernel, stride, dilation, padBegin, outSize };
}
