/**
 * The Gram product of one block of patches, P·Pᵀ for P [K, B] (K inputs, B
 * patches), run by ONNX Runtime's float32 MatMul (a two-node model,
 * Transpose + MatMul, symbolic K and B), and added into a float64 H. Within a
 * block the sums are float32 over B ≤ 1024 products; across blocks and
 * batches they are float64, so the error does not grow with the number of
 * samples. This is the fast path of layer-gram.ts; dense.ts's
 * `accumulateGram` (float64 throughout) is its reference and the fallback
 * the bench compares it with.
 */
import type { Model } from "../../ir/graph.js";
import { typeProtoOf } from "../../ir/types.js";
import { OrtSession } from "../../runtime/ort-session.js";

export class GramKernel {
  private constructor(private readonly session: OrtSession) {}

  static async create(threads?: number): Promise<GramKernel> {
    const v = (name: string, shape: (string | number)[]) => ({ name, type: typeProtoOf({ dtype: 1, shape }) });
    const model: Model = {
      irVersion: 8,
      opsets: [{ domain: "", version: 17 }],
      graph: {
        name: "gram",
        nodes: [
          { opType: "Transpose", inputs: ["P"], outputs: ["PT"], attributes: [] },
          { opType: "MatMul", inputs: ["P", "PT"], outputs: ["H"], attributes: [] },
        ],
        inputs: [v("P", ["k", "b"])],
        outputs: [v("H", ["k", "k"])],
        valueInfo: [],
        initializers: [],
      },
      functions: [],
    } as unknown as Model;
    return new GramKernel(await OrtSession.create(model, { threads }));
  }

  /** h (K×K, float64, full) += P·Pᵀ, P the first k·b values of `p` as [k, b] row-major; the same into `also` (a chunk's float32 Gram) when given. */
  async add(h: Float64Array, p: Float32Array, k: number, b: number, also?: Float32Array): Promise<void> {
    const out = await this.session.run({ P: { dtype: 1, dims: [k, b], data: p.subarray(0, k * b) } });
    const y = out["H"]!.data as Float32Array;
    for (let i = 0; i < h.length; i++) h[i] += y[i]!;
    if (also) for (let i = 0; i < also.length; i++) also[i] += y[i]!;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
