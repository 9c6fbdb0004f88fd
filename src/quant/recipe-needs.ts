/**
 * What a recipe needs from its target: the lowest opset whose
 * QuantizeLinear/DequantizeLinear express its formats (the largest over the
 * global settings and every `layers` rule), and one-line notes where ONNX
 * Runtime (CPU) has no integer kernels for them or the CPU saturates its
 * u8×s8 pair sums; and a warning where fixed-point activations meet
 * per-channel integer weights, a design the integer back ends refuse.
 */
import { detectCpu } from "../runtime/cpu-features.js";
import { floatKernelNote, floatOpsetNeed, type OpsetNeed } from "./float-schemes.js";
import { isFloatType } from "./format-names.js";
import type { LayerSettings, Recipe } from "./recipe.js";

/** The global settings and every rule's: everything that decides formats and opsets. */
export function allSettings(r: Recipe): LayerSettings[] {
  return [r, ...r.layers.filter((l) => !l.skip).map((l) => l.settings)];
}

const SUB_BYTE_OR_16_BIT = new Set<string>(["int4", "uint4", "int16", "uint16"]);

/** The lowest opset whose ops express the recipe's formats, and why. */
export function opsetNeed(r: LayerSettings): OpsetNeed {
  const ints = [r.weights, r.acts].filter((t) => SUB_BYTE_OR_16_BIT.has(t));
  const intBlocks = r.granularity.kind === "per-block" && !isFloatType(r.weights);
  const int: OpsetNeed = ints.length || intBlocks ? { opset: 21, why: `${[...ints, ...(intBlocks ? ["per-block"] : [])].join(", ")} formats (QuantizeLinear/DequantizeLinear-21)` } : { opset: 13, why: "per-channel QuantizeLinear/DequantizeLinear" };
  const float = floatOpsetNeed(r);
  return float && float.opset > int.opset ? float : int;
}

/** The lowest opset whose QuantizeLinear/DequantizeLinear accept the recipe's formats. */
export function requiredOpset(r: Recipe): number {
  return Math.max(...allSettings(r).map((s) => opsetNeed(s).opset));
}

/** A one-line note when ONNX Runtime (CPU) has no integer kernels for the recipe's formats; undefined when it has. */
export function integerKernelNote(r: Recipe): string | undefined {
  const notes = [...new Set(allSettings(r).map(kernelNote).filter((n) => n !== undefined))];
  return notes.length ? notes.join("; ") : undefined;
}

/** The weight format the user named: int2 or fixed<4,2> (with the ONNX type it is stored in), else the storage type itself. */
function askedWeights(r: LayerSettings): string {
  if (r.fixedWeights) return `${r.fixedWeights.name} (stored as ${r.weights})`;
  // the narrow names int2 and int3 are the only exact ranges below INT4's 4 bits (format-names.ts)
  const narrow = r.exactWeightRange && r.weights === "int4" && r.weightBits < 4;
  return narrow ? `int${r.weightBits} (stored as ${r.weights})` : r.weights;
}

/** The activation format the user named: fixed<12,4> (with its storage type), else the storage type. */
function askedActs(r: LayerSettings): string {
  return r.fixedActs ? `${r.fixedActs.name} (stored as ${r.acts})` : r.acts;
}

function kernelNote(r: LayerSettings): string | undefined {
  const float = floatKernelNote(r);
  if (float) return float;
  const without = [...(SUB_BYTE_OR_16_BIT.has(r.weights) ? [`${askedWeights(r)} weights`] : []), ...(SUB_BYTE_OR_16_BIT.has(r.acts) ? [`${askedActs(r)} activations`] : [])];
  if (without.length === 0) return undefined;
  return `ONNX Runtime (CPU) has no integer kernels for ${without.join(" or ")}: it runs these layers as DequantizeLinear + float ops, so the model is smaller but no faster than float`;
}

/**
 * A one-line warning when full 8-bit weights meet 8-bit activations and the CPU
 * fixq runs on saturates ORT's u8×s8 pair sums, so `--eval`'s integer-kernel
 * figures here may be lower than on the deployment CPU; undefined otherwise.
 */
export function cpuKernelNote(r: Recipe): string | undefined {
  const eightBit = (r.weights === "int8" || r.weights === "uint8") && r.weightBits === 8 && (r.acts === "uint8" || r.acts === "int8");
  const cpu = detectCpu();
  if (!eightBit || cpu.u8s8 !== "saturating-int16-pairs") return undefined;
  return `this CPU (${cpu.model}: ${cpu.features.join(" ")}, no VNNI) saturates ONNX Runtime's u8×s8 int16 pair sums, so full 8-bit weights can lose accuracy in its integer kernels here; a CPU with VNNI runs them exactly (the default [−64, 64] weights are exact on both)`;
}

/**
 * A one-line warning when a setting (global or a `layers` rule) gives
 * fixed-point activations (ap_fixed, scale 2^(I−W)) but per-channel integer
 * weights: a conv/dense accumulator then has one scale S_x·S_w[c] per
 * channel, while a fixed-point rescale into one output type is a single
 * shift, so `compile`, `emulate` and `eval --engine emulator` refuse those
 * layers ("has per-channel weight scales"). The QDQ model itself is valid.
 */
export function fixedDesignWarning(r: Recipe): string | undefined {
  const bad = allSettings(r).find((s) => s.fixedActs && !s.fixedWeights && s.granularity.kind === "per-channel");
  if (!bad?.fixedActs) return undefined;
  return `${bad.fixedActs.name} activations with ${bad.weights} per-channel weights: compile, emulate and eval --engine emulator refuse such layers (a rescale into a fixed-point type takes one scale per tensor); give fixed-point weights (--weights 'fixed<W,I>') or --granularity per-tensor for an integer design`;
}
