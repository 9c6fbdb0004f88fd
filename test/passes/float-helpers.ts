/** Helpers for the float-pass tests: run models in onnxruntime, compare outputs, build tiny layers. */
import { join } from "node:path";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy } from "../../src/io/npy.js";
import type { Graph, Model } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { assertValid } from "../../src/ir/verify.js";
import { type HostTensor, OrtSession } from "../../src/runtime/ort-session.js";
import { Rng } from "../helpers/prng.js";

export type Outputs = Record<string, Float32Array>;

/** Runs `model` once on `feeds` (graph optimizations off), returning every graph output plus `extra` values. */
export async function run(model: Model, feeds: Record<string, HostTensor>, extra: readonly string[] = []): Promise<Outputs> {
  assertValid(model);
  const s = await OrtSession.create(model, { optimization: "disabled", threads: 1, extraOutputs: extra });
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

/** max|ref − got| / max|ref|: the error measure for one output tensor. */
export function relErr(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  if (ref.length !== got.length) return Number.POSITIVE_INFINITY;
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ref[i]! - got[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return m > 0 ? d / m : d;
}

/** The worst relErr over the outputs `ref` has. */
export function worstRelErr(ref: Outputs, got: Outputs): number {
  return Math.max(...Object.keys(ref).map((k) => (got[k] ? relErr(ref[k]!, got[k]!) : Number.POSITIVE_INFINITY)));
}

/** The first `n` bundled evaluation images, [n, 1, 28, 28]. */
export function evalImages(n: number): HostTensor {
  const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
  return { dtype: 1, dims: [n, 1, 28, 28], data: (x.data as Float32Array).slice(0, n * 784) };
}

export function evalLabels(n: number): Int32Array {
  const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
  return Int32Array.from(Array.from((y.data as BigInt64Array).subarray(0, n), Number));
}

/** Normal-ish random values (sum of uniforms), seeded. */
export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.float() + rng.float() + rng.float() - 1.5) * 2 * scale;
  return out;
}

export function tensor(name: string, dims: number[], values: ArrayLike<number>): Tensor {
  return makeFloatTensor(name, dims, values);
}

export function randTensor(rng: Rng, name: string, dims: number[], scale = 1): Tensor {
  return tensor(name, dims, randn(rng, dims.reduce((a, b) => a * b, 1), scale));
}

/** BatchNormalization parameters for `c` channels as four initializers named `${p}.gamma` etc. */
export function bnParams(rng: Rng, p: string, c: number): Tensor[] {
  const gamma = Array.from({ length: c }, () => 0.5 + rng.float());
  const beta = Array.from({ length: c }, () => rng.float() - 0.5);
  const mean = Array.from({ length: c }, () => rng.float() - 0.5);
  const variance = Array.from({ length: c }, () => 0.2 + rng.float());
  return [tensor(`${p}.gamma`, [c], gamma), tensor(`${p}.beta`, [c], beta), tensor(`${p}.mean`, [c], mean), tensor(`${p}.var`, [c], variance)];
}

export const bnInputs = (x: string, p: string) => [x, `${p}.gamma`, `${p}.beta`, `${p}.mean`, `${p}.var`];

/** An initializer's (or Constant node's) values. */
export function values(g: Graph, name: string): number[] {
  const t = g.initializers.find((x) => x.name === name) ?? g.nodes.find((n) => n.opType === "Constant" && n.outputs[0] === name)?.attributes[0]?.t;
  if (!t) throw new Error(`no constant '${name}'`);
  return Array.from(tensorToFloat64(t));
}

export function feedsOf(name: string, dims: number[], rng: Rng, scale = 1): Record<string, HostTensor> {
  return { [name]: { dtype: 1, dims, data: randn(rng, dims.reduce((a, b) => a * b, 1), scale) } };
}

export { Rng };
