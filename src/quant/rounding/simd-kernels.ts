/**
 * The float64 WebAssembly SIMD kernels of learned rounding, over arrays in
 * one WebAssembly memory (a SimdArena):
 *
 * - tile, a 4×4 tile of running dot products, the inner loop of the O(K³)
 *   kernels (cholesky.ts), of GPTQ's lazy block update (gptq.ts) and of the
 *   loss's E·H (dense.ts):
 *
 *     acc[4r + c] ← acc[4r + c] − Σ_{t0 ≤ t < t1} a_r[t] · b_c[t]
 *
 *   over four rows a_r of one matrix and four rows b_c of another, each entry
 *   taking its terms one at a time in ascending t (one rounded multiply and
 *   one rounded subtract per term), exactly as a loop over one entry would;
 * - rank1, GPTQ's update inside a block, w_r[j] ← w_r[j] − e_r · u[j] for
 *   every row r, two j per f64x2.
 *
 * The tile's four b rows are packed side by side,
 * p[4t + c] = b_c[t], so one t loads b_0..b_3 as two f64x2 vectors, each
 * a_r[t] is splatted to both lanes, and the sixteen sums are eight f64x2
 * accumulators. f64x2.mul and f64x2.sub round each lane as IEEE 754 double
 * operations and are never fused, so every lane computes what scalar
 * JavaScript would, bit for bit. The operands live in the memory of a
 * SimdArena (the matrices the kernels work on are views into it).
 */
import { type WasmMemory, type WasmModule, WebAssemblyApi } from "../../util/wasm-api.js";
import { assemble, Fn, I32, SIMD, V128 } from "../../util/wasm-asm.js";

/** Entries per side of a tile. */
export const TILE = 4;

/** tile(acc, a0, a1, a2, a3, p, n): byte addresses of the 16 sums, of a_r[t0], of p[4·t0]; n terms. */
function tileFunction(): Fn {
  const f = new Fn("tile", [I32, I32, I32, I32, I32, I32, I32]);
  const [acc, p, n] = [0, 5, 6];
  const a = [1, 2, 3, 4];
  const s = Array.from({ length: 8 }, () => f.local(V128));
  const [x, y0, y1] = [f.local(V128), f.local(V128), f.local(V128)];
  for (let i = 0; i < 8; i++) f.get(acc).v128Load(16 * i).set(s[i]!);
  f.block(() => {
    f.loop(() => {
      f.get(n).eqz().brIf(1);
      f.get(p).v128Load(0).set(y0);
      f.get(p).v128Load(16).set(y1);
      for (let r = 0; r < 4; r++) {
        f.get(a[r]!).v128Load64Splat(0).set(x);
        f.get(s[2 * r]!).get(x).get(y0).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub).set(s[2 * r]!);
        f.get(s[2 * r + 1]!).get(x).get(y1).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub).set(s[2 * r + 1]!);
        f.get(a[r]!).i32(8).add().set(a[r]!);
      }
      f.get(p).i32(32).add().set(p);
      f.get(n).i32(1).sub().set(n);
      f.br(0);
    });
  });
  for (let i = 0; i < 8; i++) f.get(acc).get(s[i]!).v128Store(16 * i);
  return f;
}

/** rank1(w, wStride, e, eStride, u, rows, pairs): byte addresses of w_0[j0], e_0, u[j0]; strides in bytes; 2·pairs columns. */
function rank1Function(): Fn {
  const f = new Fn("rank1", [I32, I32, I32, I32, I32, I32, I32]);
  const [w, wStride, e, eStride, u, rows, pairs] = [0, 1, 2, 3, 4, 5, 6];
  const [pw, pu, n] = [f.local(I32), f.local(I32), f.local(I32)];
  const x = f.local(V128);
  f.block(() => {
    f.loop(() => {
      f.get(rows).eqz().brIf(1);
      f.get(e).v128Load64Splat(0).set(x);
      f.get(w).set(pw);
      f.get(u).set(pu);
      f.get(pairs).set(n);
      f.block(() => {
        f.loop(() => {
          f.get(n).eqz().brIf(1);
          f.get(pw).get(pw).v128Load(0).get(x).get(pu).v128Load(0).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub).v128Store(0);
          f.get(pw).i32(16).add().set(pw);
          f.get(pu).i32(16).add().set(pu);
          f.get(n).i32(1).sub().set(n);
          f.br(0);
        });
      });
      f.get(w).get(wStride).add().set(w);
      f.get(e).get(eStride).add().set(e);
      f.get(rows).i32(1).sub().set(rows);
      f.br(0);
    });
  });
  return f;
}

type Kernel = (...args: number[]) => void;

let compiled: WasmModule | undefined;
/** The arena kept between calls while it stays this small (bytes); larger ones are dropped after use. */
const KEEP_BYTES = 16 << 20;
interface Instance {
  readonly memory: WasmMemory;
  readonly tile: Kernel;
  readonly rank1: Kernel;
}
let kept: Instance | undefined;

const PAGE = 65536;

/**
 * Float64 arrays in one WebAssembly memory, and the kernels over them.
 * Opening an arena invalidates the previous one's arrays: a kernel opens
 * one, works, and copies its result out before returning.
 */
export class SimdArena {
  /** The 16 sums of a tile, row-major (acc[4r + c]). */
  readonly acc: Float64Array;
  /** The arrays asked for, in order, zero-filled. */
  readonly arrays: Float64Array[];

  private constructor(
    private readonly kernels: Instance,
    sizes: readonly number[],
  ) {
    let at = 0;
    const take = (n: number) => {
      const v = new Float64Array(kernels.memory.buffer, at, n);
      at += 8 * n + ((16 - ((8 * n) % 16)) % 16);
      v.fill(0);
      return v;
    };
    this.acc = take(TILE * TILE);
    this.arrays = sizes.map(take);
  }

  /** An arena holding arrays of the given lengths (float64 elements). */
  static open(sizes: readonly number[]): SimdArena {
    const bytes = 8 * (TILE * TILE + sizes.reduce((s, n) => s + n + 1, 0));
    const pages = Math.ceil(bytes / PAGE);
    if (!WebAssemblyApi) throw new Error("no WebAssembly in this runtime (learned rounding's dense kernels need it)");
    const api = WebAssemblyApi;
    compiled ??= new api.Module(assemble([tileFunction(), rank1Function()]));
    const fresh = (): Instance => {
      const memory = new api.Memory({ initial: pages });
      const instance = new api.Instance(compiled!, { env: { memory } });
      return { memory, tile: instance.exports["tile"] as Kernel, rank1: instance.exports["rank1"] as Kernel };
    };
    if (bytes > KEEP_BYTES) return new SimdArena(fresh(), sizes);
    kept ??= fresh();
    const have = kept.memory.buffer.byteLength / PAGE;
    if (have < pages) kept.memory.grow(pages - have);
    return new SimdArena(kept, sizes);
  }

  /**
   * acc[4r + c] −= a[ar + t]·p[pBase + 4t + c] for t = t0 … t1 − 1 in turn
   * (r, c in 0..3; a and p arrays of this arena, ar = a0..a3 row offsets).
   */
  tile(a: Float64Array, a0: number, a1: number, a2: number, a3: number, p: Float64Array, pBase: number, t0: number, t1: number): void {
    if (t0 >= t1) return;
    const base = a.byteOffset + 8 * t0;
    this.kernels.tile(this.acc.byteOffset, base + 8 * a0, base + 8 * a1, base + 8 * a2, base + 8 * a3, p.byteOffset + 8 * (pBase + TILE * t0), t1 - t0);
  }

  /**
   * w[wAt + r·wStride + j] −= e[eAt + r·eStride]·u[j] for r < rows and
   * j < 2·pairs (w, e, u arrays of this arena; offsets in elements).
   */
  rank1(w: Float64Array, wAt: number, wStride: number, e: Float64Array, eAt: number, eStride: number, u: Float64Array, rows: number, pairs: number): void {
    if (rows <= 0 || pairs <= 0) return;
    this.kernels.rank1(w.byteOffset + 8 * wAt, 8 * wStride, e.byteOffset + 8 * eAt, 8 * eStride, u.byteOffset, rows, pairs);
  }
}
