/**
 * The reconstruction losses (problem.ts) of nearest rounding's codes Q₁ and
 * of a method's codes Q₂ on one group, from one product with H. With
 * E₁ = Ŵ₁ − W, D = Ŵ₂ − Ŵ₁ (non-zero only where the two codes differ in
 * value) and G₁ = E₁·H:
 *
 *   loss(Q₁) = Σ_r e₁ᵣ·g₁ᵣ / N
 *   loss(Q₂) = tr((E₁ + D)·H·(E₁ + D)ᵀ)/N = loss(Q₁) + (2·Σ D∘G₁ + Σ_r dᵣ·H·dᵣᵀ)/N
 *
 * where dᵣ·H·dᵣᵀ runs over the entries of row r that changed only (AdaRound
 * moves about a tenth of the weights off nearest): R·K² multiply-adds for
 * both losses where two direct ones take 2·R·K², and the second one almost
 * nothing. G₁ is ONNX Runtime's float64 MatMul where R·K² is large (MLAS's
 * DGEMM, about 18× the JS loop on the MLP's 256 × 784 layer, the same
 * result at any thread count: each entry is one thread's dot product), the
 * JS float64 loop (dense.ts rowsTimesSym, the sums sumOfQuadraticForms
 * makes) on small groups, where a session run would cost more than the
 * product. Float64 throughout; the two losses agree with direct evaluation
 * to rounding (about 1e-14 relative).
 */
import type { Model } from "../../ir/graph.js";
import { DataType } from "../../ir/dtype.js";
import { typeProtoOf } from "../../ir/types.js";
import { OrtSession } from "../../runtime/ort-session.js";
import { rowsTimesSym } from "./dense.js";
import type { GroupProblem } from "./problem.js";

/** Multiply-adds of E₁·H (R·K²) from which ONNX Runtime computes it. */
export const ORT_LOSS_MIN = 1 << 20;

/** Ŵ − W for codes (R×K, the problem's layout). */
function errors(p: GroupProblem, codes: Int32Array): Float64Array {
  const e = new Float64Array(p.rows * p.cols);
  for (let at = 0; at < e.length; at++) e[at] = p.grid.value(p.index[at]!, codes[at]!) - p.w[at]!;
  return e;
}

export class LossKernel {
  private session?: Promise<OrtSession>;
  private constructor(private readonly threads?: number) {}

  static create(threads?: number): LossKernel {
    return new LossKernel(threads);
  }

  /** The one-node float64 MatMul session, built on first use. */
  private matmul(): Promise<OrtSession> {
    if (!this.session) {
      const v = (name: string, shape: string[]) => ({ name, type: typeProtoOf({ dtype: DataType.DOUBLE, shape }) });
      const model = {
        irVersion: 8,
        opsets: [{ domain: "", version: 17 }],
        graph: { name: "loss", nodes: [{ opType: "MatMul", inputs: ["E", "H"], outputs: ["G"], attributes: [] }], inputs: [v("E", ["r", "k"]), v("H", ["k", "k"])], outputs: [v("G", ["r", "k"])], valueInfo: [], initializers: [] },
        functions: [],
      } as unknown as Model;
      this.session = OrtSession.create(model, { threads: this.threads });
    }
    return this.session;
  }

  /** m·H (rows×K, float64) for m rows×K and H K×K. */
  async times(m: Float64Array, rows: number, h: Float64Array, k: number): Promise<Float64Array> {
    if (rows * k * k < ORT_LOSS_MIN) {
      const g = new Float64Array(rows * k);
      rowsTimesSym(m, h, g, rows, k);
      return g;
    }
    const out = await (await this.matmul()).run({ E: { dtype: DataType.DOUBLE, dims: [rows, k], data: m }, H: { dtype: DataType.DOUBLE, dims: [k, k], data: h } });
    return out["G"]!.data as Float64Array;
  }

  /** loss(near) and loss(learned) (+∞ when `learned` is undefined: the method gave none). */
  async pair(p: GroupProblem, near: Int32Array, learned: Int32Array | undefined): Promise<{ near: number; learned: number }> {
    const { rows: R, cols: K } = p;
    const n = Math.max(1, p.columns);
    const e = errors(p, near);
    const g = await this.times(e, R, p.h, K);
    let total = 0;
    for (let r = 0; r < R; r++) {
      let t = 0;
      for (let i = r * K; i < (r + 1) * K; i++) t += e[i]! * g[i]!;
      total += t;
    }
    if (!learned) return { near: total / n, learned: Number.POSITIVE_INFINITY };
    let delta = 0;
    const at = new Int32Array(K);
    const d = new Float64Array(K);
    for (let r = 0; r < R; r++) {
      let m = 0;
      for (let k = 0; k < K; k++) {
        const i = r * K + k;
        const dk = p.grid.value(p.index[i]!, learned[i]!) - p.grid.value(p.index[i]!, near[i]!);
        if (dk === 0) continue;
        at[m] = k;
        d[m++] = dk;
        delta += 2 * dk * g[i]!;
      }
      for (let a = 0; a < m; a++) {
        const row = at[a]! * K;
        let s = 0;
        for (let b = 0; b < m; b++) s += p.h[row + at[b]!]! * d[b]!;
        delta += d[a]! * s;
      }
    }
    return { near: total / n, learned: (total + delta) / n };
  }

  async release(): Promise<void> {
    if (this.session) await (await this.session).release();
    this.session = undefined;
  }
}
