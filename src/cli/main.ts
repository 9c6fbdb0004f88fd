/** The fixq command line: parses flags and dispatches; the work lives in the library modules. */
import { Command, CommanderError } from "commander";
import { FixqError } from "../ir/errors.js";
import { runConvert } from "./convert.js";
import { reportError } from "./errors.js";
import { runInspect } from "./inspect.js";
import { packageVersion } from "../util/package-root.js";


export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes("--verbose");
  let code = 0;
  const program = new Command("fixq")
    .description("Quantization and fixed-point compiler for ONNX models")
    .version(packageVersion())
    .option("--verbose", "show stack traces on errors")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command("inspect")
    .description("summarize a model: I/O, ops, parameters, MACs, weight ranges")
    .argument("<model>", "ONNX file")
    .option("--json", "machine-readable output")
    .option("--graph", "print the IR as text")
    .option("--probe", "complete shapes static inference cannot infer by running the model in onnxruntime")
    .action(async (model: string, opts: { json?: boolean; graph?: boolean; probe?: boolean }) => {
      code = await runInspect(model, opts);
    });

  program
    .command("convert")
    .description("re-serialize a model through the IR (lossless)")
    .argument("<input>", "ONNX file")
    .requiredOption("-o, --output <file>", "output ONNX file")
    .option("--external-data [bytes]", "move initializers of at least this many bytes (default 1024) to <output>.data")
    .option("--inline", "store all tensors inside the model file")
    .option("--json", "machine-readable output")
    .action((input: string, opts: { output: string; externalData?: string | boolean; inline?: boolean; json?: boolean }) => {
      code = runConvert(input, opts);
    });

  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2;
    }
    return reportError(e instanceof FixqError || e instanceof Error ? e : new Error(String(e)), verbose);
  }
}
