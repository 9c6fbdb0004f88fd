/**
 * The transformer kernels (numerics/transformer.ts with the constants of
 * transformer-params.ts) against float references, with the error bounds
 * they guarantee, in output steps (LSB) before the clamp:
 *   softmax     |y − z − p_i/S_y| ≤ 1/2 + (L + 2)/256   (exp table 2^−16 relative, c's rounding)
 *   layernorm   |y − z − (γ·x̂ + β)/S_y| ≤ 1/2 + 1/64    (D = ⌊√·⌋ relative error < 1/D, g, b to 2^−F)
 *   rmsnorm     |y − z − γ·x/rms(x)/S_y| ≤ 1/2 + 1/64   (the same kernel, s = C·z_x; wide output, no clamp)
 *   addconst    |y − z − (S_x(x − z_x) + C)/S_y| ≤ 1/2 + 2^−10
 *   matmul      exact (an independent sum)
 * Off-by-one rounding at a tie is inside the 1/2; larger misses fail.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { erf } from "../../src/numerics/erf.js";
import { addConstKernel, layerNormKernel, matmulKernel, softmaxKernel } from "../../src/numerics/transformer.js";
import { addConstParams, layerNormParams, softmaxParams } from "../../src/numerics/transformer-params.js";

const codes = (n: number, lo = 0, hi = 255) => fc.array(fc.integer({ min: lo, max: hi }), { minLength: n, maxLength: n });

describe("integer Softmax", () => {
  it("is within 1/2 + (L + 2)/256 LSB of the float softmax of the dequantized row (uint8 output at 1/256)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.double({ min: 0.005, max: 0.3, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 }), (L, sx, seed) => {
        const rows = 4;
        let s = seed;
        const x = Int32Array.from({ length: rows * L }, () => {
          s = (s * 1103515245 + 12345) % 2 ** 31;
          return s % 256;
        });
        const sy = 1 / 256;
        const p = softmaxParams(sx, 255, sy, L)!;
        const y = new Int32Array(x.length);
        softmaxKernel(x, y, L, p.exp, p.numerator, p.shift, 0, 0, 255);
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * L, (r + 1) * L), (q) => q * sx);
          const m = Math.max(...row);
          const e = row.map((v) => Math.exp(v - m));
          const sum = e.reduce((a, b) => a + b, 0);
          for (let i = 0; i < L; i++) {
            const ref = e[i]! / sum / sy;
            if (ref > 255) expect(y[r * L + i]).toBe(255);
            else expect(Math.abs(y[r * L + i]! - ref)).toBeLessThanOrEqual(0.5 + (L + 2) / 256);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("integer LayerNormalization", () => {
  it("is within 1/2 + 1/64 LSB of the float LayerNormalization of the dequantized row", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 96 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0.002, max: 0.1, noNaN: true }), (C, seed, sx) => {
        let s = seed;
        const rnd = () => {
          s = (s * 1103515245 + 12345) % 2 ** 31;
          return s / 2 ** 31;
        };
        const gamma = Array.from({ length: C }, () => 0.25 + 2 * rnd());
        const beta = Array.from({ length: C }, () => rnd() * 2 - 1);
        const eps = 1e-5;
        const sy = 0.05;
        const z = 128;
        const p = layerNormParams(gamma, beta, eps, sx, 255, sy)!;
        const rows = 3;
        const x = Int32Array.from({ length: rows * C }, (_, i) => (i % 7 === 0 ? 255 : Math.floor(rnd() * 256)));
        const y = new Int32Array(x.length);
        layerNormKernel(x, y, C, p.gamma, p.beta, p.varShift, p.fracBits, p.epsilon, z, 0, 255);
        for (let r = 0; r < rows; r++) {
          const v = Array.from(x.subarray(r * C, (r + 1) * C), (q) => (q - 17) * sx);
          const mean = v.reduce((a, b) => a + b, 0) / C;
          const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
          for (let i = 0; i < C; i++) {
            const ref = z + (gamma[i]! * ((v[i]! - mean) / Math.sqrt(variance + eps)) + beta[i]!) / sy;
            const got = y[r * C + i]!;
            if (ref < 0) expect(got).toBe(0);
            else if (ref > 255) expect(got).toBe(255);
            else expect(Math.abs(got - ref)).toBeLessThanOrEqual(0.5 + 1 / 64);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a constant row normalizes to β (no division by zero: E ≥ 1)", () => {
    const C = 8;
    const p = layerNormParams(new Array(C).fill(1), new Array(C).fill(0.5), 1e-5, 0.02, 255, 0.01)!;
    const y = new Int32Array(C);
    layerNormKernel(new Int32Array(C).fill(200), y, C, p.gamma, p.beta, p.varShift, p.fracBits, p.epsilon, 0, -128, 127);
    expect([...y]).toEqual(new Array(C).fill(50));
  });
});

describe("integer RMSNormalization (the layernorm kernel with rmsZero: no mean, the zero point subtracted)", () => {
  it("is within 1/2 + 1/64 LSB of γ·x/√(mean(x²) + ε) of the dequantized row, uint8 at a zero point or int8", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 96 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0.002, max: 0.1, noNaN: true }), fc.boolean(), (C, seed, sx, signed) => {
        let s = seed;
        const rnd = () => {
          s = (s * 1103515245 + 12345) % 2 ** 31;
          return s / 2 ** 31;
        };
        const gamma = Array.from({ length: C }, () => rnd() * 4 - 2);
        const eps = 1e-6;
        const sy = 0.03;
        const [zx, lo, hi] = signed ? [0, -128, 127] : [100, 0, 255];
        const p = layerNormParams(gamma, new Array(C).fill(0), eps, sx, 255, sy, true)!;
        expect(p.beta.every((b) => b === 0)).toBe(true);
        const rows = 3;
        const x = Int32Array.from({ length: rows * C }, (_, i) => (i % 5 === 0 ? hi : lo + Math.floor(rnd() * 256)));
        const y = new Int32Array(x.length);
        layerNormKernel(x, y, C, p.gamma, p.beta, p.varShift, p.fracBits, p.epsilon, 0, -32768, 32767, zx);
        for (let r = 0; r < rows; r++) {
          const v = Array.from(x.subarray(r * C, (r + 1) * C), (q) => (q - zx) * sx);
          const rms = Math.sqrt(v.reduce((a, b) => a + b * b, 0) / C + eps);
          for (let i = 0; i < C; i++) expect(Math.abs(y[r * C + i]! - (gamma[i]! * v[i]!) / rms / sy)).toBeLessThanOrEqual(0.5 + 1 / 64);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("an all-zero-point row gives 0 (E ≥ 1, no division by zero), where LayerNorm's mean would not matter", () => {
    const C = 8;
    const p = layerNormParams(new Array(C).fill(1), new Array(C).fill(0), 1e-6, 0.02, 255, 0.01, true)!;
    const y = new Int32Array(C).fill(9);
    layerNormKernel(new Int32Array(C).fill(100), y, C, p.gamma, p.beta, p.varShift, p.fracBits, p.epsilon, 3, 0, 255, 100);
    expect([...y]).toEqual(new Array(C).fill(3));
  });
});

describe("integer Add of a constant", () => {
  it("is within 1/2 + 2^-10 LSB of (S_x(x − z_x) + C)/S_y + z_y", () => {
    fc.assert(
      fc.property(codes(16), fc.double({ min: 0.001, max: 0.1, noNaN: true }), fc.double({ min: 0.001, max: 0.1, noNaN: true }), (xs, sx, sy) => {
        const constant = xs.map((_, i) => Math.sin(i) * 0.3);
        const p = addConstParams(sx, 255, constant, sy, 31)!;
        const y = new Int32Array(16);
        addConstKernel(Int32Array.from(xs), y, 100, p.multiplier, p.offset, p.shift, 120, -100000, 100000);
        xs.forEach((q, i) => {
          const ref = 120 + (sx * (q - 100) + constant[i]!) / sy;
          expect(Math.abs(y[i]! - ref)).toBeLessThanOrEqual(0.5 + 2 ** -10);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe("integer MatMul of two activations", () => {
  it("equals the zero-point-subtracted sum of products", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1000 }), (M, K, N, seed) => {
        const rows = 2;
        const a = Int32Array.from({ length: rows * M * K }, (_, i) => (i * 37 + seed) % 256);
        const b = Int32Array.from({ length: rows * K * N }, (_, i) => ((i * 91 + seed * 3) % 256) - 128);
        const acc = new Int32Array(rows * M * N);
        matmulKernel(a, 128, b, -3, acc, rows, M, K, N);
        for (let r = 0; r < rows; r++)
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) {
              let want = 0n;
              for (let k = 0; k < K; k++) want += BigInt(a[r * M * K + i * K + k]! - 128) * BigInt(b[r * K * N + k * N + j]! + 3);
              expect(acc[r * M * N + i * N + j]).toBe(Number(want));
            }
      }),
    );
  });
});

describe("erf", () => {
  it("matches Python's math.erf to 1e-15", () => {
    // math.erf(x) for x in 0.1, 0.5, 1, 1.7, 2.49, 3, 4, -0.7 (CPython 3)
    const want: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.7, 0.9837904585907745],
      [2.49, 0.9995707121322661],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [-0.7, -0.6778011938374184],
    ];
    for (const [x, e] of want) expect(Math.abs(erf(x) - e)).toBeLessThanOrEqual(1e-15);
  });
});
