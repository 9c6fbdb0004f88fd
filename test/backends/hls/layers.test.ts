/**
 * The generated HLS layer code says what the plan and the certificate say
 * (read from the generated text, checked against values computed here from
 * the program, not from the emitter): per conv/dense layer the accumulator
 * typedef is ap_int<W> / ap_uint<W> with W the certificate's proven width,
 * the row loop is pipelined at II = R with R dividing the weight count, the
 * multiplier allocation and the weight partition are W / R, and the taps and
 * accumulators are partitioned completely; with --hls-types stdint no ap type
 * appears; --io stream gives axis ports, DATAFLOW and one FIFO per reader.
 * (build.tcl: build-tcl.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { emitHls } from "../../../src/backends/hls/emit.js";
import { certifyProgram } from "../../../src/integer/certify.js";
import { integerizeModel } from "../../../src/integer/integerize.js";
import type { ConvOp, DenseOp } from "../../../src/integer/program.js";
import { quantizedCnn } from "../../helpers/qdq-models.js";

/** The function text of layer i in fixq_layers.h. */
function layerText(layers: string, i: number): string {
  const start = layers.indexOf(`static int layer${i}(`);
  expect(start).toBeGreaterThan(0);
  return layers.slice(start, layers.indexOf("\n}\n", start));
}

describe("HLS layer code on the bundled CNN", async () => {
  const p = integerizeModel((await quantizedCnn()).quantized);
  const cert = certifyProgram(p);
  const macs = p.ops.flatMap((op, i) => (op.kind === "conv" || op.kind === "dense" ? [[op, i] as [ConvOp | DenseOp, number]] : []));
  const widthOf = (v: string) => cert.rows.find((r) => r.value === v && r.accumulator)!;

  it("typedefs: accumulators exactly the certified width; pragmas: II = R, W / R multipliers and weight banks", () => {
    // 16 everywhere, 32 where 16 would leave over 4096 weight banks
    const R = (op: ConvOp | DenseOp) => (op.weight.length / 16 > 4096 ? 32 : 16);
    const files = emitHls(p, { cert, reuse: { all: 16, byLayer: new Map(macs.filter(([op]) => R(op) !== 16).map(([op]) => [op.source, R(op)])) } });
    const defines = files.get("firmware/fixq_defines.h")!;
    const layers = files.get("firmware/fixq_layers.h")!;
    expect(macs.length).toBeGreaterThan(1);
    for (const [op, i] of macs) {
      const row = widthOf(op.output);
      expect(defines).toContain(`typedef ${row.signed ? "ap_int" : "ap_uint"}<${row.width}> layer${i}_acc_t;`);
      const w = op.weight.length;
      const r = R(op);
      expect(w % r).toBe(0);
      const text = layerText(layers, i);
      expect(text).toContain(`#pragma HLS PIPELINE II=${r}\n`);
      expect(text).toContain(`#pragma HLS ALLOCATION operation instances=mul limit=${w / r}\n`);
      expect(text).toContain(`#pragma HLS ARRAY_RESHAPE variable=W${i} block factor=${w / r} dim=1\n`);
      expect(text).toContain("#pragma HLS ARRAY_PARTITION variable=acc complete dim=1");
      expect(text).toContain(`Mac: for (int im = 0; im < ${w / r}; im++) {\n#pragma HLS UNROLL`);
      expect(text).toMatch(/acc\[t \/ \d+\] \+= xz\[.*\] \* layer\d+_weight_t\(W\d+\[t\]\);/);
    }
  });

  it("--hls-types stdint: no ap type, no ap header", () => {
    const files = emitHls(p, { cert, types: "stdint" });
    for (const f of ["firmware/fixq_defines.h", "firmware/fixq_layers.h", "firmware/fixq_top.h", "firmware/fixq_top.cpp", "tb/csim_shim.h"]) {
      expect(files.get(f)).not.toMatch(/ap_u?int|to_int64|ap_int\.h/);
    }
    for (const [op, i] of macs) expect(files.get("firmware/fixq_defines.h")).toMatch(new RegExp(`typedef int(32|64)_t layer${i}_acc_t; /\\* ${op.source.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
  });

  it("--io stream: axis ports, DATAFLOW, a FIFO of one sample's depth per reader", () => {
    const top = emitHls(p, { cert, io: "stream" }).get("firmware/fixq_top.cpp")!;
    expect(top).toMatch(/void fixq_top\(hls::stream<fixq_hls_in0_t> &in0, hls::stream<fixq_hls_out0_t> &out0\) \{\n#pragma HLS INTERFACE mode=axis port=in0\n#pragma HLS INTERFACE mode=axis port=out0\n#pragma HLS DATAFLOW/);
    const reads = p.ops.filter((op) => op.kind !== "quantize" && op.kind !== "dequantize").reduce((n, op) => n + ("inputs" in op ? op.inputs.length : 1), 0);
    expect(top.match(/#pragma HLS STREAM variable=s\d+_\d+ depth=\d+/g)!.length).toBe(reads + p.outputs.length);
    for (const m of top.matchAll(/hls::stream<(\w+)> (s(\d+)_\d+)\("\2"\);\n#pragma HLS STREAM variable=\2 depth=(\d+)/g)) {
      const v = p.ops[Number(m[3])]!.output;
      expect(Number(m[4])).toBe(p.values.get(v)!.shape.reduce((a, b) => a * b, 1));
    }
  });
});
