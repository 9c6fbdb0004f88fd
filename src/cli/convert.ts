/** `fixq convert IN -o OUT [--external-data [BYTES]] [--inline]`: re-serializes a model through the IR. */
import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import chalk from "chalk";
import { FixqError } from "../ir/errors.js";
import { type SaveOptions, saveModel } from "../ir/onnx/save.js";
import { ensureParentDir } from "../ir/atomic-write.js";
import { loadVerified } from "./load-verified.js";

export interface ConvertOptions {
  output: string;
  externalData?: string | boolean;
  inline?: boolean;
  json?: boolean;
}

function sameFile(a: string, b: string): boolean {
  if (!existsSync(b)) return false;
  return realpathSync(a) === realpathSync(b);
}

export function parseThreshold(v: string | boolean | undefined): number {
  if (v === undefined || v === true) return 1024;
  const m = /^(\d+)([kKmM]?)$/.exec(String(v));
  if (!m) throw new FixqError("usage", `--external-data expects a byte threshold like 1024, 64k or 1M, got '${v}'`);
  return Number(m[1]) * (m[2] ? (m[2].toLowerCase() === "k" ? 1024 : 1 << 20) : 1);
}

export function runConvert(input: string, opts: ConvertOptions): number {
  if (opts.externalData !== undefined && opts.inline) throw new FixqError("usage", "--external-data and --inline are exclusive");
  const { model } = loadVerified(input);
  if (sameFile(input, opts.output) || resolve(input) === resolve(opts.output)) {
    throw new FixqError("usage", "output would overwrite the input; choose another path", opts.output);
  }
  const save: SaveOptions = {
    externalData: opts.inline ? "inline" : opts.externalData !== undefined ? { threshold: parseThreshold(opts.externalData) } : "keep",
  };
  ensureParentDir(opts.output);
  const result = saveModel(model, opts.output, save);
  if (opts.json) process.stdout.write(`${JSON.stringify({ output: opts.output, bytes: result.bytes, dataFile: result.dataFile ?? null })}\n`);
  else process.stderr.write(`${chalk.green("wrote")} ${opts.output} (${result.bytes} bytes${result.dataFile ? ` + ${result.dataFile}` : ""})\n`);
  return 0;
}
