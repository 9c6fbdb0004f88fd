/** Loading for commands: the model is loaded and verified, and every error names the file. */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { loadModel } from "../ir/onnx/load.js";
import { assertValid, type Diagnostic } from "../ir/verify.js";
import { notAModel } from "./file-kinds.js";

export function loadVerified(path: string): { model: Model; warnings: Diagnostic[] } {
  let model: Model;
  try {
    model = loadModel(path);
  } catch (e) {
    const other = e instanceof FixqError && e.code === "decode" ? notAModel(path) : undefined;
    if (other) throw new FixqError("decode", other, path, { cause: e });
    throw e;
  }
  try {
    return { model, warnings: assertValid(model) };
  } catch (e) {
    if (e instanceof FixqError) throw new FixqError(e.code, e.message, path, { cause: e });
    throw e;
  }
}
