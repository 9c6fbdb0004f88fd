/**
 * Runs a Program through its integer-only ONNX export in ONNX Runtime, with
 * the same contract as the emulator's `runProgram`: float feeds by program
 * input name, batch-major; returns the dequantized outputs and the raw
 * integers feeding each output's DequantizeLinear (by program OUTPUT name).
 */
import { DataType } from "../../ir/dtype.js";
import { integerOutputs, type Program, sampleSize } from "../../integer/program.js";
import { OrtSession, type SessionOptions } from "../../runtime/ort-session.js";
import { emitIntegerOnnx } from "./emit.js";

export interface IntegerOnnxRunner {
  run(feeds: ReadonlyMap<string, Float32Array>, batch: number): Promise<{ outputs: Map<string, Float32Array>; ints: Map<string, Int32Array> }>;
  release(): Promise<void>;
}

export async function integerOnnxRunner(p: Program, opts: SessionOptions = {}): Promise<IntegerOnnxRunner> {
  const session = await OrtSession.create(emitIntegerOnnx(p, { integerOutputs: true }), opts);
  const intNames = integerOutputs(p);
  return {
    async run(feeds, batch) {
      const host = Object.fromEntries(
        p.inputs.map((io) => {
          const data = feeds.get(io.name);
          if (!data) throw new Error(`no feed for program input '${io.name}'`);
          if (data.length !== batch * sampleSize(io.shape)) throw new Error(`feed '${io.name}' has ${data.length} values, not ${batch}×${sampleSize(io.shape)}`);
          const dims = [batch, ...io.shape];
          // integer inputs (ids, masks) are int64 in the export; their feeds hold the integers as float32 numbers
          return [io.name, io.integer ? { dtype: DataType.INT64, dims, data: BigInt64Array.from(data, (v) => BigInt(v)) } : { dtype: DataType.FLOAT, dims, data }];
        }),
      );
      const res = await session.run(host);
      const outputs = new Map(p.outputs.map((o) => [o.name, res[o.name]!.data as Float32Array]));
      const ints = new Map(p.outputs.map((o, i) => [o.name, Int32Array.from(res[intNames[i]!]!.data as ArrayLike<number>)]));
      return { outputs, ints };
    },
    release: () => session.release(),
  };
}
