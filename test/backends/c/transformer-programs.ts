/**
 * Inputs of the transformer suites of the C and HLS back ends: a hand-built
 * program with every transformer op (numerics' parameters, edge cases in
 * the file comment of transformer-ops.test.ts), and the BERT fixture's feed
 * sets with negative ids and extreme masks.
 */
import type { IntOp, Program } from "../../../src/integer/program.js";
import { type IntType, intMax, intMin } from "../../../src/numerics/int.js";
import { addConstParams, layerNormParams, softmaxParams } from "../../../src/numerics/transformer-params.js";
import { BERT_L, BERT_VOCAB, sentences } from "../../helpers/bert-fixture.js";
import { Rng } from "../../helpers/prng.js";
import type { Feeds } from "../js/check.js";
import { I8, I16, I32, ProgramBuilder, randomInts, U8 } from "../js/program-builder.js";

/** Adds `op` writing a fresh value of `type`/`shape` to the builder's program. */
export function push(b: ProgramBuilder, make: (out: string) => IntOp, shape: readonly number[], type: IntType, zero = 0): string {
  const out = `t${b.values.size}`;
  b.values.set(out, { name: out, shape, type, scale: 0.05, zeroPoint: zero });
  b.ops.push(make(out));
  return out;
}

/** Every transformer op, each feeding an output (see the file comment); without the gather when `gather` is false. */
export function transformerOpsProgram(gather = true): Program {
  const rng = new Rng(17);
  const b = new ProgramBuilder();
  const mm = (ta: IntType, za: number, tb: IntType, zb: number, [R, M, K, N]: readonly number[]) => {
    const a = b.input([R!, M!, K!], ta, Math.fround(0.1), za);
    const c = b.input([R!, K!, N!], tb, Math.fround(0.1), zb);
    const acc = push(b, (out) => ({ kind: "matmul", source: "MatMul '/mm'", inputs: [a, c], output: out, inputZeros: [za, zb] }), [R!, M!, N!], I32);
    b.output(b.requant(acc, [{ m: 1518500250, s: ta.bits === 16 ? 58 : 45 }], 0, U8, 128), Math.fround(0.05));
  };
  mm(U8, 131, I8, 5, [3, 4, 9, 5]);
  mm(I16, 0, I16, -7, [1, 2, 4, 3]); // 4·32768·32775 > 2^31: int64 sums, stored modulo 2^32
  // mul: same shapes, a [3, 1] × [1, 5] broadcast, and 16 × 8 bits (products up to 32768·(127 + 9) < 2^31)
  const mul = (ta: IntType, za: number, tb: IntType, zb: number, sa: readonly number[], sb: readonly number[], sy: readonly number[], s: number) => {
    const a = b.input(sa, ta, Math.fround(0.1), za);
    const c = b.input(sb, tb, Math.fround(0.1), zb);
    const acc = push(b, (out) => ({ kind: "mul", source: "Mul '/gate'", inputs: [a, c], output: out, inputZeros: [za, zb] }), sy, I32);
    b.output(b.requant(acc, [{ m: 1518500250, s }], 0, U8, 128), Math.fround(0.05));
  };
  mul(U8, 131, I8, 5, [3, 5], [3, 5], [3, 5], 38);
  mul(U8, 7, U8, 250, [3, 1], [1, 5], [3, 5], 38);
  mul(I16, 0, I8, -9, [2, 4], [1, 4], [2, 4], 45);
  const t = b.input([64], I8, Math.fround(0.07), -5);
  const table = Int32Array.from({ length: 256 }, (_, i) => Math.max(-128, Math.min(127, Math.round(90 * Math.tanh((i - 128 + 5) * 0.07)))));
  b.output(push(b, (out) => ({ kind: "table", source: "Tanh '/t'", input: t, output: out, inputMin: -128, table }), [64], I8), Math.fround(0.05));
  for (const [ty, z, L, hi] of [
    [U8, 118, 16, 255],
    [I8, 0, 7, 100],
  ] as const) {
    const x = b.input([2, L], ty, Math.fround(0.09), z);
    const sp = softmaxParams(0.09, intMax(ty) - intMin(ty), 1 / 256, L)!;
    b.output(push(b, (out) => ({ kind: "softmax", source: "Softmax '/sm'", input: x, output: out, ...sp, outZero: 0, clampLo: 0, clampHi: hi }), [2, L], U8), Math.fround(1 / 256));
  }
  for (const [ty, z, C, out16] of [
    [U8, 143, 64, false],
    [I8, -20, 5, true],
  ] as const) {
    const x = b.input([3, C], ty, Math.fround(0.0145), z);
    const gamma = Array.from({ length: C }, (_, i) => 0.3 + ((i * 7) % 11) / 5);
    const beta = Array.from({ length: C }, (_, i) => ((i * 5) % 9) / 4 - 1.2);
    const sy = out16 ? 0.001 : 0.0355;
    const lp = layerNormParams(gamma, beta, 1e-5, 0.0145, intMax(ty) - intMin(ty), sy)!;
    const ot = out16 ? I16 : U8;
    const oz = out16 ? 0 : 134;
    const y = push(b, (out) => ({ kind: "layernorm", source: "LayerNormalization '/ln'", input: x, output: out, ...lp, outZero: oz, clampLo: intMin(ot), clampHi: intMax(ot) }), [3, C], ot, oz);
    b.output(y, Math.fround(sy));
  }
  // RMSNorm (the layernorm op with rmsZero): uint8 at zero point 120 over 16 channels, int8 over 5 into int16
  for (const [ty, z, C, out16] of [
    [U8, 120, 16, false],
    [I8, 0, 5, true],
  ] as const) {
    const x = b.input([3, C], ty, Math.fround(0.021), z);
    const gamma = Array.from({ length: C }, (_, i) => ((i * 7) % 13) / 4 - 1.5);
    const sy = out16 ? 0.0005 : 0.03;
    const lp = layerNormParams(gamma, new Array(C).fill(0), 1e-6, 0.021, intMax(ty) - intMin(ty), sy, true)!;
    const ot = out16 ? I16 : I8;
    const y = push(b, (out) => ({ kind: "layernorm", source: "RMSNormalization '/rms'", input: x, output: out, ...lp, outZero: 0, clampLo: intMin(ot), clampHi: intMax(ot), rmsZero: z }), [3, C], ot, 0);
    b.output(y, Math.fround(sy));
  }
  const a = b.input([4, 6], U8, Math.fround(0.0138), 150);
  for (const [sx, sy, clampLo, span] of [
    [0.0138, 0.0145, 143, 24],
    [1, 1, 0, 24],
    [0.0138, 0.0145, 0, 6],
  ] as const) {
    const c = Array.from({ length: span }, (_, i) => Math.sin(i) * 0.4 - 0.3);
    const ap = addConstParams(sx, 150, c, sy, 31)!;
    b.output(push(b, (out) => ({ kind: "addconst", source: "Add '/add'", input: a, output: out, inputZero: 150, ...ap, outZero: 143, clampLo, clampHi: 255 }), [4, 6], U8, 143), Math.fround(sy));
  }
  if (gather) {
    const ids = b.input([5], I32, 1, 0, [-10, 9]);
    const rows = randomInts(rng, 30, -128, 127);
    b.output(push(b, (out) => ({ kind: "gather", source: "Gather '/emb'", input: ids, output: out, table: rows, rows: 10, width: 3 }), [5, 3], I8), Math.fround(0.05));
  }
  b.output(push(b, (out) => ({ kind: "slice", source: "Slice '/cls'", input: a, output: out, axis: 0, start: 1, end: 3 }), [2, 6], U8, 150), Math.fround(0.05));
  b.output(push(b, (out) => ({ kind: "slice", source: "Slice '/s'", input: a, output: out, axis: 1, start: 2, end: 5 }), [4, 3], U8, 150), Math.fround(0.05));
  return b.build();
}

/** Sentences plus the edge cases: negative ids (rows from the end), all-zero and all-one masks, the last and first rows. */
export function bertFeeds(n: number, seed: number): Feeds[] {
  const x = sentences(n, seed);
  x.ids[3] = -1;
  x.ids[BERT_L + 5] = -BERT_VOCAB;
  x.ids[2 * BERT_L] = BERT_VOCAB - 1;
  x.mask.fill(0, 3 * BERT_L, 4 * BERT_L);
  x.mask.fill(1, 4 * BERT_L, 5 * BERT_L);
  const q = sentences(8, seed + 1);
  return [
    { data: { input_ids: x.ids, attention_mask: x.mask }, batch: n },
    { data: { input_ids: Int32Array.from(q.ids, (v, i) => (i % 3 === 0 ? -v - 1 : v)), attention_mask: Int32Array.from(q.mask) }, batch: 8, quantized: true },
  ];
}

