/**
 * The SIMD GEMM (module.ts), blocked 4 rows × 4·NV positions:
 *
 * gemm(a, w, bias, out, KP, Pp, P, OB, M, so4, sp4)
 *   acc[m][p] = bias[m] + Σ_kp Σ_t A[kp][p][t] · W[m][2·kp + t],  m < M, p < P
 *   stored at out + m·so4 + p·sp4 (bytes). A[kp] rows hold Pp positions
 *   (P padded to a multiple of 4·NV) of two int16 taps each; W is packed in
 *   blocks of 4 rows, Wp[ob][kp][j] = (w[4·ob + j][2kp], w[4·ob + j][2kp + 1]).
 *   The inner step is i32x4.dot_i16x8_s: 4 lanes of a0·b0 + a1·b1 on int16
 *   operands, added with wrapping int32 adds. Wrapping arithmetic is exact
 *   modulo 2^32, so the result is the exact sum whenever that fits int32
 *   (which the accumulator certificate guarantees; with assertRanges on, the
 *   exact JS GEMM runs instead). Row tails are stored lane by lane.
 */
import { Fn, I32, SIMD, V128 } from "../../../util/wasm-asm.js";

/** Position vectors per block of the exported `gemm`. */
export const GEMM_NV = 2;

export function gemm(nv = GEMM_NV, name = "gemm"): Fn {
  const f = new Fn(name, Array<typeof I32>(11).fill(I32));
  const [a, w, bias, out, KP, Pp, P, OB, M, so4, sp4] = Array.from({ length: 11 }, (_, i) => i);
  const [ob, pb, ap, wp, wend, rowBytes, oc, addr] = Array.from({ length: 8 }, () => f.local(I32));
  const acc = Array.from({ length: 4 * nv }, () => f.local(V128));
  const av = Array.from({ length: nv }, () => f.local(V128));
  const [ws, v] = [f.local(V128), f.local(V128)];
  const inc = (n: number) => () => f.i32(n);
  f.get(Pp).i32(4).mul().set(rowBytes);

  /** Stores v (positions pb + 4·h … +3 of row oc) honouring P and the strides. */
  const store = (h: number) => {
    f.get(out).get(oc).get(so4).mul().add().get(pb).i32(h * 4).add().get(sp4).mul().add().set(addr);
    // a vector store when the stride is one element and all four positions exist
    f.get(sp4).i32(4).eq().get(pb).i32(h * 4 + 4).add().get(P).leS().and();
    f.if(
      () => {
        f.get(addr).get(v).v128Store();
      },
      () => {
        for (let lane = 0; lane < 4; lane++) {
          f.get(pb).i32(h * 4 + lane).add().get(P).ltS();
          f.if(() => {
            f.get(addr).get(sp4).i32(lane).mul().add().get(v).extractLane(lane).i32Store();
          });
        }
      },
    );
  };

  f.for(ob, inc(0), () => f.get(OB), inc(1), () => {
    f.for(pb, inc(0), () => f.get(Pp), inc(4 * nv), () => {
      for (const r of acc) f.i32(0).simd(SIMD.i32x4Splat).set(r);
      f.get(a).get(pb).i32(4).mul().add().set(ap);
      f.get(w).get(ob).get(KP).mul().i32(16).mul().add().tee(wp);
      f.get(KP).i32(16).mul().add().set(wend);
      f.block(() => {
        f.loop(() => {
          f.get(wp).get(wend).geS().brIf(1);
          for (let h = 0; h < nv; h++) f.get(ap).v128Load(16 * h).set(av[h]!);
          for (let j = 0; j < 4; j++) {
            f.get(wp).v128Load32Splat(j * 4).set(ws);
            for (let h = 0; h < nv; h++) {
              const r = acc[nv * j + h]!;
              f.get(r).get(av[h]!).get(ws).simd(SIMD.i32x4DotI16x8S).simd(SIMD.i32x4Add).set(r);
            }
          }
          f.get(ap).get(rowBytes).add().set(ap);
          f.get(wp).i32(16).add().set(wp);
          f.br(0);
        });
      });
      for (let j = 0; j < 4; j++) {
        f.get(ob).i32(4).mul().i32(j).add().tee(oc).get(M).ltS();
        f.if(() => {
          f.get(bias).get(oc).i32(4).mul().add().v128Load32Splat().set(ws);
          for (let h = 0; h < nv; h++) {
            f.get(acc[nv * j + h]!).get(ws).simd(SIMD.i32x4Add).set(v);
            store(h);
          }
        });
      }
    });
  });
  return f;
}
