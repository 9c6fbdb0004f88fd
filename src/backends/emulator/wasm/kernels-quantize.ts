/**
 * ONNX QuantizeLinear on float32 inputs (module.ts), four at a time:
 *
 * quantize(in, out, n, params)   params: [scale f32, lo f32, hi f32, zp i32]
 *   q = trunc(clamp(nearest(x / scale), lo, hi)) + zp, and 0 where x / scale is NaN
 * with lo = qmin − zp, hi = qmax − zp. This is numerics' quantizeValue
 * exactly: f32x4.div is the correctly rounded float32 quotient (what
 * fround of the double quotient gives), f32x4.nearest rounds half to even,
 * clamp(r + zp, qmin, qmax) = clamp(r, qmin − zp, qmax − zp) + zp for the
 * integer r (±∞ saturate), and quantizeValue's NaN, stored into an
 * Int32Array, is 0. The last vector may read past `in` (scratch) and write
 * up to 3 lanes into the output value's slack.
 */
import { Fn, I32, SIMD, V128 } from "../../../util/wasm-asm.js";

export function quantize(): Fn {
  const f = new Fn("quantize", Array<typeof I32>(4).fill(I32));
  const [inp, out, n, params] = [0, 1, 2, 3];
  const i = f.local(I32);
  const [vs, vlo, vhi, vzp, r, zero] = Array.from({ length: 6 }, () => f.local(V128));
  f.get(params).v128Load32Splat(0).set(vs);
  f.get(params).v128Load32Splat(4).set(vlo);
  f.get(params).v128Load32Splat(8).set(vhi);
  f.get(params).v128Load32Splat(12).set(vzp);
  f.i32(0).simd(SIMD.i32x4Splat).set(zero);
  f.for(i, () => f.i32(0), () => f.get(n), () => f.i32(4), () => {
    f.get(inp).get(i).i32(4).mul().add().v128Load().get(vs).simd(SIMD.f32x4Div).simd(SIMD.f32x4Nearest).set(r);
    f.get(out).get(i).i32(4).mul().add();
    // pmax(pmin(r, hi), lo) keeps NaN (pmin(a, b) = b < a ? b : a); NaN lanes then select 0
    f.get(r).get(vhi).simd(SIMD.f32x4Pmin).get(vlo).simd(SIMD.f32x4Pmax).simd(SIMD.i32x4TruncSatF32x4S).get(vzp).simd(SIMD.i32x4Add);
    f.get(zero);
    f.get(r).get(r).simd(SIMD.f32x4Eq);
    f.simd(SIMD.bitselect);
    f.v128Store();
  });
  return f;
}
