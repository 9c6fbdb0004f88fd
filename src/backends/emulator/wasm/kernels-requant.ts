/**
 * Single-rounding requantization with 64-bit products (module.ts):
 *
 * requant(in, out, table, rows, channels, inner, zp, lo, hi)
 *   y = clamp(floor((x·m + 2^(s−1)) / 2^s), lo, hi) + zp,  (m, s, wide) = table[c] (16 bytes each)
 *   for x over rows × channels × inner, c the middle index; lo, hi are the
 *   clamp bounds minus zp (clamp(v + zp, a, b) = clamp(v, a − zp, b − zp) + zp).
 *   Exact for int32 x, 0 ≤ m < 2^31 and 1 ≤ s ≤ 62: |x·m| < 2^62, so the
 *   64-bit sum and arithmetic shift are exact. When m < 2^s the shifted value
 *   fits int32 and is clamped in 32-bit lanes (for s ≥ 32 the shift is taken on
 *   the high words, floor(v / 2^s) = floor(⌊v / 2^32⌋ / 2^(s−32)), as x64 has
 *   no 64-bit arithmetic vector shift); channels with m ≥ 2^s
 *   (multiplier ≥ 1, `wide`) are clamped in 64-bit lanes before narrowing.
 */
import { Fn, I32, I64, SIMD, V128 } from "../../../util/wasm-asm.js";

const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const HIGH_WORDS = LOW_WORDS.map((b) => b + 4);

export function requant(): Fn {
  const f = new Fn("requant", Array<typeof I32>(9).fill(I32));
  const [inp, out, table, rows, channels, inner, zp, lo, hi] = Array.from({ length: 9 }, (_, i) => i);
  const [r, c, i, m, s, wide, entry, vecEnd] = Array.from({ length: 8 }, () => f.local(I32));
  const [half, m64, s64, lo64, hi64, v] = Array.from({ length: 6 }, () => f.local(I64));
  const [vm, vhalf, vzp, vlo, vhi, vlo64, vhi64, x, pl, ph] = Array.from({ length: 10 }, () => f.local(V128));
  const inc = (n: number) => () => f.i32(n);
  f.get(zp).simd(SIMD.i32x4Splat).set(vzp);
  f.get(lo).simd(SIMD.i32x4Splat).set(vlo);
  f.get(hi).simd(SIMD.i32x4Splat).set(vhi);
  f.get(lo).i64ExtendI32S().tee(lo64).simd(SIMD.i64x2Splat).set(vlo64);
  f.get(hi).i64ExtendI32S().tee(hi64).simd(SIMD.i64x2Splat).set(vhi64);
  f.get(inner).i32(-4).and().set(vecEnd);
  /** 64-bit x·m + 2^(s−1) of the four lanes, low and high pairs. */
  const sums = () => {
    f.get(inp).v128Load().set(x);
    f.get(x).get(vm).simd(SIMD.i64x2ExtmulLowI32x4S).get(vhalf).simd(SIMD.i64x2Add).set(pl);
    f.get(x).get(vm).simd(SIMD.i64x2ExtmulHighI32x4S).get(vhalf).simd(SIMD.i64x2Add).set(ph);
  };
  /** The same, arithmetically shifted right by s in 64-bit lanes. */
  const products = () => {
    sums();
    f.get(pl).get(s).simd(SIMD.i64x2ShrS).set(pl);
    f.get(ph).get(s).simd(SIMD.i64x2ShrS).set(ph);
  };
  const advance = () => {
    f.get(inp).i32(16).add().set(inp);
    f.get(out).i32(16).add().set(out);
  };
  const clamp64 = (q: number) => {
    f.get(vlo64).get(q).get(q).get(vlo64).simd(SIMD.i64x2LtS).simd(SIMD.bitselect).set(q);
    f.get(vhi64).get(q).get(q).get(vhi64).simd(SIMD.i64x2GtS).simd(SIMD.bitselect).set(q);
  };
  f.for(r, inc(0), () => f.get(rows), inc(1), () => {
    f.for(c, inc(0), () => f.get(channels), inc(1), () => {
      f.get(table).get(c).i32(16).mul().add().tee(entry).i32Load(0).set(m);
      f.get(entry).i32Load(4).set(s);
      f.get(entry).i32Load(8).set(wide);
      f.get(m).i64ExtendI32U().set(m64);
      f.get(s).i64ExtendI32U().set(s64);
      f.i64(1n).get(s).i32(1).sub().i64ExtendI32U().i64Shl().set(half);
      f.get(m).simd(SIMD.i32x4Splat).set(vm);
      f.get(half).simd(SIMD.i64x2Splat).set(vhalf);
      /** The vector loop over this channel's run, `lanes` turning the sums in pl, ph into the stored lanes. */
      const loop = (lanes: () => void) => {
        f.for(i, inc(0), () => f.get(vecEnd), inc(4), () => {
          f.get(out);
          lanes();
          f.v128Store();
          advance();
        });
      };
      // not wide, s ≥ 32: floor(v / 2^s) = floor(high32(v) / 2^(s − 32)), in 32-bit lanes
      const highWords = () => {
        sums();
        f.get(pl).get(ph).shuffle(HIGH_WORDS).get(s).i32(32).sub().simd(SIMD.i32x4ShrS);
        f.get(vlo).simd(SIMD.i32x4MaxS).get(vhi).simd(SIMD.i32x4MinS).get(vzp).simd(SIMD.i32x4Add);
      };
      // not wide, s < 32: 64-bit shifts, then the low words (they hold the int32 result)
      const lowWords = () => {
        products();
        f.get(pl).get(ph).shuffle(LOW_WORDS).get(vlo).simd(SIMD.i32x4MaxS).get(vhi).simd(SIMD.i32x4MinS).get(vzp).simd(SIMD.i32x4Add);
      };
      // wide: clamp in 64-bit lanes first
      const wideLanes = () => {
        products();
        clamp64(pl);
        clamp64(ph);
        f.get(pl).get(ph).shuffle(LOW_WORDS).get(vzp).simd(SIMD.i32x4Add);
      };
      f.get(wide);
      f.if(
        () => loop(wideLanes),
        () => {
          f.get(s).i32(32).geS();
          f.if(
            () => loop(highWords),
            () => loop(lowWords),
          );
        },
      );
      f.for(i, () => f.get(vecEnd), () => f.get(inner), inc(1), () => {
        f.get(inp).i32Load().i64ExtendI32S().get(m64).i64Mul().get(half).i64Add().get(s64).i64ShrS().set(v);
        f.get(lo64).get(v).get(v).get(lo64).i64LtS().select().set(v);
        f.get(hi64).get(v).get(v).get(hi64).i64GtS().select().set(v);
        f.get(out).get(v).i32WrapI64().get(zp).add().i32Store();
        f.get(inp).i32(4).add().set(inp);
        f.get(out).i32(4).add().set(out);
      });
    });
  });
  return f;
}
