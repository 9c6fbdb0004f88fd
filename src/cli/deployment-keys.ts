/**
 * The deployment keys a recipe file may hold next to the quantization recipe,
 * each the file form of a `fixq quantize` flag, which overrides it:
 *   weightOnlyOp         "qdq" | "matmulnbits"            (--weight-only-op)
 *   nbitsAccuracyLevel   an integer 0…4                   (--nbits-accuracy-level)
 *   smooth               true (α searched per norm), α in (0, 1), or false (off)   (--smooth [α])
 *   rotate               true / "folded", "online", or false   (--rotate [MODE])
 * Their JSON types are checked with the rest of the file (quant/recipe-schema.ts);
 * their values here, naming the file and the key (exit 2).
 */
import { FixqError } from "../ir/errors.js";

export interface DeploymentInput {
  weightOnlyOp?: string;
  nbitsAccuracyLevel?: number | string;
  smooth?: boolean | number | string;
  rotate?: boolean | string;
}

/** The keys' values as the flags give them (strings; `smooth` true for "search"). */
export interface DeploymentKeys {
  readonly weightOnlyOp?: string;
  readonly nbitsAccuracyLevel?: string;
  readonly smooth?: string | true;
  /** "folded" (pairs folded into the weights) or "online" (and an online Hadamard before the other linear layers). */
  readonly rotate?: RotateMode;
}

const WEIGHT_ONLY_OPS = ["qdq", "matmulnbits"];
export type RotateMode = "folded" | "online";
const ROTATE_MODES: readonly string[] = ["folded", "online"];

/** The --rotate flag's value (true: bare flag) as a mode; `where` names the file for a recipe's key. */
export function rotateMode(value: boolean | string, where?: string): RotateMode | undefined {
  if (value === false) return undefined;
  if (value === true) return "folded";
  if (ROTATE_MODES.includes(value)) return value as RotateMode;
  if (where) throw new FixqError("usage", `'rotate' must be true, false, "folded" or "online", got ${JSON.stringify(value)}`, where);
  throw new FixqError("usage", `--rotate takes no value, "folded" or "online", got '${value}'`);
}

/** Splits the deployment keys off a recipe file's values and checks them; `where` names the file. */
export function takeDeploymentKeys<T extends object>(file: T & DeploymentInput, where: string | undefined): { rest: T; keys: DeploymentKeys } {
  const { weightOnlyOp, nbitsAccuracyLevel, smooth, rotate, ...rest } = file;
  if (weightOnlyOp !== undefined && !WEIGHT_ONLY_OPS.includes(weightOnlyOp)) {
    throw new FixqError("usage", `'weightOnlyOp' must be ${WEIGHT_ONLY_OPS.join(" or ")}, got '${weightOnlyOp}'`, where);
  }
  const level = nbitsAccuracyLevel === undefined ? undefined : Number(nbitsAccuracyLevel);
  if (level !== undefined && (String(nbitsAccuracyLevel).trim() === "" || !(Number.isInteger(level) && level >= 0 && level <= 4))) {
    throw new FixqError("usage", `'nbitsAccuracyLevel' must be an integer in 0…4, got ${JSON.stringify(nbitsAccuracyLevel)}`, where);
  }
  let alpha: string | true | undefined;
  if (smooth === true) alpha = true;
  else if (smooth !== undefined && smooth !== false) {
    const a = Number(smooth);
    if (String(smooth).trim() === "" || !(a > 0 && a < 1)) throw new FixqError("usage", `'smooth' must be true, false or α in (0, 1), got ${JSON.stringify(smooth)}`, where);
    alpha = String(a);
  }
  const mode = rotate === undefined ? undefined : rotateMode(rotate, where ?? "the recipe");
  const keys: DeploymentKeys = {
    ...(weightOnlyOp !== undefined ? { weightOnlyOp } : {}),
    ...(level !== undefined ? { nbitsAccuracyLevel: String(level) } : {}),
    ...(alpha !== undefined ? { smooth: alpha } : {}),
    ...(mode !== undefined ? { rotate: mode } : {}),
  };
  return { rest: rest as T, keys };
}
