/**
 * The input-signature flags shared by `inspect`, `quantize` and `eval`:
 * `--input-shape NAME=DxDx…` pins dynamic dims (ir/pin-shapes.ts) and
 * `--input-value NAME=VALUE[:SHAPE]` gives a constant for an input the data
 * file does not hold (quant/input-values.ts).
 */
import type { Command } from "commander";
import type { Model } from "../ir/graph.js";
import { parseInputShapes, pinInputShapes } from "../ir/pin-shapes.js";
import { parseInputValues, resolveInputValues } from "../quant/input-values.js";
import type { HostTensor } from "../runtime/ort-session.js";

export interface InputFlags {
  inputShape?: string[];
  inputValue?: string[];
}

const collect = (v: string, all: string[] = []) => [...all, v];

export const INPUT_SHAPE_HELP = "pin an input's dynamic dims, e.g. x=1x3x640x640 (repeatable; a symbolic dim pinned here is pinned in every input)";
export const INPUT_VALUE_HELP = "a constant for an input the data does not hold: NAME=VALUE[:SHAPE], e.g. sr=16000, h=0:2x1x64, m=1,0,1 (repeatable)";

/** Adds --input-shape (and, with `values`, --input-value) to a command. */
export function withInputFlags(cmd: Command, values: boolean): Command {
  cmd.option("--input-shape <name=dims>", INPUT_SHAPE_HELP, collect);
  if (values) cmd.option("--input-value <name=value>", INPUT_VALUE_HELP, collect);
  return cmd;
}

/** The model with its input dims pinned, and the --input-value constants shaped for its inputs. */
export function applyInputFlags(model: Model, flags: InputFlags): { model: Model; values: Map<string, HostTensor> } {
  const pinned = pinInputShapes(model, parseInputShapes(flags.inputShape));
  const values = pinned.graph ? resolveInputValues(pinned.graph, parseInputValues(flags.inputValue)) : new Map<string, HostTensor>();
  return { model: pinned, values };
}

/** The one-element --input-value constants as numbers (what decides an If for --specialize). */
export function scalarValues(values: ReadonlyMap<string, HostTensor>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, t] of values) if (t.data.length === 1) out.set(name, Number(t.data[0]));
  return out;
}
