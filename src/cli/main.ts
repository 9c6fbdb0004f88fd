/** The fixq command line: parses flags and dispatches; the work lives in the library modules. */
import { Command, CommanderError } from "commander";
import { FixqError } from "../ir/errors.js";
import { runConvert } from "./convert.js";
import { reportError } from "./errors.js";
import { EVAL_HELP, type EvalOptions, runEval } from "./eval.js";
import { type CompileOptions, runCompile } from "./compile.js";
import { type EmulateOptions, runEmulate } from "./emulate.js";
import { COMMAND_HELP } from "./help.js";
import { withInputFlags } from "./input-flags.js";
import { type InspectOptions, runInspect } from "./inspect.js";
import { normalizeJsonFlag } from "./json-output.js";
import { ROUNDING_HELP } from "./load-program.js";
import { type QuantizeCliOptions, runQuantize } from "./quantize.js";
import { withMixedFlags } from "./quantize-mixed.js";
import { addReportCommand } from "./report.js";
import { packageVersion } from "../util/package-root.js";


const JSON_HELP = "machine-readable output: one JSON document, to FILE or standard output";
const HTML_HELP = "write the HTML report (one self-contained page: summary, per-layer charts and tables) to FILE";

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes("--verbose");
  let code = 0;
  const program = new Command("fixq")
    .description("Quantization and fixed-point compiler for ONNX models")
    .version(packageVersion())
    .option("--verbose", "show stack traces on errors")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const inspect = program
    .command("inspect")
    .description("summarize a model: I/O, ops, parameters, MACs, weight ranges")
    .argument("<model>", "ONNX file")
    .option("--json [file]", JSON_HELP)
    .option("--graph", "print the IR as text")
    .option("--probe", "complete shapes static inference cannot infer by running the model in onnxruntime, and say what it filled in")
    .addHelpText("after", COMMAND_HELP.inspect);
  withInputFlags(inspect, false).action(async (model: string, opts: InspectOptions) => {
    code = await runInspect(model, opts);
  });

  program
    .command("convert")
    .description("re-serialize a model through the IR (lossless)")
    .argument("<input>", "ONNX file")
    .requiredOption("-o, --output <file>", "output ONNX file")
    .option("--external-data [bytes]", "move initializers of at least this many bytes (default 1024) to <output>.data")
    .option("--inline", "store all tensors inside the model file")
    .option("--json [file]", JSON_HELP)
    .addHelpText("after", COMMAND_HELP.convert)
    .action((input: string, opts: { output: string; externalData?: string | boolean; inline?: boolean; json?: string | boolean }) => {
      code = runConvert(input, opts);
    });

  const evalCmd = program
    .command("eval")
    .description("compare CAND with REF on data (top-1/top-5, agreement, SQNR) and gate on thresholds")
    .argument("<ref>", "reference ONNX model")
    .argument("<cand>", "candidate ONNX model")
    .option("--data <file>", "inputs: .npy, or .npz keyed by input name, samples along each input's batch axis (default for a bundled REF: its eval set and labels)")
    .option("--labels <file>", ".npy integer class labels, one per sample")
    .option("--batch-size <n>", "samples per onnxruntime run", "256")
    .option("--threads <n>", "onnxruntime intra-op threads")
    .option("--max-drop <points>", "fail if CAND's top-1 is more than this many percentage points below REF's (needs labels)")
    .option("--min-agreement <f>", "fail if CAND's top-1 class matches REF's on less than this fraction (0..1)")
    .option("--min-sqnr <db>", "fail if the SQNR of any output of CAND against REF is below this (dB)")
    .option("--max-deployment-gap <points>", "fail with 'deployment risk' if CAND's integer-kernel top-1 or agreement is more than this many points below its fake-quant run (default 2)")
    .option("--json [file]", "JSON report, to FILE or standard output")
    .option("--junit <file>", "write a JUnit XML report (one testcase per threshold)")
    .option("--markdown <file>", "write a Markdown summary (for a CI job summary)")
    .option("--engine <name>", "what runs CAND for the gate: ort (integer kernels, default) | emulator (integer-only program, bit-exact)", "ort")
    .option("--per-layer", "also print the SQNR of each quantized tensor of CAND against REF, worst first")
    .option("--html <file>", HTML_HELP)
    .addHelpText("after", EVAL_HELP)
    .addHelpText("after", COMMAND_HELP.eval);
  withInputFlags(evalCmd, true).action(async (ref: string, cand: string, opts: EvalOptions) => {
    code = await runEval(ref, cand, opts);
  });

  const quantize = program
    .command("quantize")
    .description("post-training quantization to QDQ ONNX (runs in ONNX Runtime's integer kernels)")
    .argument("<model>", "float ONNX file")
    .requiredOption("-o, --output <file>", "output ONNX file")
    .option("--calib <file>", "calibration data: .npy (one input) or .npz keyed by input name, samples along each input's batch axis (usually [N, ...])")
    .option("--recipe <file>", "JSON file with any of the options below; flags override it")
    .option("--format <name>", "weights and (float formats) activations at once: fp8-e4m3 | fp8-e5m2 | mxfp8 | mxfp8-e5m2 | mxfp6 | mxfp6-e3m2 | mxfp4 | mxint8 | nvfp4 | int4-block:N | fixed<W,I[,Q,O[,N]]> | ufixed<…> | fixed<W> (ap_fixed designs, weights and activations)")
    .option("--weights <type>", "int8 | uint8 | int4 | uint4 | int16 | int2 … int7 (stored in INT4/INT8, ±(2^(b−1)−1)) | int4-block:N | fp8-e4m3 | fp8-e5m2 | mxfp8 | mxfp8-e5m2 | mxfp6 | mxfp6-e3m2 | mxfp4 | mxint8 | nvfp4 | fixed<W,I[,Q,O[,N]]> | ufixed<…> | fixed<W> (I per tensor) (default int8, 7-bit values)")
    .option("--weight-bits <n>", "bits used by weight values (int8 with 8-bit activations: default [-64, 64], exact in ONNX Runtime's integer kernels on every CPU)")
    .option("--target-cpu <cpu>", "the CPU the model will run on, for the default int8 weight range: portable (default: [-64, 64], exact on any CPU) | vnni (full 8-bit weights: for x86 AVX512-VNNI/AVX-VNNI/AMX and Arm, whose kernels accumulate in int32; x86 AVX2 without VNNI saturates them) | native (the CPU fixq runs on, detected)")
    .option("--acts <type>", "uint8 | int8 | uint16 | int16 | fp8-e4m3 | fp8-e5m2 | mx* | nvfp4 (dynamic blocks) | float (weight-only) | fixed<W,I[,Q,O[,N]]> | ufixed<…> | fixed<W> (ap_fixed designs) | dynamic-uint8 (int8 weights, uint8 activations quantized at run time: DynamicQuantizeLinear + MatMulInteger) (default uint8)")
    .option("--fp4-storage <s>", "native (FLOAT4E2M1/FP8 + DequantizeLinear) | dequantized (float32 on the format's grid, runs anywhere): MX and NVFP4 weights (default native)")
    .option("--granularity <g>", "per-channel | per-tensor | per-block:N (default per-channel)")
    .option("--rotate [mode]", "Hadamard rotation, float function unchanged: folded (default: attention value → output projections and MatMul → MatMul pairs, folded into the weights; refused where no pair exists) | online (also an inserted x·H MatMul, int8 weights, before every other MatMul/Gemm, H folded into its weight)")
    .option("--smooth [alpha]", "SmoothQuant: move activation outliers of LayerNorm/RMSNorm outputs into the MatMul/Gemm weights that read them (directly or through Transpose/Reshape), s = max|X|^α / max|W|^(1−α), float function unchanged (without a value: α searched per norm on its layers' output error)")
    .option("--weight-only-op <op>", "with --acts float: qdq (DequantizeLinear + MatMul, default) | matmulnbits (ONNX Runtime's com.microsoft MatMulNBits, 2/4/8-bit blocks along K)")
    .option("--int4-grid <grid>", "int4 per-block weights with --acts float: symmetric (codes −7…7, default) | full (all 16 codes, each block's extreme on −8, negative scales: ONNX Runtime's MatMulNBits grid)")
    .option("--block-scale <method>", "int4/uint4 per-block weight scales: minmax (default, ONNX Runtime's RTN) | mse (each block's range shrunk to the least squared rounding error)")
    .option("--nbits-accuracy-level <n>", "MatMulNBits accuracy_level: 0 (default) … 4 (int8 activation compute)")
    .option("--symmetric-acts", "symmetric activation ranges")
    .option("--calibration <method>", "minmax | percentile[:P] | mse | entropy (default minmax)")
    .option("--exclude <names...>", "node names or op types to keep in float (body nodes as If_25/then_branch/Conv_3, whole bodies as If_25/else_branch)")
    .option("--opset <n>", "target opset")
    .option("--calib-samples <n>", "use only the first N calibration samples")
    .option("--batch-size <n>", "calibration batch size (default 64)")
    .option("--threads <n>", "onnxruntime intra-op threads")
    .option("--cle", "cross-layer equalization of Conv/Gemm/MatMul chains before calibrating (for per-tensor weights)")
    .option("--absorb-bias", "high-bias absorption into the next layer where BN statistics exist")
    .option("--relu6-to-relu", "replace ReLU6 activations by ReLU so CLE can cross them (changes the float model; reported)")
    .option("--bias-correction <mode>", "empirical | analytic | none (default none): correct each layer's bias for the mean shift its weight quantization causes")
    .option("--weight-rounding <method>", "nearest | gptq | adaround (default nearest): how weight codes are chosen; gptq and adaround learn them layer by layer from the calibration data")
    .option("--gptq-damp <f>", "gptq: damping added to diag H, as a fraction of its mean (default 0.01)")
    .option("--gptq-lazy-batch <n>", "gptq: columns per lazy update block (default 128)")
    .option("--gptq-act-order", "gptq: quantize columns by descending diag H, scales staying on the original blocks (the default)")
    .option("--no-gptq-act-order", "gptq: quantize columns in their order")
    .option("--adaround-iters <n>", "adaround: Adam iterations per layer (default 1000)")
    .option("--adaround-batch <n>", "adaround: input columns per Adam step, drawn from a pool of 16·n (default: the Gram form over all; 256 with --adaround-loss post)")
    .option("--adaround-chunks <n>", "adaround: cut the samples into n chunks, each Adam step (but the last 20%) the Gram matrix of one: a minibatch at the Gram form's cost (default 1: every step on all samples)")
    .option("--adaround-loss <where>", "adaround: pre | post (default pre): reconstruction loss before or after the layer's ReLU/Clip")
    .option("--data-free", "quantize without any data: ranges from BN statistics, CLE, high-bias absorption, analytic bias correction")
    .option("--input-range <lo,hi>", "data-free: the range of the graph input (bundled models: [0,1])")
    .option("--eval [data]", "evaluate float vs quantized after quantizing (bundled models: their eval set)")
    .option("--verify-each", "check the model after every stage of the pipeline (slower; names the stage that broke it)")
    .option("--max-deployment-gap <points>", "with --eval: exit 1 with 'deployment risk' if the integer-kernel top-1 or agreement is more than this many points below fake-quant (default 2)")
    .option("--json [file]", JSON_HELP)
    .option("--html <file>", `${HTML_HELP}; adds one histogram pass over the calibration data`)
    .option("--no-verify-load", "skip opening the output in ONNX Runtime before writing it (for models meant for other runtimes)")
    .option("--specialize", "replace If nodes that the --input-value constants decide by their branch, so the branch is quantized (the written model then serves those values only)")
    .addHelpText("after", COMMAND_HELP.quantize);
  withMixedFlags(withInputFlags(quantize, true)).action(async (model: string, opts: QuantizeCliOptions) => {
    code = await runQuantize(model, opts);
  });

  const emulate = program
    .command("emulate")
    .description("run a QDQ model as integer-only code in the bit-exact emulator")
    .argument("<model>", "QDQ ONNX model (e.g. from fixq quantize)")
    .requiredOption("--data <file>", "float inputs: .npy (one input) or .npz keyed by input name, shape [N, ...]")
    .requiredOption("--out <file>", "dequantized float32 outputs (.npy; .npz keyed by output name for several outputs)")
    .option("--out-int <file>", "raw integer outputs before dequantization (.npy/.npz)")
    .option("--batch-size <n>", "samples per emulator run", "64")
    .option("--assert-ranges", "debug: check every value against its accumulator certificate as it is computed (slower)")
    .option("--rounding <mode>", ROUNDING_HELP, "single")
    .option("--multiplier-bits <n>", "requant multiplier width, 2…31", "31")
    .option("--json [file]", JSON_HELP)
    .addHelpText("after", COMMAND_HELP.emulate);
  withInputFlags(emulate, false).action((model: string, opts: EmulateOptions) => {
    code = runEmulate(model, opts);
  });

  const compile = program
    .command("compile")
    .description("lower a QDQ model to integer-only code: a JS module, C99, HLS C++, or integer-only ONNX")
    .argument("<model>", "QDQ ONNX model (e.g. from fixq quantize)")
    .option("--target <name>", "js (dependency-free ES module; -o is a folder) | c (C99 library, harness and Makefile; -o is a folder) | hls (Vitis HLS-style C++ project with a C simulation; -o is a folder) | onnx-int (integer ops only; -o is a .onnx file)")
    .option("-o, --output <path>", "output folder (js, c) or file (onnx-int)")
    .option("--prefix <name>", "c, hls: prefix of the exported symbols and macros (default fixq), so two models link together")
    .option("--part <name>", "hls: FPGA part written into build.tcl (default xcvu9p-flga2104-2-e)")
    .option("--clock <ns>", "hls: clock period in ns written into build.tcl (default 5)")
    .option("--reuse-factor <n>", "hls: multiplications per multiplier in every conv, dense and activation-matmul layer (a divisor of its products per row: the weight count, K·N for a matmul; the code's PIPELINE II and multiplier count follow it); default: per layer the least that fits the 4096 partition limit")
    .option("--recipe <file>", "hls: a recipe file whose `layers` rules set reuseFactor per layer (overriding --reuse-factor there)")
    .option("--io <style>", "hls: parallel (array ports; default) | stream (hls::stream axis ports, DATAFLOW across layers)")
    .option("--hls-types <kind>", "hls: ap (ap_int/ap_uint; default) | stdint (plain <stdint.h> types)")
    .option("--report", "print the accumulator-width certificate: per layer the exact range, the minimal width and the headroom")
    .option("--rounding <mode>", ROUNDING_HELP, "single")
    .option("--multiplier-bits <n>", "requant multiplier width, 2…31", "31")
    .option("--json [file]", "machine-readable summary (with the certificate): one JSON document, to FILE or standard output")
    .option("--html <file>", HTML_HELP)
    .option("--no-verify-load", "onnx-int: skip opening the output in ONNX Runtime before writing it")
    .addHelpText("after", COMMAND_HELP.compile);
  withInputFlags(compile, false).action(async (model: string, opts: CompileOptions) => {
    code = await runCompile(model, opts);
  });

  addReportCommand(program, (c) => {
    code = c;
  });

  if (argv.length <= 2) {
    // Bare `fixq`: a usage error, so a script that forgot its arguments fails.
    process.stderr.write(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(normalizeJsonFlag(program, argv));
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help asked for exits 0; help shown because no command was given (`fixq --verbose`) is a usage error.
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return e.exitCode === 0 ? 0 : 2;
      return 2;
    }
    return reportError(e instanceof FixqError || e instanceof Error ? e : new Error(String(e)), verbose);
  }
}
