/** Loading for the integer commands: any QDQ model, integerized with the flags' options; errors name the file. */
import chalk from "chalk";
import { FixqError } from "../ir/errors.js";
import { type IntegerizeOptions, integerizeModel } from "../integer/integerize.js";
import type { Program } from "../integer/program.js";
import type { Model } from "../ir/graph.js";
import { parseInputShapes, pinSampleShapes } from "../ir/pin-shapes.js";
import { loadVerified } from "./load-verified.js";

export interface IntegerCliOptions {
  rounding?: string;
  multiplierBits?: string;
  /** --input-shape NAME=DxDx…: per-sample dims (a symbolic sequence length) pinned before lowering; the batch stays symbolic. */
  inputShape?: string[];
}

export const ROUNDING_HELP = "requant rounding: single (one rounding, ties up; default) | double (gemmlowp/TFLite SRDHM + rounding divide)";

export function integerizeOptions(opts: IntegerCliOptions): IntegerizeOptions {
  const rounding = opts.rounding ?? "single";
  if (rounding !== "single" && rounding !== "double") throw new FixqError("usage", `--rounding expects single or double, got '${rounding}'`);
  const bits = opts.multiplierBits === undefined ? 31 : Number(opts.multiplierBits);
  if (!Number.isInteger(bits) || bits < 2 || bits > 31) throw new FixqError("usage", `--multiplier-bits expects an integer in 2…31, got '${opts.multiplierBits}'`);
  return { rounding, multiplierBits: bits };
}

/** Loads a QDQ model and lowers it to an integer program; formats the reader had to infer are printed as notes. */
export function loadProgram(path: string, opts: IntegerCliOptions): { model: Model; program: Program } {
  const options = { ...integerizeOptions(opts), onNote: (line: string) => process.stderr.write(`  ${chalk.yellow("note")}  ${line}\n`) };
  const { model } = loadVerified(path);
  try {
    return { model, program: integerizeModel(pinSampleShapes(model, parseInputShapes(opts.inputShape)), options) };
  } catch (e) {
    if (e instanceof FixqError) throw new FixqError(e.code, e.message, path, { cause: e });
    throw e;
  }
}
