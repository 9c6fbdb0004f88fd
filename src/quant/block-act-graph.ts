/**
 * Dynamic MX / NVFP4 activation quantization as a graph of standard ONNX ops
 * (opset ≥ 19), because ONNX has no operator that computes block scales at
 * run time. For an activation x with blocks of B along axis a (size D):
 *
 *   xp = Pad(x, [0, nb·B − D] on axis a)                 nb = ⌈D/B⌉, zeros add nothing to a max
 *   xb = Reshape(xp, [d_0 … d_{a−1}, nb, B, −1]);  amax = ReduceMax(|xb|, axis a+1)
 *   MX:     m = max(amax, 2^−126);  e0 = ⌊log(m)/ln 2⌋;  e = e0 − [2^e0 > m] + [2^(e0+1) ≤ m]
 *           (so e = ⌊log2 m⌋ exactly, whatever Log's rounding);  X = 2^max(e − emax, −127)
 *           y = X · element(xb / X)
 *   NVFP4:  d = float32(E4M3(float32(amax / 6) / s_t)) · s_t     (Cast to FLOAT8E4M3FN, saturating)
 *           y = d · FP4(xb / d), and 0 where d = 0
 *   then Reshape back to xp's shape and Slice off the padding.
 *
 * element(): FP8 elements by Cast to FP8 (saturate) and back; FP4/FP6 by
 * rounding to the grid, q = sign(v) · min(max, Round(|v| / step) · step) with
 * step = 2^(max(⌊log2|v|⌋, emin) − M) chosen by comparisons (Round is ties to
 * even, and |v| / step is exact, so this is the format's round-half-even cast);
 * INT8: Clip(Round(64·v), −127, 127) / 64.
 * Every division by X or step is by a power of two, so exact. This computes
 * what numerics/mx.ts and nvfp4.ts compute, bit for bit (tested in ONNX
 * Runtime), except for blocks whose max is below 2^−126 (float32 subnormal):
 * there MXINT8's scale is 2^−126 instead of 2^−127. Non-finite activations are
 * not handled.
 */
import { DataType } from "../ir/dtype.js";
import type { Attribute, Node } from "../ir/graph.js";
import type { DynamicBlockQuant } from "../ir/quant.js";
import { makeFloatTensor, type Tensor } from "../ir/tensor.js";
import type { FloatFormat } from "../numerics/float-format.js";
import { FP4_E2M1 } from "../numerics/float-formats.js";

type Fresh = (base: string) => string;

class Builder {
  readonly nodes: Node[] = [];
  readonly inits: Tensor[] = [];
  constructor(
    private readonly fresh: Fresh,
    private readonly base: string,
  ) {}
  op(opType: string, inputs: string[], attributes: Attribute[] = [], out?: string): string {
    const y = out ?? this.fresh(`${this.base}__${opType.toLowerCase()}`);
    this.nodes.push({ opType, name: this.fresh(`${this.base}__${opType}`), inputs, outputs: [y], attributes });
    return y;
  }
  f32(v: number): string {
    const name = this.fresh(`${this.base}__c`);
    this.inits.push(makeFloatTensor(name, [], [v]));
    return name;
  }
  i64(values: number[]): string {
    const name = this.fresh(`${this.base}__i`);
    this.inits.push({ name, dtype: DataType.INT64, dims: [values.length], raw: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
    return name;
  }
}

const toFloat: Attribute[] = [{ name: "to", type: 2, i: DataType.FLOAT }];

/** Rounds v to a finite minifloat's grid (FP4, FP6), ties to even, saturating. */
function gridRound(b: Builder, v: string, fmt: FloatFormat): string {
  const M = fmt.mantissaBits;
  const emin = 1 - fmt.bias;
  const emaxE = Math.floor(Math.log2(fmt.max));
  const av = b.op("Abs", [v]);
  let step = b.f32(2 ** (emin - M));
  for (let e = emin + 1; e <= emaxE; e++) step = b.op("Where", [b.op("GreaterOrEqual", [av, b.f32(2 ** e)]), b.f32(2 ** (e - M)), step]);
  const r = b.op("Min", [b.op("Mul", [b.op("Round", [b.op("Div", [av, step])]), step]), b.f32(fmt.max)]);
  return b.op("Mul", [r, b.op("Sign", [v])]);
}

function fp8Round(b: Builder, v: string, fmt: FloatFormat): string {
  return b.op("Cast", [b.op("Cast", [v], [{ name: "to", type: 2, i: fmt.onnxType }, { name: "saturate", type: 2, i: 1 }])], toFloat);
}

function elementRound(b: Builder, v: string, element: FloatFormat | "int8"): string {
  if (element === "int8") {
    const q = b.op("Clip", [b.op("Round", [b.op("Mul", [v, b.f32(64)])]), b.f32(-127), b.f32(127)]);
    return b.op("Div", [q, b.f32(64)]);
  }
  return element.bits === 8 ? fp8Round(b, v, element) : gridRound(b, v, element);
}

/** ⌊log2 m⌋ exactly, for m ≥ 2^−126, as a float tensor. */
function floorLog2(b: Builder, m: string): string {
  const two = b.f32(2);
  const e0 = b.op("Floor", [b.op("Mul", [b.op("Log", [m]), b.f32(1 / Math.LN2)])]);
  const p = b.op("Pow", [two, e0]);
  const over = b.op("Cast", [b.op("Greater", [p, m])], toFloat);
  const under = b.op("Cast", [b.op("LessOrEqual", [b.op("Mul", [p, two]), m])], toFloat);
  return b.op("Add", [b.op("Sub", [e0, over]), under]);
}

/** Nodes and initializers that compute y, the dynamically block-quantized x. */
export function dynamicBlockGraph(x: string, y: string, spec: DynamicBlockQuant, fresh: Fresh): { nodes: Node[]; inits: Tensor[] } {
  const b = new Builder(fresh, y);
  const { axis: a, extent: D, blockSize: B } = spec;
  const nb = Math.ceil(D / B);
  const pad = nb * B - D;
  const xp = pad > 0 ? b.op("Pad", [x, b.i64([0, pad]), "", b.i64([a])]) : x;
  const shape = b.op("Shape", [xp]);
  const xb = b.op("Reshape", [xp, b.i64([...new Array(a).fill(0), nb, B, -1])]);
  const amax = b.op("ReduceMax", [b.op("Abs", [xb]), b.i64([a + 1])], [{ name: "keepdims", type: 2, i: 1 }]);
  let yb: string;
  if (spec.format === "nvfp4") {
    const ts = b.f32(spec.tensorScale ?? 1);
    const sIn = b.op("Div", [b.op("Div", [amax, b.f32(6)]), ts]);
    const s = b.op("Cast", [b.op("Cast", [sIn], [{ name: "to", type: 2, i: DataType.FLOAT8E4M3FN }, { name: "saturate", type: 2, i: 1 }])], toFloat);
    const d = b.op("Mul", [s, ts]);
    const q = gridRound(b, b.op("Div", [xb, d]), FP4_E2M1);
    yb = b.op("Where", [b.op("Equal", [d, b.f32(0)]), b.f32(0), b.op("Mul", [q, d])]);
  } else {
    const two = b.f32(2);
    const e = floorLog2(b, b.op("Max", [amax, b.f32(2 ** -126)]));
    const X = b.op("Pow", [two, b.op("Max", [b.op("Sub", [e, b.f32(spec.format.emax)]), b.f32(-127)])]);
    yb = b.op("Mul", [elementRound(b, b.op("Div", [xb, X]), spec.format.element), X]);
  }
  if (pad > 0) b.op("Slice", [b.op("Reshape", [yb, shape]), b.i64([0]), b.i64([D]), b.i64([a])], [], y);
  else b.op("Reshape", [yb, shape], [], y);
  return { nodes: b.nodes, inits: b.inits };
}
