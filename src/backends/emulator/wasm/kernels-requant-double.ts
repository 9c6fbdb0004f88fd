/**
 * gemmlowp / TFLite double-rounding requantization (module.ts), for
 * multipliers with s ≥ 31 (no left shift) and 0 < m < 2^31:
 *
 * requantDouble(in, out, table, rows, channels, inner, zp, lo, hi)
 *   v = SRDHM(x, m) = floor((x·m + 2^30) / 2^31)            (fits int32 for these m)
 *   y = clamp(RDBP(v, r), lo, hi) + zp,   r = s − 31 ∈ [0, 31], (m, r) = table[c] (16 bytes each)
 *   RDBP(v, r) = (v >> r) + ((v & mask) > (mask >> 1) + [v < 0]),  mask = 2^r − 1
 * as numerics' requantizeDouble. The 64-bit sum v' = x·m + 2^30 = H·2^32 + L
 * (L unsigned) gives floor(v' / 2^31) = 2H + (L >>> 31), all in 32-bit lanes.
 * lo, hi are the clamp bounds minus zp.
 */
import { Fn, I32, I64, SIMD, V128 } from "../../../util/wasm-asm.js";

const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const HIGH_WORDS = LOW_WORDS.map((b) => b + 4);

export function requantDouble(): Fn {
  const f = new Fn("requantDouble", Array<typeof I32>(9).fill(I32));
  const [inp, out, table, rows, channels, inner, zp, lo, hi] = Array.from({ length: 9 }, (_, i) => i);
  const [r, c, i, m, right, entry, vecEnd, mask, y, rem] = Array.from({ length: 10 }, () => f.local(I32));
  const [m64, v64] = [f.local(I64), f.local(I64)];
  const [vm, vhalf, vzp, vlo, vhi, vmask, vthr, x, pl, ph, v] = Array.from({ length: 11 }, () => f.local(V128));
  const inc = (n: number) => () => f.i32(n);
  f.get(zp).simd(SIMD.i32x4Splat).set(vzp);
  f.get(lo).simd(SIMD.i32x4Splat).set(vlo);
  f.get(hi).simd(SIMD.i32x4Splat).set(vhi);
  f.i64(1n << 30n).simd(SIMD.i64x2Splat).set(vhalf);
  f.get(inner).i32(-4).and().set(vecEnd);
  f.for(r, inc(0), () => f.get(rows), inc(1), () => {
    f.for(c, inc(0), () => f.get(channels), inc(1), () => {
      f.get(table).get(c).i32(16).mul().add().tee(entry).i32Load(0).set(m);
      f.get(entry).i32Load(4).set(right);
      f.get(m).i64ExtendI32U().set(m64);
      f.get(m).simd(SIMD.i32x4Splat).set(vm);
      f.i32(1).get(right).shl().i32(1).sub().set(mask);
      f.get(mask).simd(SIMD.i32x4Splat).set(vmask);
      f.get(mask).i32(1).shrS().simd(SIMD.i32x4Splat).set(vthr);
      f.for(i, inc(0), () => f.get(vecEnd), inc(4), () => {
        f.get(inp).v128Load().set(x);
        f.get(x).get(vm).simd(SIMD.i64x2ExtmulLowI32x4S).get(vhalf).simd(SIMD.i64x2Add).set(pl);
        f.get(x).get(vm).simd(SIMD.i64x2ExtmulHighI32x4S).get(vhalf).simd(SIMD.i64x2Add).set(ph);
        // v = 2·H + (L >>> 31)
        f.get(pl).get(ph).shuffle(HIGH_WORDS).i32(1).simd(SIMD.i32x4Shl);
        f.get(pl).get(ph).shuffle(LOW_WORDS).i32(31).simd(SIMD.i32x4ShrU);
        f.simd(SIMD.v128Or).set(v);
        // RDBP: (v >> r) − (rem > thr + [v < 0] ? −1 : 0); lt_s gives −1 for negative lanes
        f.get(out);
        f.get(v).get(right).simd(SIMD.i32x4ShrS);
        f.get(v).get(vmask).simd(SIMD.v128And);
        f.get(vthr).get(v).i32(0).simd(SIMD.i32x4Splat).simd(SIMD.i32x4LtS).simd(SIMD.i32x4Sub);
        f.simd(SIMD.i32x4GtS).simd(SIMD.i32x4Sub);
        f.get(vlo).simd(SIMD.i32x4MaxS).get(vhi).simd(SIMD.i32x4MinS).get(vzp).simd(SIMD.i32x4Add);
        f.v128Store();
        f.get(inp).i32(16).add().set(inp);
        f.get(out).i32(16).add().set(out);
      });
      f.for(i, () => f.get(vecEnd), () => f.get(inner), inc(1), () => {
        // v = floor((x·m + 2^30) / 2^31) in 64 bits, then RDBP in 32
        f.get(inp).i32Load().i64ExtendI32S().get(m64).i64Mul().i64(1n << 30n).i64Add().i64(31n).i64ShrS().set(v64);
        f.get(v64).i32WrapI64().set(y);
        f.get(y).get(mask).and().set(rem);
        f.get(y).get(right).shrS();
        f.get(rem).get(mask).i32(1).shrS().get(y).i32(0).ltS().add().gtS();
        f.add().set(y);
        f.get(lo).get(y).get(y).get(lo).ltS().select().set(y);
        f.get(hi).get(y).get(y).get(hi).gtS().select().set(y);
        f.get(out).get(y).get(zp).add().i32Store();
        f.get(inp).i32(4).add().set(inp);
        f.get(out).i32(4).add().set(out);
      });
    });
  });
  return f;
}
