/**
 * The dense kernels of learned rounding (src/quant/rounding/dense.ts) against
 * a naive loop and against ONNX Runtime's float MatMul on the same shapes, at
 * one thread, in the same run. The Gram matrix XᵀX of N patches of K values
 * is counted as 2·K²·N flops (what a MatMul computing it does), though fixq
 * computes only its lower triangle; fixq accumulates in float64, ORT's MatMul
 * in float32. The AdaRound row times a whole Adam step as the pipeline runs
 * it (adaround-loop.ts: one ORT Loop, elementwise work included) and counts
 * only the 2·R·K² flops of E·H, so its ratio to ORT's bare MatMul is the
 * share of a step spent in the product.
 *
 * The O(K³) kernels of GPTQ (cholesky.ts, 4×4 register tiles) against the
 * textbook loops they equal bit for bit (test/quant/rounding/naive-dense.ts),
 * at K = 256, 784 (the MLP's first layer) and 1152 (a 3×3 conv over 128
 * channels), or FIXQ_BENCH_KERNEL_K=…: the Cholesky factor (K³/3 flops), the
 * inverse from it (L⁻¹ then Mᵀ·M, 2K³/3) and GPTQ's whole factor, the upper
 * Cholesky factor of (H + λI)⁻¹ (Cholesky, inverse, Cholesky: 4K³/3). The
 * "E·H, SIMD tiles" rows are the same product in those tiles, as the
 * reconstruction loss computes it once per group. FIXQ_BENCH_CPU_TIME=1
 * times every row in user CPU time instead of wall time.
 */
import * as ort from "onnxruntime-node";
import type { Model } from "../src/ir/graph.js";
import { encodeModel } from "../src/ir/onnx/save.js";
import { typeProtoOf } from "../src/ir/types.js";
import { ADAROUND_DEFAULTS } from "../src/quant/rounding/adaround.js";
import { AdaroundLoop } from "../src/quant/rounding/adaround-loop.js";
import { GramKernel } from "../src/quant/rounding/gram-kernel.js";
import { GRAM_BLOCK } from "../src/quant/rounding/layer-gram.js";
import { accumulateGram, cholesky, dampedInverse, inverseFromCholesky, rowsTimesSym, rowsTimesSymTiled, symMatVec, symmetrize } from "../src/quant/rounding/dense.js";
import { seededRandom } from "../src/util/random.js";
import { naiveCholesky, naiveInverse } from "../test/quant/rounding/naive-dense.js";

/** The clock: wall time, or with FIXQ_BENCH_CPU_TIME=1 the process's user CPU time (steadier on a loaded machine; every row here runs one thread). */
const now = process.env["FIXQ_BENCH_CPU_TIME"] === "1" ? () => process.cpuUsage().user / 1000 : () => performance.now();

function timeIt(f: () => void, minMs = 300, warm = 1): number {
  for (let w = 0; w < warm; w++) f();
  let runs = 0;
  const t0 = now();
  do {
    f();
    runs++;
  } while (now() - t0 < minMs);
  return (now() - t0) / runs;
}

/** ms per run of ORT's MatMul A[m, n]·B[n, p] (float32, one thread). */
async function ortMatMulMs(m: number, n: number, p: number): Promise<number> {
  const v = (name: string, shape: number[]) => ({ name, type: typeProtoOf({ dtype: 1, shape }) });
  const g = { name: "mm", nodes: [{ opType: "MatMul", inputs: ["A", "B"], outputs: ["Y"], attributes: [] }], inputs: [v("A", [m, n]), v("B", [n, p])], outputs: [v("Y", [m, p])], valueInfo: [], initializers: [] };
  const bytes = encodeModel({ irVersion: 8, opsets: [{ domain: "", version: 17 }], graph: g, functions: [] } as unknown as Model);
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const a = new ort.Tensor("float32", Float32Array.from({ length: m * n }, (_, i) => (i % 7) / 7), [m, n]);
  const b = new ort.Tensor("float32", Float32Array.from({ length: n * p }, (_, i) => (i % 5) / 5), [n, p]);
  await s.run({ A: a, B: b });
  let runs = 0;
  const t0 = now();
  do {
    await s.run({ A: a, B: b });
    runs++;
  } while (now() - t0 < 300);
  await s.release();
  return (now() - t0) / runs;
}

function naiveGram(pt: Float64Array, k: number, n: number, h: Float64Array): void {
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let b = 0; b < n; b++) h[i * k + j] += pt[i * n + b]! * pt[j * n + b]!;
}

export interface KernelRow {
  readonly kernel: string;
  readonly shape: string;
  readonly fixqGflops: number;
  readonly naiveGflops: number;
  readonly ortGflops?: number;
}

export async function measureKernels(): Promise<KernelRow[]> {
  const rnd = seededRandom(1);
  const rows: KernelRow[] = [];
  for (const [k, n] of [
    [144, 2048],
    [576, 1024],
  ] as const) {
    const pt = Float64Array.from({ length: k * n }, () => rnd());
    const h = new Float64Array(k * k);
    const flops = 2 * k * k * n;
    const fixq = timeIt(() => {
      accumulateGram(h, k, pt, n);
      symmetrize(h, k);
    });
    const naive = timeIt(() => naiveGram(pt, k, n, h), 100);
    const ortMs = await ortMatMulMs(k, n, k);
    rows.push({ kernel: "Gram, JS float64", shape: `K=${k}, N=${n}`, fixqGflops: flops / fixq / 1e6, naiveGflops: flops / naive / 1e6, ortGflops: flops / ortMs / 1e6 });
    // What layer-gram.ts runs: blocks of GRAM_BLOCK columns through ORT's float32 MatMul, summed in float64.
    const kernel = await GramKernel.create(1);
    const p32 = Float32Array.from(pt);
    const block = new Float32Array(k * GRAM_BLOCK);
    const blocked = async () => {
      for (let c0 = 0; c0 < n; c0 += GRAM_BLOCK) {
        const b = Math.min(GRAM_BLOCK, n - c0);
        for (let i = 0; i < k; i++) block.set(p32.subarray(i * n + c0, i * n + c0 + b), i * b);
        await kernel.add(h, block, k, b);
      }
    };
    await blocked();
    let runs = 0;
    const t1 = now();
    do {
      await blocked();
      runs++;
    } while (now() - t1 < 300);
    const engineMs = (now() - t1) / runs;
    await kernel.release();
    rows.push({ kernel: "Gram, fixq engine", shape: `K=${k}, N=${n}`, fixqGflops: flops / engineMs / 1e6, naiveGflops: flops / naive / 1e6, ortGflops: flops / ortMs / 1e6 });
  }
  for (const [r, k] of [
    [64, 576],
    [128, 144],
  ] as const) {
    const h = Float64Array.from({ length: k * k }, () => rnd());
    const e = Float64Array.from({ length: r * k }, () => rnd());
    const g = new Float64Array(r * k);
    const flops = 2 * r * k * k;
    const fixq = timeIt(() => rowsTimesSym(e, h, g, r, k));
    const naive = timeIt(() => {
      for (let row = 0; row < r; row++) symMatVec(h, k, e.subarray(row * k, (row + 1) * k), g.subarray(row * k, (row + 1) * k));
    });
    const ortMs = await ortMatMulMs(r, k, k);
    rows.push({ kernel: "E·H, JS float64", shape: `R=${r}, K=${k}`, fixqGflops: flops / fixq / 1e6, naiveGflops: flops / naive / 1e6, ortGflops: flops / ortMs / 1e6 });
    // The loss's product (sumOfQuadraticForms): the same sums in WebAssembly SIMD tiles.
    const tiled = timeIt(() => rowsTimesSymTiled(e, h, g, r, k), 300, 3);
    rows.push({ kernel: "E·H, SIMD tiles", shape: `R=${r}, K=${k}`, fixqGflops: flops / tiled / 1e6, naiveGflops: flops / naive / 1e6, ortGflops: flops / ortMs / 1e6 });
    // What AdaRound runs in the pipeline: the whole Adam step (σ, E·H, regularizer, Adam) in one ORT Loop; flops of E·H only.
    const loop = await AdaroundLoop.create(1);
    const iters = 40;
    const input = { rows: r, cols: k, v0: e, lo: e, span: e, w: e, h, columns: 1000 };
    const opts = { ...ADAROUND_DEFAULTS, iters };
    await loop.run(input, opts);
    let runs = 0;
    const t1 = now();
    do {
      await loop.run(input, opts);
      runs++;
    } while (now() - t1 < 300);
    const engineMs = (now() - t1) / runs / iters;
    await loop.release();
    rows.push({ kernel: "AdaRound step, Loop", shape: `R=${r}, K=${k}`, fixqGflops: flops / engineMs / 1e6, naiveGflops: flops / naive / 1e6, ortGflops: flops / ortMs / 1e6 });
  }
  const sizes = (process.env["FIXQ_BENCH_KERNEL_K"] ?? "256,784,1152").split(",").map(Number);
  for (const k of sizes) {
    // A damped Gram of 2K random patches, as GPTQ factors it.
    const pt = Float64Array.from({ length: k * 2 * k }, () => rnd() - 0.5);
    const g = new Float64Array(k * k);
    accumulateGram(g, k, pt, 2 * k);
    symmetrize(g, k);
    let mean = 0;
    for (let i = 0; i < k; i++) mean += g[i * k + i]! / k;
    const h = Float64Array.from(g, (x, at) => (at % (k + 1) === 0 ? x + 0.01 * mean : x));
    const l = cholesky(h, k)!;
    const gflops = (flops: number, ms: number) => flops / ms / 1e6;
    // fixq's kernels after three warm-up calls (steady JIT state); the textbook loops after one.
    const slow = 50;
    const warm = 3;
    rows.push({ kernel: "Cholesky", shape: `K=${k}`, fixqGflops: gflops(k ** 3 / 3, timeIt(() => cholesky(h, k), 300, warm)), naiveGflops: gflops(k ** 3 / 3, timeIt(() => naiveCholesky(h, k), slow)) });
    rows.push({ kernel: "inverse from L", shape: `K=${k}`, fixqGflops: gflops((2 * k ** 3) / 3, timeIt(() => inverseFromCholesky(l, k), 300, warm)), naiveGflops: gflops((2 * k ** 3) / 3, timeIt(() => naiveInverse(l, k), slow)) });
    const factor = () => cholesky(dampedInverse(g, k, 0.01)!, k);
    const naiveFactor = () => naiveCholesky(naiveInverse(naiveCholesky(h, k)!, k), k);
    rows.push({ kernel: "GPTQ factor of H⁻¹", shape: `K=${k}`, fixqGflops: gflops((4 * k ** 3) / 3, timeIt(factor, 300, warm)), naiveGflops: gflops((4 * k ** 3) / 3, timeIt(naiveFactor, slow)) });
  }
  return rows;
}
