/**
 * The transformer ops as HLS layers (mul of two activations, table,
 * softmax, layernorm, addconst, gather, slice; the matmul is a reuse-factor
 * layer of its own, matmul-layer.ts), one function each over one
 * sample: the bodies are shared/transformer-c.ts's, the same text the C back
 * end compiles, with elements read through to_int64() (ap types) and stored
 * by construction (hls-types.ts), every innermost loop pipelined at II = 1.
 * Integer-only: the square root and the divisions are integer ones on
 * int64_t; the tables are const ROMs. A gather whose id lies outside its
 * table returns FIXQ_EINDEX, which the parallel top function passes on; in
 * stream I/O (DATAFLOW) a layer cannot report it, so gather is refused there.
 */
import type { Program } from "../../integer/program.js";
import { FixqError } from "../../ir/errors.js";
import { type TransformerOp, transformerText } from "../shared/transformer-c.js";
import { cComment } from "../shared/print-c.js";
import type { HlsDesign } from "./design.js";
import { readInt, writeInt } from "./hls-types.js";

export function transformerLayer(d: HlsDesign, op: TransformerOp, i: number): string {
  const size = (v: string) => d.program.values.get(v)!.shape.reduce((a, b) => a * b, 1);
  const arg = (v: string, x: string, out = false) => `${out ? "" : "const "}${d.typeOf.get(v)!} ${x}[${size(v)}]`;
  const k = transformerText(op, {
    program: d.program,
    index: i,
    read: (_v, element) => readInt(element, d.mode),
    write: (v, e) => writeInt(d.typeOf.get(v)!, e, d.mode),
    pipeline: "#pragma HLS PIPELINE II=1",
  });
  const mask = op.kind === "softmax" && op.mask !== undefined ? [arg(op.mask, "m")] : [];
  const args = op.kind === "matmul" || op.kind === "mul" ? [arg(op.inputs[0], "a"), arg(op.inputs[1], "b")] : [arg(op.input, "x"), ...mask];
  return `/* layer ${i}: ${cComment(op.source)}
 * ${cComment(k.what)} */
${k.consts.join("\n")}
static int layer${i}(${[...args, arg(op.output, "y", true)].join(", ")}) {
${k.body}
}`;
}

/** Refuses --io stream for a program with a gather (its out-of-table ids cannot be reported from a DATAFLOW process). */
export function checkTransformerStream(p: Program): void {
  const g = p.ops.find((op) => op.kind === "gather");
  if (g) throw new FixqError("usage", `${g.source}: --io stream cannot report an id outside the embedding table (a DATAFLOW process has no status); use --io parallel`);
}
