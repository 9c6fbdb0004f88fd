/**
 * The hyperparameters of learned rounding, from flags or recipe keys:
 *   gptqDamp (--gptq-damp, default 0.01): λ = damp · mean(diag H)
 *   gptqLazyBatch (--gptq-lazy-batch, default 128): columns per lazy update block
 *   gptqActOrder (--gptq-act-order, the default; --no-gptq-act-order): columns by descending diag H
 *   adaroundIters (--adaround-iters, default 1000): Adam steps per layer
 *   adaroundBatch (--adaround-batch, default: the Gram form; 256 with the post loss): input columns per Adam step
 *   adaroundLoss (--adaround-loss, default pre): pre | post, the loss before or after the layer's ReLU/Clip
 *   adaroundChunks (--adaround-chunks, default 1: the Gram form): chunks of the samples, each step (but the last 20%) the Gram matrix of one (chunk-grams.ts)
 *   adaroundExactTail (recipe only, default 0): with --adaround-batch and the pre loss, the share of the steps, the last ones, on the whole H
 *   adaroundWideBatch (recipe only, default 64): samples per step on wide fully connected layers (wide-layers.ts) when adaroundWideRank is 0; 0: the Gram form there
 *   adaroundWideRank (recipe only, default 64): wide layers step on H's rank-q plus diagonal approximation (low-rank-gram.ts) instead; 0: minibatches
 *   adaroundTokenBatch (recipe only, default 32): samples per step on token MatMuls (token-layers.ts); 0: the Gram form there
 *   adaroundClipCompensation (recipe only, default true): centre AdaRound on w* where weights are clipped (clip-compensation.ts)
 *   adaroundExhaustive (recipe only, default true): solve groups of ≤ 12 inputs exactly (exhaustive.ts)
 */
import { FixqError } from "../../ir/errors.js";
import { optionName } from "../option-name.js";
import { ADAROUND_DEFAULTS, type AdaroundOptions } from "./adaround.js";
import { GPTQ_DEFAULTS, type GptqOptions } from "./gptq.js";

export interface RoundingOptions {
  readonly gptq: GptqOptions;
  readonly adaround: AdaroundOptions;
}

export const ROUNDING_DEFAULTS: RoundingOptions = { gptq: GPTQ_DEFAULTS, adaround: ADAROUND_DEFAULTS };

export interface RoundingInput {
  gptqDamp?: number | string;
  gptqLazyBatch?: number | string;
  gptqActOrder?: boolean;
  adaroundIters?: number | string;
  adaroundBatch?: number | string;
  adaroundLoss?: string;
  adaroundChunks?: number | string;
  adaroundClipCompensation?: boolean;
  adaroundExhaustive?: boolean;
  adaroundExactTail?: number | string;
  adaroundWideBatch?: number | string;
  adaroundWideRank?: number | string;
  adaroundTokenBatch?: number | string;
}

function count(v: number | string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new FixqError("usage", `${flag} must be a positive integer, got '${v}'`);
  return n;
}

/** `o` with the values `l` gives applied; `name` names an option in an error (its flag, or its recipe key: option-name.ts). */
export function applyRoundingOptions(o: RoundingOptions, l: RoundingInput, name: (key: string) => string = (k) => optionName(k, false)): RoundingOptions {
  let { gptq, adaround } = o;
  if (l.gptqDamp !== undefined) {
    const d = Number(l.gptqDamp);
    if (!Number.isFinite(d) || d < 0) throw new FixqError("usage", `${name("gptqDamp")} must be a number ≥ 0, got '${l.gptqDamp}'`);
    gptq = { ...gptq, damp: d };
  }
  if (l.gptqLazyBatch !== undefined) gptq = { ...gptq, lazyBatch: count(l.gptqLazyBatch, name("gptqLazyBatch")) };
  if (l.gptqActOrder !== undefined) {
    if (typeof l.gptqActOrder !== "boolean") throw new FixqError("usage", `recipe field 'gptqActOrder' must be true or false, got '${l.gptqActOrder}'`);
    gptq = { ...gptq, actOrder: l.gptqActOrder };
  }
  if (l.adaroundIters !== undefined) adaround = { ...adaround, iters: count(l.adaroundIters, name("adaroundIters")) };
  if (l.adaroundBatch !== undefined) adaround = { ...adaround, batch: count(l.adaroundBatch, name("adaroundBatch")) };
  if (l.adaroundChunks !== undefined) adaround = { ...adaround, chunks: count(l.adaroundChunks, name("adaroundChunks")) };
  if (l.adaroundExactTail !== undefined) {
    const f = Number(l.adaroundExactTail);
    if (!Number.isFinite(f) || f < 0 || f > 1) throw new FixqError("usage", `recipe field 'adaroundExactTail' must be a number from 0 to 1, got '${l.adaroundExactTail}'`);
    adaround = { ...adaround, exactTail: f };
  }
  if (l.adaroundWideBatch !== undefined) {
    const b = Number(l.adaroundWideBatch);
    if (!Number.isInteger(b) || b < 0) throw new FixqError("usage", `recipe field 'adaroundWideBatch' must be an integer ≥ 0, got '${l.adaroundWideBatch}'`);
    adaround = { ...adaround, wideBatch: b };
  }
  if (l.adaroundWideRank !== undefined) {
    const q = Number(l.adaroundWideRank);
    if (!Number.isInteger(q) || q < 0) throw new FixqError("usage", `recipe field 'adaroundWideRank' must be an integer ≥ 0, got '${l.adaroundWideRank}'`);
    adaround = { ...adaround, wideRank: q };
  }
  if (l.adaroundTokenBatch !== undefined) {
    const b = Number(l.adaroundTokenBatch);
    if (!Number.isInteger(b) || b < 0) throw new FixqError("usage", `recipe field 'adaroundTokenBatch' must be an integer ≥ 0, got '${l.adaroundTokenBatch}'`);
    adaround = { ...adaround, tokenBatch: b };
  }
  if (l.adaroundLoss !== undefined) {
    if (l.adaroundLoss !== "pre" && l.adaroundLoss !== "post") throw new FixqError("usage", `${name("adaroundLoss")} must be pre or post, got '${l.adaroundLoss}'`);
    adaround = { ...adaround, loss: l.adaroundLoss };
  }
  if (l.adaroundClipCompensation !== undefined) {
    if (typeof l.adaroundClipCompensation !== "boolean") throw new FixqError("usage", `recipe field 'adaroundClipCompensation' must be true or false, got '${l.adaroundClipCompensation}'`);
    adaround = { ...adaround, clipCompensation: l.adaroundClipCompensation };
  }
  if (l.adaroundExhaustive !== undefined) {
    if (typeof l.adaroundExhaustive !== "boolean") throw new FixqError("usage", `recipe field 'adaroundExhaustive' must be true or false, got '${l.adaroundExhaustive}'`);
    adaround = { ...adaround, exhaustive: l.adaroundExhaustive };
  }
  return gptq === o.gptq && adaround === o.adaround ? o : { gptq, adaround };
}
