/** `fixq convert IN -o OUT [--external-data [BYTES]] [--inline]`: re-serializes a model through the IR. */
import chalk from "chalk";
import { FixqError } from "../ir/errors.js";
import { type SaveOptions, saveModel } from "../ir/onnx/save.js";
import { ensureParentDir } from "../ir/atomic-write.js";
import { emitJson, jsonOnStdout, jsonTarget } from "./json-output.js";
import { loadVerified } from "./load-verified.js";
import { externalDataInputs, guardOutputs } from "./output-guard.js";

export interface ConvertOptions {
  output: string;
  externalData?: string | boolean;
  inline?: boolean;
  json?: string | boolean;
}

export function parseThreshold(v: string | boolean | undefined): number {
  if (v === undefined || v === true) return 1024;
  const m = /^(\d+)([kKmM]?)$/.exec(String(v));
  if (!m) throw new FixqError("usage", `--external-data expects a byte threshold like 1024, 64k or 1M, got '${v}'`);
  return Number(m[1]) * (m[2] ? (m[2].toLowerCase() === "k" ? 1024 : 1 << 20) : 1);
}

export function runConvert(input: string, opts: ConvertOptions): number {
  if (opts.externalData !== undefined && opts.inline) throw new FixqError("usage", "--external-data and --inline are exclusive");
  const json = jsonTarget(opts.json);
  // -o may also write OUT.data (external tensors): that file must not be an input either.
  const outputs = [
    { what: "-o", path: opts.output, createParents: true },
    { what: "-o's external data", path: `${opts.output}.data`, createParents: true },
    { what: "--json", path: json?.file },
  ];
  guardOutputs([{ what: "the input model", path: input }], outputs);
  const { model } = loadVerified(input);
  guardOutputs(externalDataInputs(model, "the input model"), outputs);
  const save: SaveOptions = {
    externalData: opts.inline ? "inline" : opts.externalData !== undefined ? { threshold: parseThreshold(opts.externalData) } : "keep",
  };
  ensureParentDir(opts.output);
  const result = saveModel(model, opts.output, save);
  // convert re-encodes what it read, so it writes what ONNX Runtime would have been given anyway.
  const note = "not opened in ONNX Runtime before writing: convert re-encodes the input unchanged";
  if (json) emitJson(json, "convert", { output: opts.output, bytes: result.bytes, dataFile: result.dataFile ?? null, ortLoad: { checked: false, note } });
  if (!jsonOnStdout(json)) process.stderr.write(`${chalk.green("wrote")} ${opts.output} (${result.bytes} bytes${result.dataFile ? ` + ${result.dataFile}` : ""})\n  ${note}\n`);
  return 0;
}
