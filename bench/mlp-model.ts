/**
 * The generated benchmark model: an MLP with ~N MB of pseudo-random float
 * weights, built with the fixq IR. Used by io.bench.ts (through io-child.ts,
 * so that the 500 MB of weights never live in the benchmark's main process).
 */
import { DataType } from "../src/ir/dtype.js";
import { AttrType, type Graph, type Model, type Node, type ValueInfo } from "../src/ir/graph.js";
import type { Tensor } from "../src/ir/tensor.js";
import { typeProtoOf } from "../src/ir/types.js";

/** Fills `out` with uniform values in [-scale, scale) from a 32-bit LCG. */
function fillLcg(out: Float32Array, seed: number, scale: number): void {
  let s = seed >>> 0;
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s * k - scale;
  }
}

function floatTensor(name: string, dims: number[], seed: number, scale: number): Tensor {
  const f = new Float32Array(dims.reduce((a, b) => a * b, 1));
  fillLcg(f, seed, scale);
  return { name, dtype: DataType.FLOAT, dims, raw: new Uint8Array(f.buffer) };
}

function vi(name: string, shape: number[]): ValueInfo {
  return { name, type: typeProtoOf({ dtype: DataType.FLOAT, shape }) };
}

/**
 * An MLP on a [1, 2048] input whose layers cycle through 2048→2048 (16 MiB
 * weight), 2048→1024 and 1024→2048 (8 MiB each); layers alternate between
 * MatMul+Add and Gemm(transB=1), with Relu in between.
 */
export function buildBigModel(targetBytes: number): Model {
  const widths = [2048, 2048, 1024];
  const cycleBytes = (2048 * 2048 + 2048 * 1024 + 1024 * 2048) * 4;
  const layers = Math.max(1, Math.round(targetBytes / cycleBytes)) * 3;
  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  let h = "x";
  for (let i = 0; i < layers; i++) {
    const inW = widths[i % 3]!;
    const outW = widths[(i + 1) % 3]!;
    const scale = 1 / Math.sqrt(inW);
    const w = `layer${i}.weight`;
    const b = `layer${i}.bias`;
    const y = i === layers - 1 ? "y" : `layer${i}.out`;
    const pre = `layer${i}.pre`;
    const linOut = i === layers - 1 ? y : pre;
    initializers.push(floatTensor(b, [outW], 0x9e3779b9 ^ (2 * i + 1), scale));
    if (i % 2 === 0) {
      initializers.push(floatTensor(w, [inW, outW], 0x9e3779b9 ^ (2 * i), scale));
      nodes.push({ name: `layer${i}.matmul`, opType: "MatMul", inputs: [h, w], outputs: [`layer${i}.mm`], attributes: [] });
      nodes.push({ name: `layer${i}.add`, opType: "Add", inputs: [`layer${i}.mm`, b], outputs: [linOut], attributes: [] });
    } else {
      initializers.push(floatTensor(w, [outW, inW], 0x9e3779b9 ^ (2 * i), scale));
      nodes.push({
        name: `layer${i}.gemm`,
        opType: "Gemm",
        inputs: [h, w, b],
        outputs: [linOut],
        attributes: [{ name: "transB", type: AttrType.INT, i: 1 }],
      });
    }
    if (i !== layers - 1) nodes.push({ name: `layer${i}.relu`, opType: "Relu", inputs: [pre], outputs: [y], attributes: [] });
    h = y;
  }
  const graph: Graph = {
    name: "fixq_bench_mlp",
    nodes,
    inputs: [vi("x", [1, 2048])],
    outputs: [vi("y", [1, widths[layers % 3]!])],
    valueInfo: [],
    initializers,
  };
  return { irVersion: 8, opsets: [{ domain: "", version: 17 }], producerName: "fixq-bench", functions: [], graph };
}
