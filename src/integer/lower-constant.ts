/**
 * A per-sample constant tensor in the integer program (a causal mask's flags,
 * a ViT cls token joined to the patch tokens), with no op kind of its own:
 * an `addconst` whose multiplier is 0 reads some value `like` of the same
 * per-sample shape and ignores it,
 *   y_i = clamp(z + rshr((x_i − z_x)·0 + o_i, 0), lo, hi) = clamp(z + o_i, lo, hi),  o_i = q_i − z,
 * so y_i = q_i for codes q_i within [lo, hi]: every back end already runs it
 * bit for bit (numerics/transformer.ts addConstKernel).
 */
import { FixqError } from "../ir/errors.js";
import type { ActSpec, LoweringContext } from "./lowering-context.js";

/**
 * Adds a value named `name` holding `codes` (one sample, row-major, the shape
 * of `like`) at `spec`, computed from `like` as the file comment says; returns
 * its name. `source` names the ONNX node for reports.
 */
export function constantValue(ctx: LoweringContext, source: string, name: string, like: string, codes: ArrayLike<number>, spec: ActSpec): string {
  const v = ctx.values.get(like)!;
  const size = v.shape.reduce((a, b) => a * b, 1);
  if (codes.length !== size) throw new Error(`constantValue: ${codes.length} codes for a value of ${size} elements`);
  for (let i = 0; i < codes.length; i++) {
    const q = codes[i]!;
    if (!Number.isInteger(q) || q < spec.qmin || q > spec.qmax) throw new FixqError("unsupported", `cannot integerize: ${source}: constant code ${q} is outside ${spec.qmin}…${spec.qmax}`);
  }
  const out = ctx.addValue(name, v.shape, spec.type, spec);
  const offset = Float64Array.from(codes, (q) => q - spec.zeroPoint);
  ctx.ops.push({ kind: "addconst", source, input: like, output: out, inputZero: v.zeroPoint ?? 0, multiplier: 0, offset, shift: 0, outZero: spec.zeroPoint, clampLo: spec.qmin, clampHi: spec.qmax });
  return out;
}
