/**
 * Depthwise 3×3 convolution, dilation 1, stride s ∈ {1, 2}, one sample
 * (module.ts), the case MobileNets are made of:
 *
 * dw3x3(in, z, w, bias, out, plane, C, H, W, mult, OH, OW, s, pt, pl, Wp, planeBytes, eo, pitch)
 *   per input channel c, the zero-padded plane of x − z (row stride Wp) is
 *   built as in dwconv; for s = 2 it is split into even and odd columns
 *   (E at eo, O at eo + Hp·pitch·4, row stride `pitch`), so that every tap
 *   of four consecutive outputs is one contiguous load:
 *     s = 1: tap (ky, kx) of row oy is plane[oy + ky][ox + kx]
 *     s = 2: kx = 0, 1, 2 read E[2oy + ky][ox], O[2oy + ky][ox], E[2oy + ky][ox + 1]
 *   acc[o, oy, ox…ox+3] = bias[o] + Σ_9 taps · w[o, ky, kx] in i32x4 lanes
 *   (wrapping, exact whenever the result fits int32), the nine weights held
 *   in vector registers per output channel o = c·mult + j.
 */
import { Fn, I32, SIMD, V128 } from "../../../util/wasm-asm.js";
import { emitPadPlaneCopy } from "./pad-plane.js";

const EVEN32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD32 = EVEN32.map((b) => b + 4);

export function dw3x3(): Fn {
  const f = new Fn("dw3x3", Array<typeof I32>(19).fill(I32));
  const [inp, z, w, bias, out, plane, C, H, W, mult, OH, OW, s, pt, pl, Wp, planeBytes, eo, pitch] = Array.from({ length: 19 }, (_, i) => i);
  const [c, j, o, y, x, oy, ox4, src, dst, outRow, rowE, rowO, odd, end4] = Array.from({ length: 14 }, () => f.local(I32));
  const taps = Array.from({ length: 6 }, () => f.local(I32));
  const ws = Array.from({ length: 9 }, () => f.local(V128));
  const [vz, vb, v0, v1] = Array.from({ length: 4 }, () => f.local(V128));
  const inc = (n: number) => () => f.i32(n);
  f.get(z).simd(SIMD.i32x4Splat).set(vz);
  f.get(OW).i32(4).mul().set(end4);
  // the padding cells stay zero: each channel rewrites only the interior
  f.get(plane).i32(0).get(planeBytes).memoryFill();
  f.for(c, inc(0), () => f.get(C), inc(1), () => {
    emitPadPlaneCopy(f, { inp, z, vz, plane, c, H, W, pt, pl, Wp, y, x, src, dst });
    f.get(s).i32(2).eq();
    f.if(() => {
      // split into even and odd columns: E at eo, O after Hp rows of `pitch`
      f.get(eo).get(OH).i32(2).mul().i32(1).add().get(pitch).mul().i32(4).mul().add().set(odd);
      f.for(y, inc(0), () => f.get(OH).i32(2).mul().i32(1).add(), inc(1), () => {
        f.for(x, inc(0), () => f.get(pitch), inc(4), () => {
          f.get(plane).get(y).get(Wp).mul().get(x).i32(2).mul().add().i32(4).mul().add().set(src);
          f.get(src).v128Load(0).set(v0);
          f.get(src).v128Load(16).set(v1);
          f.get(eo).get(y).get(pitch).mul().get(x).add().i32(4).mul().add().get(v0).get(v1).shuffle(EVEN32).v128Store();
          f.get(odd).get(y).get(pitch).mul().get(x).add().i32(4).mul().add().get(v0).get(v1).shuffle(ODD32).v128Store();
        });
      });
    });
    f.for(j, inc(0), () => f.get(mult), inc(1), () => {
      f.get(c).get(mult).mul().get(j).add().set(o);
      for (let t = 0; t < 9; t++) f.get(w).get(o).i32(36).mul().add().v128Load32Splat(t * 4).set(ws[t]!);
      f.get(bias).get(o).i32(4).mul().add().v128Load32Splat().set(vb);
      f.for(oy, inc(0), () => f.get(OH), inc(1), () => {
        f.get(out).get(o).get(OH).mul().get(oy).add().get(OW).mul().i32(4).mul().add().set(outRow);
        // Full-vector stores: a row's last vector may spill up to 3 lanes into the next row (written
        // after it) or, for the sample's last row, into the 16 bytes of slack after every value (shared/memory-plan.ts).
        const row = (loads: () => void) => {
          f.for(ox4, inc(0), () => f.get(end4), inc(16), () => {
            f.get(outRow).get(ox4).add();
            f.get(vb);
            loads();
            f.v128Store();
          });
        };
        const tap = (ptr: number, offset: number, t: number) => {
          f.get(ptr).v128Load(offset).get(ws[t]!).simd(SIMD.i32x4Mul).simd(SIMD.i32x4Add);
        };
        f.get(s).i32(1).eq();
        f.if(
          () => {
            for (let ky = 0; ky < 3; ky++) f.get(plane).get(oy).i32(ky).add().get(Wp).mul().i32(4).mul().add().set(taps[ky]!);
            row(() => {
              for (let ky = 0; ky < 3; ky++) {
                f.get(taps[ky]!).get(ox4).add().set(taps[3 + ky]!);
                for (let kx = 0; kx < 3; kx++) tap(taps[3 + ky]!, kx * 4, ky * 3 + kx);
              }
            });
          },
          () => {
            for (let ky = 0; ky < 3; ky++) {
              f.get(oy).i32(2).mul().i32(ky).add().get(pitch).mul().i32(4).mul().tee(rowO).get(eo).add().set(taps[ky]!);
              f.get(rowO).get(odd).add().set(taps[3 + ky]!);
            }
            row(() => {
              for (let ky = 0; ky < 3; ky++) {
                f.get(taps[ky]!).get(ox4).add().set(rowE);
                f.get(taps[3 + ky]!).get(ox4).add().set(rowO);
                tap(rowE, 0, ky * 3);
                tap(rowO, 0, ky * 3 + 1);
                tap(rowE, 4, ky * 3 + 2);
              }
            });
          },
        );
      });
    });
  });
  return f;
}
