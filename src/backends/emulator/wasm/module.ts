/**
 * The SIMD engine's WebAssembly module, generated once (asm.ts) and compiled
 * once per process. Its functions work on one memory; pointers are byte
 * offsets. Each is documented where it is generated:
 *   gemm                 kernels-gemm.ts      int16 pair-dot GEMM, conv and dense
 *   pad16, pack, pack1x1 kernels-pack.ts      vector im2col (column stride 1 or 2; 1×1 convs)
 *   im2col               here                 gather-map im2col (any geometry)
 *   dw3x3                kernels-dw3.ts       depthwise 3×3, stride 1 or 2
 *   dwconv, rescale2, maxpool, maxpool2  kernels-extra.ts
 *   requant              kernels-requant.ts   single-rounding requant, 64-bit products
 *   requantDouble        kernels-requant-double.ts  gemmlowp double rounding
 *   quantize             kernels-quantize.ts  ONNX QuantizeLinear, float32 lanes
 *
 * im2col(in, z, gather, n, out)
 *   out16[i] = gather[i] < 0 ? 0 : in32[gather[i] / 4] − z, i < n (gather holds
 *   byte offsets; padding is masked, not branched on). x − z must fit int16.
 */
import { WebAssemblyApi, type WasmModule } from "../../../util/wasm-api.js";
import { assemble, Fn, I32 } from "../../../util/wasm-asm.js";
import { dwconv, maxpool, maxpool2, rescale2 } from "./kernels-extra.js";
import { dw3x3 } from "./kernels-dw3.js";
import { pack, pack1x1, pad16 } from "./kernels-pack.js";
import { quantize } from "./kernels-quantize.js";
import { requant } from "./kernels-requant.js";
import { requantDouble } from "./kernels-requant-double.js";
import { gemm } from "./kernels-gemm.js";

function im2col(): Fn {
  const f = new Fn("im2col", [I32, I32, I32, I32, I32]);
  const [inp, z, gather, n, out] = [0, 1, 2, 3, 4];
  const i = f.local(I32);
  const g = f.local(I32);
  const m = f.local(I32);
  f.for(
    i,
    () => f.i32(0),
    () => f.get(n),
    () => f.i32(1),
    () => {
      // g = gather[i]; m = g >> 31 (all ones for padding); v = (in[g & ~m] − z) & ~m
      f.get(gather).get(i).i32(2).shl().add().i32Load().tee(g).i32(31).shrS().set(m);
      f.get(out).get(i).i32(1).shl().add();
      f.get(inp).get(g).get(m).i32(-1).xor().and().add().i32Load();
      f.get(z).sub().get(m).i32(-1).xor().and();
      f.i32Store16();
    },
  );
  return f;
}

let compiled: WasmModule | undefined;

/** The compiled module (built and compiled once per process); throws where WebAssembly SIMD is missing. */
export function simdModule(): WasmModule {
  if (!WebAssemblyApi) throw new Error("no WebAssembly in this runtime");
  compiled ??= new WebAssemblyApi.Module(assemble([im2col(), gemm(), requant(), dwconv(), rescale2(), maxpool(), maxpool2(), pad16(), pack(), pack1x1(), dw3x3(), quantize(), requantDouble()]));
  return compiled;
}

export interface SimdExports {
  im2col(inp: number, z: number, gather: number, n: number, out: number): void;
  gemm(a: number, w: number, bias: number, out: number, KP: number, Pp: number, P: number, OB: number, M: number, so4: number, sp4: number): void;
  requant(inp: number, out: number, table: number, rows: number, channels: number, inner: number, zp: number, lo: number, hi: number): void;
  dwconv(...args: number[]): void;
  rescale2(a: number, b: number, n: number, za: number, zb: number, ma: number, mb: number, shift: number, lo: number, hi: number, oz: number, out: number): void;
  maxpool(inp: number, out: number, planes: number, inPlane4: number, outPlane: number, start: number, taps: number): void;
  maxpool2(inp: number, out: number, planes: number, H: number, W: number, OH: number, OW: number): void;
  quantize(inp: number, out: number, n: number, params: number): void;
  pack1x1(inp: number, z: number, a: number, K: number, P: number, P8: number): void;
  requantDouble(inp: number, out: number, table: number, rows: number, channels: number, inner: number, zp: number, lo: number, hi: number): void;
  dw3x3(...args: number[]): void;
  pad16(inp: number, z: number, C: number, H: number, W: number, pt: number, pl: number, Wp: number, planeBytes: number, dst: number): void;
  pack(xp: number, a: number, table: number, KP: number, rows: number, cols: number, rowStep: number, s: number, P8: number): void;
}
