/** The text every command's --help ends with: its exit codes and one example. */

export const COMMON_HELP = [
  "--json [FILE]: one JSON document with a `command` field, to FILE when given, else to",
  "standard output (then progress and notes go to standard error).",
  "No output may be the same file as an input or as another output (refused, exit 2).",
];

function footer(codes: readonly string[], example: string, extra: readonly string[] = []): string {
  return ["", ...extra, ...COMMON_HELP, "", "Exit codes:", ...codes.map((c) => `  ${c}`), "", "Example:", `  ${example}`].join("\n");
}

const SEQUENCE_HELP = "--input-shape input_ids=1x128 pins a symbolic sequence length (BERT-style exports; torch seq-first x=128x1x512); the dim pinned to 1 is the batch and stays free.";

const USAGE = "2  usage error: a bad flag or value, or an output aimed at an input, a folder or a missing folder";

export const COMMAND_HELP = {
  inspect: footer(["0  summary printed", "1  the model cannot be read (missing, truncated, corrupt) or onnxruntime failed (--probe)", USAGE], "fixq inspect models/resnet.onnx --json summary.json"),
  convert: footer(["0  written", "1  the model cannot be read or written", USAGE], "fixq convert model.onnx -o model.ext.onnx --external-data 64k", [
    "Creates the folder of -o when it is missing.",
  ]),
  quantize: footer(
    ["0  written (and evaluated with --eval)", "1  the model or data cannot be read, or onnxruntime failed; nothing is written", USAGE],
    "fixq quantize models/resnet.onnx -o out/resnet.int8.onnx --calib calib.npy --eval",
    ["Creates the folder of -o when it is missing.", "Mixed precision: --mixed int4,int8 --budget size=75% (see README, Mixed precision)."],
  ),
  emulate: footer(["0  outputs written", "1  the model or data cannot be read, or the model has no integer-only form", USAGE], "fixq emulate resnet.int8.onnx --data x.npy --out y.npy --out-int y_int.npy", [SEQUENCE_HELP]),
  compile: footer(
    ["0  written (or the certificate printed)", "1  the model has no integer-only form, or the accumulator certificate fails", USAGE],
    "fixq compile resnet.int8.onnx --target js -o out/resnet-js --report",
    ["-o is a folder for --target js, c and hls (created when missing) and a file for --target onnx-int.", "--target c: then `make -C DIR` builds DIR/model_run IN.bin OUT.bin [--int OUT_INT.bin] (see DIR/README.txt).", "--target hls: then `make -C DIR csim_run` builds the C simulation DIR/csim_run, same arguments (see DIR/README.txt).", SEQUENCE_HELP],
  ),
  /** After EVAL_HELP, which has eval's exit codes and example. */
  eval: ["", ...COMMON_HELP].join("\n"),
} as const;
