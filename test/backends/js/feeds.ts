/**
 * Feeds and multipliers shared by the back-end op suites (generated JS, C):
 * float feeds around each input's quantizer, integer feeds over its whole
 * range, saturating constant feeds, and per-channel multipliers of every
 * shift class.
 */
import type { Program } from "../../../src/integer/program.js";
import { type Dyadic, quantizeMultiplier, type RequantRounding } from "../../../src/numerics/requant.js";
import { Rng } from "../../helpers/prng.js";
import type { Feeds } from "./check.js";
import { floatInputs, intInputs } from "./compare.js";
import { dyadic, shiftClasses } from "./program-builder.js";

/** Float feeds for every program input, from its quantize op's parameters. */
export function floatFeeds(p: Program, rng: Rng, batch: number): Feeds {
  const data: Record<string, Float32Array> = {};
  for (const io of p.inputs) {
    const q = p.ops.find((op) => op.kind === "quantize" && op.input === io.name);
    if (q?.kind !== "quantize") throw new Error("no quantize");
    data[io.name] = floatInputs(rng, batch * io.shape.reduce((a, b) => a * b, 1), q.scale, q.zeroPoint, q.qmin, q.qmax);
  }
  return { data, batch };
}

/** Integer feeds (already quantized) spanning each input's whole range. */
export function intFeeds(p: Program, rng: Rng, batch: number): Feeds {
  const data: Record<string, Int32Array> = {};
  for (const io of p.inputs) {
    const q = p.ops.find((op) => op.kind === "quantize" && op.input === io.name);
    if (q?.kind !== "quantize") throw new Error("no quantize");
    data[io.name] = intInputs(rng, batch * io.shape.reduce((a, b) => a * b, 1), q.qmin, q.qmax);
  }
  return { data, batch, quantized: true };
}

/** Every input at its minimum, then every input at its maximum (saturating patterns). */
export function constantFeeds(p: Program, batch: number): Feeds[] {
  return (["qmin", "qmax"] as const).map((which) => {
    const data: Record<string, Int32Array> = {};
    for (const io of p.inputs) {
      const q = p.ops.find((op) => op.kind === "quantize" && op.input === io.name);
      if (q?.kind !== "quantize") throw new Error("no quantize");
      data[io.name] = new Int32Array(batch * io.shape.reduce((a, b) => a * b, 1)).fill(q[which]);
    }
    return { data, batch, quantized: true };
  });
}

export function allFeeds(p: Program, seed: number, batch = 37): Feeds[] {
  const rng = new Rng(seed);
  return [floatFeeds(p, rng, batch), floatFeeds(p, rng, 3), intFeeds(p, rng, batch), ...constantFeeds(p, 2)];
}

/** Per-channel multipliers cycling through every shift class of `rounding`, plus a zero multiplier (M = 0: s = 0 as quantizeMultiplier gives it, or s = 70). */
export function classMultipliers(rng: Rng, n: number, rounding: RequantRounding, bits = 31): Dyadic[] {
  const classes = shiftClasses(rounding);
  return Array.from({ length: n }, (_, c) => (c === 2 ? { m: 0, s: bits === 31 ? 0 : 70 } : dyadic(rng, classes[(c + rng.int(classes.length)) % classes.length]!, bits)));
}

/** Multipliers that keep most outputs unsaturated for accumulators of magnitude ~2^accBits. */
export function usefulMultipliers(rng: Rng, n: number, accBits: number): Dyadic[] {
  return Array.from({ length: n }, () => quantizeMultiplier(2 ** (6 - accBits) * (0.5 + rng.float())));
}

