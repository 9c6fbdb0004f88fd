/**
 * The QDQ writer's float-format constants (FP8, MX, NVFP4 weights). A weight
 * v of dims `dims` becomes, by spec and storage:
 *
 *   FP8         v__quantized (FLOAT8E4M3FN / FLOAT8E5M2) → DequantizeLinear(s, zp = FP8 0 [, axis]) → v__dq
 *   MX native   elements in the block view (FLOAT8*, FLOAT4E2M1 packed, or INT8 for MXINT8)
 *               → DequantizeLinear(scale, axis, block_size = 32) [→ Reshape to dims] → v__dq
 *               scale: FLOAT8E8M0 codes with output_dtype = FLOAT where the model's
 *               opset is ≥ 24, else float32 2^e (2^(e−6) for MXINT8: its implicit
 *               2^−6), which is the same value
 *   NVFP4       E4M3 block scales → DequantizeLinear(s_t) = d (float32 block scales);
 *   native      FLOAT4E2M1 elements → DequantizeLinear(d, axis, block_size = 16) [→ Reshape] → v__dq
 *               (two steps, because a DequantizeLinear scale cannot be E4M3)
 *   MX / NVFP4, dequantized storage: v__fq, a float32 initializer holding the
 *               decoded values: exactly the grid values DequantizeLinear would give.
 * The block view is [Cout, Cin·kh·kw] for Conv weights, so the DequantizeLinear
 * output is reshaped back to the weight's dims.
 */
import { DataType } from "../ir/dtype.js";
import type { Attribute, Node } from "../ir/graph.js";
import { makeFloatTensor, type Tensor } from "../ir/tensor.js";
import { pack4 } from "../numerics/pack.js";
import type { Fp4Storage } from "./format-names.js";
import { decodeFloatWeight, type FloatWeightSpec } from "./float-weights.js";

export interface FloatWriteOptions {
  readonly storage: Fp4Storage;
  /** Store MX scales as FLOAT8E8M0 (needs opset 24). */
  readonly e8m0Scales: boolean;
}

type Fresh = (base: string) => string;

/** Unpacked codes as the raw_data of an element type (4-bit packed, two per byte). */
function codesTensor(name: string, dtype: number, dims: readonly number[], codes: Uint8Array): Tensor {
  return { name, dtype, dims: [...dims], raw: dtype === DataType.FLOAT4E2M1 ? pack4(codes) : codes };
}

const attr = (name: string, i: number): Attribute => ({ name, type: 2, i });

export interface WrittenWeight {
  readonly nodes: Node[];
  readonly inits: Tensor[];
  /** The value the weight's readers read now. */
  readonly out: string;
  /** The tensor holding the weight's codes (or, stored dequantized, its grid values): where its format is annotated. */
  readonly codes: string;
}

/** The nodes and initializers that stand for float weight `v` under `spec`, with the element codes chosen for it. */
export function writeFloatWeight(v: string, c: Tensor, spec: FloatWeightSpec, opts: FloatWriteOptions, fresh: Fresh, codes: Uint8Array): WrittenWeight {
  const dims = c.dims.map(Number);
  if (spec.kind !== "float" && opts.storage === "dequantized") {
    const out = fresh(`${v}__fq`);
    return { nodes: [], inits: [makeFloatTensor(out, dims, decodeFloatWeight(codes, dims, spec))], out, codes: out };
  }
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const dq = (inputs: string[], attributes: Attribute[], y: string) => nodes.push({ opType: "DequantizeLinear", name: fresh(`${y}_DQ`), inputs, outputs: [y], attributes });
  const out = fresh(`${v}__dq`);
  const q = fresh(`${v}__quantized`);
  if (spec.kind === "float") {
    const [s, z] = [fresh(`${v}__scale`), fresh(`${v}__zero_point`)];
    const pDims = spec.axis === undefined ? [] : [spec.scale.length];
    inits.push(codesTensor(q, spec.format.onnxType, dims, codes), makeFloatTensor(s, pDims, spec.scale), codesTensor(z, spec.format.onnxType, pDims, new Uint8Array(spec.scale.length)));
    dq([q, s, z], spec.axis === undefined ? [] : [attr("axis", spec.axis)], out);
    return { nodes, inits, out, codes: q };
  }
  const reshape = spec.view.length !== dims.length || spec.view.some((d, k) => d !== dims[k]);
  const dqOut = reshape ? fresh(`${v}__dq_view`) : out;
  const blockAttrs = [attr("axis", spec.axis), attr("block_size", spec.blockSize)];
  const scaleDims = spec.view.map((d, k) => (k === spec.axis ? Math.ceil(d / spec.blockSize) : d));
  const s = fresh(`${v}__scale`);
  if (spec.kind === "mx") {
    const element = spec.format.element;
    inits.push(codesTensor(q, element === "int8" ? DataType.INT8 : element.onnxType, spec.view, codes));
    if (opts.e8m0Scales) {
      inits.push(codesTensor(s, DataType.FLOAT8E8M0, scaleDims, spec.scales));
      dq([q, s], [...blockAttrs, attr("output_dtype", DataType.FLOAT)], dqOut);
    } else {
      const implicit = element === "int8" ? 6 : 0;
      inits.push(makeFloatTensor(s, scaleDims, Array.from(spec.scales, (e) => (e === 0xff ? Number.NaN : 2 ** (e - 127 - implicit)))));
      dq([q, s], blockAttrs, dqOut);
    }
  } else {
    const [sb, st] = [fresh(`${v}__block_scale_e4m3`), fresh(`${v}__tensor_scale`)];
    inits.push(codesTensor(q, DataType.FLOAT4E2M1, spec.view, codes), codesTensor(sb, DataType.FLOAT8E4M3FN, scaleDims, spec.blockScales), makeFloatTensor(st, [], [spec.tensorScale]));
    dq([sb, st], [], s);
    dq([q, s], blockAttrs, dqOut);
  }
  if (reshape) {
    const shape = fresh(`${v}__shape`);
    inits.push({ name: shape, dtype: DataType.INT64, dims: [dims.length], raw: new Uint8Array(BigInt64Array.from(dims.map(BigInt)).buffer) });
    nodes.push({ opType: "Reshape", name: fresh(`${out}_Reshape`), inputs: [dqOut, shape], outputs: [out], attributes: [] });
  }
  return { nodes, inits, out, codes: q };
}
