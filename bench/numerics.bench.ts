/**
 * Integer / fixed-point numerics throughput, and the cost of BigInt against the
 * exact double arithmetic fixq uses instead.
 *
 *   npx tsx bench/numerics.bench.ts
 *
 * Rows (million elements per second, best of 5 runs over 4M elements):
 *   requant single, split doubles   requantizeArray (x·m split into two exact halves)
 *   requant single, BigInt          the same result through requantizeSingleBig
 *   requant double (gemmlowp)       requantizeArray with "double"
 *   fixed<16,6,RND_CONV,SAT> fast   fixedQuantizeArray (the W ≤ 53 double path)
 *   fixed<16,6,RND_CONV,SAT> BigInt fixedFromNumber per element
 *   fixed<8,3,AP_RND,AP_WRAP_SM> fast   the fast path where most values overflow (BigInt fallback)
 */
import { performance } from "node:perf_hooks";
import {
  fixedFromNumber,
  fixedQuantizeArray,
  parseFixedType,
  quantizeMultiplier,
  requantizeArray,
  requantizeSingleBig,
} from "../src/numerics/index.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("numerics");

const N = 4 << 20;
const acc = new Int32Array(N);
const xs = new Float32Array(N);
let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
for (let i = 0; i < N; i++) {
  acc[i] = Math.floor((rand() - 0.5) * 2 ** 24);
  xs[i] = (rand() - 0.5) * 40;
}

function best(label: string, fn: () => void): number {
  let t = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn();
    t = Math.min(t, performance.now() - t0);
  }
  const rate = N / t / 1e3;
  console.log(`${label.padEnd(40)} ${rate.toFixed(1).padStart(8)} M/s`);
  return rate;
}

const d = quantizeMultiplier(0.0123);
const out = new Int32Array(N);
const split = best("requant single, split doubles", () => requantizeArray(acc, d, 0, -128, 127, out));
const big = best("requant single, BigInt", () => {
  for (let i = 0; i < N; i++) {
    const y = Number(requantizeSingleBig(BigInt(acc[i]!), d));
    out[i] = y < -128 ? -128 : y > 127 ? 127 : y;
  }
});
best("requant double (gemmlowp)", () => requantizeArray(acc, d, 0, -128, 127, out, "double"));
const t16 = parseFixedType("fixed<16,6,AP_RND_CONV,AP_SAT>");
const raw = new Int32Array(N);
const fast = best(`${"fixed<16,6,AP_RND_CONV,AP_SAT>"} fast`, () => fixedQuantizeArray(t16, xs, raw));
const slow = best(`${"fixed<16,6,AP_RND_CONV,AP_SAT>"} BigInt`, () => {
  for (let i = 0; i < N; i++) raw[i] = Number(fixedFromNumber(t16, xs[i]!));
});
const sm = parseFixedType("fixed<8,3,AP_RND,AP_WRAP_SM>");
best("fixed<8,3,AP_RND,AP_WRAP_SM> fast (overflowing)", () => fixedQuantizeArray(sm, xs, raw));
console.log(`split / BigInt requant: ${(split / big).toFixed(1)}x; fast / BigInt fixed: ${(fast / slow).toFixed(1)}x`);
