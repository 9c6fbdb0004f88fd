/**
 * What the emulator runs: the whole of numerics' domain (it calls numerics'
 * functions, or WebAssembly kernels tested equal to them), so its check is
 * the shared one (shared/numerics-checks.ts) and nothing narrower.
 */
import type { Program } from "../../integer/program.js";
import { type CheckOptions, checkWith, type Diagnostic } from "../contract.js";
import { NUMERICS_CHECKS } from "../shared/numerics-checks.js";

export const EMULATOR_BACKEND = "emulator";

/** Why each op the emulator cannot run is refused. */
export function checkEmulator(p: Program, opts?: CheckOptions): Diagnostic[] {
  return checkWith(p, [NUMERICS_CHECKS], opts);
}
