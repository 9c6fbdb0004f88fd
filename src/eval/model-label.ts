/**
 * Which model failed: eval runs two (REF and CAND), so an onnxruntime refusal
 * or run failure is re-thrown with the model in front, e.g.
 * "CAND q.onnx (opt=all): node 'conv1': onnxruntime refused the model: …".
 * An error is labelled once, by the innermost call, so a CAND failure inside
 * REF's batch loop stays CAND's.
 */
import { FixqError } from "../ir/errors.js";

const labelled = new WeakSet<Error>();

export async function asModel<T>(label: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof FixqError) || e.code !== "runtime" || labelled.has(e)) throw e;
    const named = new FixqError(e.code, e.message, label, { cause: e });
    labelled.add(named);
    throw named;
  }
}
