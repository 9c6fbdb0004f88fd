/**
 * Vector im2col for the SIMD GEMM (module.ts), for convs with stride 1 or 2:
 *
 * pad16(in, z, C, H, W, pt, pl, Wp, planeBytes, dst)
 *   dst[c][pt + y][pl + x] = in[c][y][x] − z as int16 (zero elsewhere; the
 *   planes, C + 1 of them, the last all zero, are cleared first); x − z must
 *   fit int16, so the saturating narrow is exact.
 *
 * pack(xp, a, table, KP, rows, cols, rowStep, s, P8)
 *   a[kp][r·cols + q][t] = xp16[table[2·kp + t] + r·rowStep + q·s], q < cols, r < rows
 *   Each tap of an output row is a run of the padded planes with stride s, so
 *   eight positions of a tap pair are two loads (four for s = 2), an even-lane
 *   shuffle for s = 2, and two interleaving shuffles. A row's last group of
 *   eight may spill past its end: the spill lands on positions written later
 *   (the next row, or the next kp's row, processed after it) or on the
 *   padding positions ≥ P, which no output reads; the caller leaves 8
 *   positions of margin after the operand.
 */
import { Fn, I32, SIMD, V128 } from "../../../util/wasm-asm.js";

export function pad16(): Fn {
  const f = new Fn("pad16", Array<typeof I32>(10).fill(I32));
  const [inp, z, C, H, W, pt, pl, Wp, planeBytes, dst] = Array.from({ length: 10 }, (_, i) => i);
  const [c, y, x, src, out] = Array.from({ length: 5 }, () => f.local(I32));
  const vz = f.local(V128);
  const inc = (n: number) => () => f.i32(n);
  f.get(z).simd(SIMD.i32x4Splat).set(vz);
  f.get(dst).i32(0).get(planeBytes).get(C).i32(1).add().mul().memoryFill();
  f.for(c, inc(0), () => f.get(C), inc(1), () => {
    f.for(y, inc(0), () => f.get(H), inc(1), () => {
      f.get(inp).get(c).get(H).mul().get(y).add().get(W).mul().i32(4).mul().add().set(src);
      f.get(dst).get(c).get(planeBytes).mul().add().get(y).get(pt).add().get(Wp).mul().get(pl).add().i32(2).mul().add().set(out);
      f.for(x, inc(0), () => f.get(W).i32(7).sub(), inc(8), () => {
        f.get(out).get(x).i32(2).mul().add();
        f.get(src).get(x).i32(4).mul().add().v128Load(0).get(vz).simd(SIMD.i32x4Sub);
        f.get(src).get(x).i32(4).mul().add().v128Load(16).get(vz).simd(SIMD.i32x4Sub);
        f.simd(SIMD.i16x8NarrowI32x4S).v128Store();
      });
      f.for(x, () => f.get(W).i32(-8).and(), () => f.get(W), inc(1), () => {
        f.get(out).get(x).i32(2).mul().add();
        f.get(src).get(x).i32(4).mul().add().i32Load().get(z).sub();
        f.i32Store16();
      });
    });
  });
  return f;
}

/** Bytes of int16 lanes 0, 2, …, 14 of two vectors. */
const EVEN16 = [0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29];
/** Interleave int16 lanes 0…3 of a with 0…3 of b: a0 b0 a1 b1 … */
const ZIP_LO = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
const ZIP_HI = ZIP_LO.map((b) => b + 8);

export function pack(): Fn {
  const f = new Fn("pack", Array<typeof I32>(9).fill(I32));
  const [xp, a, table, KP, rows, cols, rowStep, s, P8] = Array.from({ length: 9 }, (_, i) => i);
  const [kp, r, q, s0, s1, d, step] = Array.from({ length: 7 }, () => f.local(I32));
  const [v0, v1] = [f.local(V128), f.local(V128)];
  const inc = (n: number) => () => f.i32(n);
  // bytes advanced in the source per group of 8 positions
  f.get(s).i32(16).mul().set(step);
  f.for(kp, inc(0), () => f.get(KP), inc(1), () => {
    f.for(r, inc(0), () => f.get(rows), inc(1), () => {
      f.get(xp).get(table).get(kp).i32(8).mul().add().i32Load(0).get(r).get(rowStep).mul().add().i32(2).mul().add().set(s0);
      f.get(xp).get(table).get(kp).i32(8).mul().add().i32Load(4).get(r).get(rowStep).mul().add().i32(2).mul().add().set(s1);
      f.get(a).get(kp).get(P8).mul().get(r).get(cols).mul().add().i32(4).mul().add().set(d);
      f.for(q, inc(0), () => f.get(cols), inc(8), () => {
        f.get(s).i32(1).eq();
        f.if(
          () => {
            f.get(s0).v128Load().set(v0);
            f.get(s1).v128Load().set(v1);
          },
          () => {
            f.get(s0).v128Load(0).get(s0).v128Load(16).shuffle(EVEN16).set(v0);
            f.get(s1).v128Load(0).get(s1).v128Load(16).shuffle(EVEN16).set(v1);
          },
        );
        f.get(d).get(v0).get(v1).shuffle(ZIP_LO).v128Store(0);
        f.get(d).get(v0).get(v1).shuffle(ZIP_HI).v128Store(16);
        f.get(s0).get(step).add().set(s0);
        f.get(s1).get(step).add().set(s1);
        f.get(d).i32(32).add().set(d);
      });
    });
  });
  return f;
}

/**
 * pack1x1(in, z, a, K, P, P8): the operand of a 1×1, stride-1, unpadded conv in
 * one pass, a[kp][p][t] = in[2·kp + t][p] − z (zero for the missing tap of an
 * odd K): two rows of eight int32 narrowed to int16 and interleaved. The
 * last group of a row reads past the row (positions ≥ P, never used) and
 * stays inside the input's slack, the next value or the memory guard.
 */
export function pack1x1(): Fn {
  const f = new Fn("pack1x1", Array<typeof I32>(6).fill(I32));
  const [inp, z, a, K, P, P8] = Array.from({ length: 6 }, (_, i) => i);
  const [kp, p, r0, r1, d, odd] = Array.from({ length: 6 }, () => f.local(I32));
  const [vz, v0, v1] = [f.local(V128), f.local(V128), f.local(V128)];
  const inc = (n: number) => () => f.i32(n);
  f.get(z).simd(SIMD.i32x4Splat).set(vz);
  const narrow = (row: number) => {
    f.get(row).get(p).i32(4).mul().add().v128Load(0).get(vz).simd(SIMD.i32x4Sub);
    f.get(row).get(p).i32(4).mul().add().v128Load(16).get(vz).simd(SIMD.i32x4Sub);
    f.simd(SIMD.i16x8NarrowI32x4S);
  };
  f.for(kp, inc(0), () => f.get(K).i32(1).add().i32(1).shrS(), inc(1), () => {
    f.get(inp).get(kp).i32(2).mul().get(P).mul().i32(4).mul().add().set(r0);
    f.get(r0).get(P).i32(4).mul().add().set(r1);
    // the odd tap of the last pair is absent when K is odd: zeros
    f.get(kp).i32(2).mul().i32(1).add().get(K).geS().set(odd);
    f.get(a).get(kp).get(P8).mul().i32(4).mul().add().set(d);
    f.for(p, inc(0), () => f.get(P), inc(8), () => {
      narrow(r0);
      f.set(v0);
      f.get(odd);
      f.if(
        () => {
          f.i32(0).simd(SIMD.i32x4Splat).set(v1);
        },
        () => {
          narrow(r1);
          f.set(v1);
        },
      );
      f.get(d).get(v0).get(v1).shuffle(ZIP_LO).v128Store(0);
      f.get(d).get(v0).get(v1).shuffle(ZIP_HI).v128Store(16);
      f.get(d).i32(32).add().set(d);
    });
  });
  return f;
}
