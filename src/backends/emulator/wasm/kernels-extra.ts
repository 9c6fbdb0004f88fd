/**
 * More functions of the SIMD module (module.ts): depthwise convolution, the
 * two-input rescale, and max pooling. Pointers are byte offsets.
 *
 * dwconv(in, z, w, bias, out, plane, C, H, W, mult, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl, Wp, planeBytes)
 *   one sample of a depthwise conv (group = C, output channel o = c·mult + j reads channel c):
 *   each input channel is copied as x − z into a zero-padded plane (row stride Wp), then
 *   acc[o, oy, ox] = bias[o] + Σ_{ky, kx} plane[oy·sh + ky·dh, ox·sw + kx·dw] · w[o, ky, kx]
 *   four output columns at a time with i32x4 multiply-adds (wrapping, so exact whenever the
 *   result fits int32, as in gemm).
 *
 * rescale2(a, b, n, za, zb, ma, mb, shift, lo, hi, oz, out)
 *   y = clamp(floor(((a − za)·ma + (b − zb)·mb + 2^(shift−1)) / 2^shift), lo, hi) + oz
 *   (no rounding offset for shift = 0) in 64-bit lanes: exact while |a − za|, |b − zb| fit int32
 *   and ma, mb < 2^31. One input: pass b = a, mb = 0. lo, hi are the clamp bounds minus oz.
 *
 * maxpool(in, out, planes, inPlane4, outPlane, start, taps)
 *   out[p, j] = max over t in [start[j], start[j+1]) of in[p, taps[t]] (taps in bytes)
 */
import { Fn, I32, I64, SIMD, V128 } from "../../../util/wasm-asm.js";
import { emitPadPlaneCopy } from "./pad-plane.js";

const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

export function dwconv(): Fn {
  const f = new Fn("dwconv", Array<typeof I32>(22).fill(I32));
  const [inp, z, w, bias, out, plane, C, H, W, mult, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl, Wp, planeBytes] = Array.from({ length: 22 }, (_, i) => i);
  const [c, j, o, y, x, oy, ox, ky, kx, src, dst, wptr, tap, row, outRow, sw4] = Array.from({ length: 16 }, () => f.local(I32));
  const [vz, vb, vacc, v] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const inc = (n: number) => () => f.i32(n);
  f.get(z).simd(SIMD.i32x4Splat).set(vz);
  f.get(sw).i32(4).mul().set(sw4);
  // the padding cells stay zero: each channel rewrites only the interior
  f.get(plane).i32(0).get(planeBytes).memoryFill();
  f.for(c, inc(0), () => f.get(C), inc(1), () => {
    emitPadPlaneCopy(f, { inp, z, vz, plane, c, H, W, pt, pl, Wp, y, x, src, dst });
    f.for(j, inc(0), () => f.get(mult), inc(1), () => {
      f.get(c).get(mult).mul().get(j).add().set(o);
      f.get(bias).get(o).i32(4).mul().add().v128Load32Splat().set(vb);
      f.for(oy, inc(0), () => f.get(OH), inc(1), () => {
        f.get(out).get(o).get(OH).mul().get(oy).add().get(OW).mul().i32(4).mul().add().set(outRow);
        f.for(ox, inc(0), () => f.get(OW), inc(4), () => {
          f.get(vb).set(vacc);
          f.get(w).get(o).get(kh).mul().get(kw).mul().i32(4).mul().add().set(wptr);
          f.for(ky, inc(0), () => f.get(kh), inc(1), () => {
            f.get(plane).get(oy).get(sh).mul().get(ky).get(dh).mul().add().get(Wp).mul().get(ox).get(sw).mul().add().i32(4).mul().add().set(row);
            f.for(kx, inc(0), () => f.get(kw), inc(1), () => {
              f.get(row).get(kx).get(dw).mul().i32(4).mul().add().set(tap);
              f.get(sw).i32(1).eq();
              f.if(
                () => {
                  f.get(tap).v128Load().set(v);
                },
                () => {
                  f.get(sw).i32(2).eq();
                  f.if(
                    () => {
                      f.get(tap).v128Load(0).get(tap).v128Load(16).shuffle(LOW_WORDS).set(v);
                    },
                    () => {
                      f.get(tap).i32Load().simd(SIMD.i32x4Splat);
                      for (let lane = 1; lane < 4; lane++) f.get(tap).get(sw4).i32(lane).mul().add().i32Load().replaceLane(lane);
                      f.set(v);
                    },
                  );
                },
              );
              f.get(vacc).get(v).get(wptr).v128Load32Splat().simd(SIMD.i32x4Mul).simd(SIMD.i32x4Add).set(vacc);
              f.get(wptr).i32(4).add().set(wptr);
            });
          });
          f.get(ox).i32(4).add().get(OW).leS();
          f.if(
            () => {
              f.get(outRow).get(ox).i32(4).mul().add().get(vacc).v128Store();
            },
            () => {
              for (let lane = 0; lane < 4; lane++) {
                f.get(ox).i32(lane).add().get(OW).ltS();
                f.if(() => {
                  f.get(outRow).get(ox).i32(lane).add().i32(4).mul().add().get(vacc).extractLane(lane).i32Store();
                });
              }
            },
          );
        });
      });
    });
  });
  return f;
}

export function rescale2(): Fn {
  const f = new Fn("rescale2", Array<typeof I32>(12).fill(I32));
  const [a, b, n, za, zb, ma, mb, shift, lo, hi, oz, out] = Array.from({ length: 12 }, (_, i) => i);
  const i = f.local(I32);
  const [half, lo64, hi64, ma64, mb64, sh64, s] = Array.from({ length: 7 }, () => f.local(I64));
  const [vza, vzb, vma, vmb, vhalf, vlo, vhi, voz, da, db, pl, ph] = Array.from({ length: 12 }, () => f.local(V128));
  // half = shift ? 1 << (shift − 1) : 0
  f.i64(1n).get(shift).i32(1).sub().i64ExtendI32U().i64Shl().i64(0n).get(shift).select().set(half);
  f.get(lo).i64ExtendI32S().set(lo64);
  f.get(hi).i64ExtendI32S().set(hi64);
  f.get(ma).i64ExtendI32U().set(ma64);
  f.get(mb).i64ExtendI32U().set(mb64);
  f.get(shift).i64ExtendI32U().set(sh64);
  f.get(za).simd(SIMD.i32x4Splat).set(vza);
  f.get(zb).simd(SIMD.i32x4Splat).set(vzb);
  f.get(ma).simd(SIMD.i32x4Splat).set(vma);
  f.get(mb).simd(SIMD.i32x4Splat).set(vmb);
  f.get(half).simd(SIMD.i64x2Splat).set(vhalf);
  f.get(lo64).simd(SIMD.i64x2Splat).set(vlo);
  f.get(hi64).simd(SIMD.i64x2Splat).set(vhi);
  f.get(oz).simd(SIMD.i32x4Splat).set(voz);
  const clamp = (r: number) => {
    f.get(vlo).get(r).get(r).get(vlo).simd(SIMD.i64x2LtS).simd(SIMD.bitselect).set(r);
    f.get(vhi).get(r).get(r).get(vhi).simd(SIMD.i64x2GtS).simd(SIMD.bitselect).set(r);
  };
  f.for(i, () => f.i32(0), () => f.get(n).i32(3).sub(), () => f.i32(4), () => {
    f.get(a).get(i).i32(4).mul().add().v128Load().get(vza).simd(SIMD.i32x4Sub).set(da);
    f.get(b).get(i).i32(4).mul().add().v128Load().get(vzb).simd(SIMD.i32x4Sub).set(db);
    f.get(da).get(vma).simd(SIMD.i64x2ExtmulLowI32x4S).get(db).get(vmb).simd(SIMD.i64x2ExtmulLowI32x4S).simd(SIMD.i64x2Add);
    f.get(vhalf).simd(SIMD.i64x2Add).get(shift).simd(SIMD.i64x2ShrS).set(pl);
    f.get(da).get(vma).simd(SIMD.i64x2ExtmulHighI32x4S).get(db).get(vmb).simd(SIMD.i64x2ExtmulHighI32x4S).simd(SIMD.i64x2Add);
    f.get(vhalf).simd(SIMD.i64x2Add).get(shift).simd(SIMD.i64x2ShrS).set(ph);
    clamp(pl);
    clamp(ph);
    f.get(out).get(i).i32(4).mul().add();
    f.get(pl).get(ph).shuffle(LOW_WORDS).get(voz).simd(SIMD.i32x4Add);
    f.v128Store();
  });
  f.for(i, () => f.get(n).i32(-4).and(), () => f.get(n), () => f.i32(1), () => {
    f.get(a).get(i).i32(4).mul().add().i32Load().get(za).sub().i64ExtendI32S().get(ma64).i64Mul();
    f.get(b).get(i).i32(4).mul().add().i32Load().get(zb).sub().i64ExtendI32S().get(mb64).i64Mul();
    f.i64Add().get(half).i64Add().get(sh64).i64ShrS().set(s);
    f.get(lo64).get(s).get(s).get(lo64).i64LtS().select().set(s);
    f.get(hi64).get(s).get(s).get(hi64).i64GtS().select().set(s);
    f.get(out).get(i).i32(4).mul().add().get(s).i32WrapI64().get(oz).add().i32Store();
  });
  return f;
}

export function maxpool(): Fn {
  const f = new Fn("maxpool", Array<typeof I32>(7).fill(I32));
  const [inp, out, planes, inPlane4, outPlane, start, taps] = Array.from({ length: 7 }, (_, i) => i);
  const [p, j, t, t1, ib, m, v] = Array.from({ length: 7 }, () => f.local(I32));
  f.for(p, () => f.i32(0), () => f.get(planes), () => f.i32(1), () => {
    f.get(inp).get(p).get(inPlane4).mul().add().set(ib);
    f.for(j, () => f.i32(0), () => f.get(outPlane), () => f.i32(1), () => {
      f.get(start).get(j).i32(4).mul().add().i32Load(4).set(t1);
      f.get(start).get(j).i32(4).mul().add().i32Load(0).set(t);
      f.get(ib).get(taps).get(t).i32(4).mul().add().i32Load().add().i32Load().set(m);
      f.for(t, () => f.get(t).i32(1).add(), () => f.get(t1), () => f.i32(1), () => {
        f.get(ib).get(taps).get(t).i32(4).mul().add().i32Load().add().i32Load().set(v);
        f.get(v).get(m).get(v).get(m).gtS().select().set(m);
      });
      f.get(out).get(m).i32Store();
      f.get(out).i32(4).add().set(out);
    });
  });
  return f;
}

const EVEN32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD32 = EVEN32.map((b) => b + 4);

/**
 * maxpool2(in, out, planes, H, W, OH, OW): the 2×2, stride 2, unpadded max
 * pool, four outputs at a time: out[p, oy, ox] = max of in[p, 2oy + {0,1}, 2ox + {0,1}]
 * (i32x4.max_s of the two rows, then of their even and odd lanes). A row's
 * last vector may read past the row (lanes that are discarded) and store up
 * to 3 lanes into the next row, which is written after it, or into the
 * value's slack.
 */
export function maxpool2(): Fn {
  const f = new Fn("maxpool2", Array<typeof I32>(7).fill(I32));
  const [inp, out, planes, H, W, OH, OW] = Array.from({ length: 7 }, (_, i) => i);
  const [p, oy, ox, r0, dst] = Array.from({ length: 5 }, () => f.local(I32));
  const [m0, m1] = [f.local(V128), f.local(V128)];
  const inc = (n: number) => () => f.i32(n);
  f.for(p, inc(0), () => f.get(planes), inc(1), () => {
    f.for(oy, inc(0), () => f.get(OH), inc(1), () => {
      f.get(inp).get(p).get(H).mul().get(oy).i32(2).mul().add().get(W).mul().i32(4).mul().add().set(r0);
      f.get(out).get(p).get(OH).mul().get(oy).add().get(OW).mul().i32(4).mul().add().set(dst);
      f.for(ox, inc(0), () => f.get(OW), inc(4), () => {
        f.get(r0).get(ox).i32(8).mul().add().v128Load(0);
        f.get(r0).get(ox).i32(8).mul().add().get(W).i32(4).mul().add().v128Load(0);
        f.simd(SIMD.i32x4MaxS).set(m0);
        f.get(r0).get(ox).i32(8).mul().add().v128Load(16);
        f.get(r0).get(ox).i32(8).mul().add().get(W).i32(4).mul().add().v128Load(16);
        f.simd(SIMD.i32x4MaxS).set(m1);
        f.get(dst).get(ox).i32(4).mul().add();
        f.get(m0).get(m1).shuffle(EVEN32).get(m0).get(m1).shuffle(ODD32).simd(SIMD.i32x4MaxS);
        f.v128Store();
      });
    });
  });
  return f;
}
