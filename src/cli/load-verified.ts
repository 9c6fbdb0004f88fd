/** Loading for commands: the model is loaded and verified, and every error names the file. */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { loadModel } from "../ir/onnx/load.js";
import { assertValid, type Diagnostic } from "../ir/verify.js";

export function loadVerified(path: string): { model: Model; warnings: Diagnostic[] } {
  const model = loadModel(path);
  try {
    return { model, warnings: assertValid(model) };
  } catch (e) {
    if (e instanceof FixqError) throw new FixqError(e.code, e.message, path, { cause: e });
    throw e;
  }
}
