/**
 * The contract every integer back end (emulator, generated JS, integer-only
 * ONNX, and the C and HLS ones to come) implements over the integer program:
 *
 *   { name, check(program) → diagnostics, emit(program, options) → output }
 *
 * `check` names, per op, why the back end cannot run it: the op lies outside
 * the domain numerics defines (numerics/domain.ts, the same for every back
 * end) or outside the narrower one this back end implements. `emit` refuses
 * exactly what `check` reports (`refuseDiagnostics`), so a program that checks
 * gives the same integers on every back end.
 *
 * Checks and lowerings are tables typed `{ [K in IntOpKind]: … }` (a new op
 * kind without an entry is a compile error). Value ranges: by default an
 * integer value ranges over its type; checks whose verdict depends on the
 * values (double rounding's left shift, rescale terms) then ask the
 * certificate (integer/certify.ts), computed once per check when needed, or
 * given by the caller (`CheckOptions.ranges`).
 */
import { certifyProgram } from "../integer/certify.js";
import type { IntOp, IntOpKind, Program } from "../integer/program.js";
import { FixqError } from "../ir/errors.js";
import type { IntRange } from "../numerics/domain.js";
import { intMax, intMin } from "../numerics/int.js";

/** The op of kind K. */
export type OpOf<K extends IntOpKind> = Extract<IntOp, { kind: K }>;

/** One reason a back end cannot run one op. */
export interface Diagnostic {
  /** Index of the op in `program.ops`. */
  readonly op: number;
  readonly kind: IntOpKind;
  /** The ONNX node the op comes from ("Conv '/layer1/conv1/Conv'"). */
  readonly source: string;
  readonly message: string;
}

export interface CheckOptions {
  /** Certified range of each value (integer/certify.ts `ranges`); computed when a check needs it and it is absent. */
  readonly ranges?: ReadonlyMap<string, IntRange>;
}

/** An integer back end. */
export interface IntegerBackend<Options, Output> {
  readonly name: string;
  /** Why each op the back end cannot run is refused; empty when it runs the whole program. */
  check(p: Program, opts?: CheckOptions): Diagnostic[];
  /** The back end's output for the program (files, a model, a runnable); throws what `check` reports. */
  emit(p: Program, options?: Options): Output;
}

/** What an op check can ask about the program. */
export interface CheckContext {
  readonly program: Program;
  /** The range of an integer value's type. */
  typeRange(value: string): IntRange;
  /** The certified range of a value, or its type's range where there is no certificate. */
  certifiedRange(value: string): IntRange;
}

/** Reasons an op cannot be run (empty: it can). */
export type OpCheck<K extends IntOpKind> = (op: OpOf<K>, ctx: CheckContext) => readonly string[];

/** One check per op kind, exhaustive. */
export type CheckTable = { readonly [K in IntOpKind]: OpCheck<K> };

const NO_RANGE: IntRange = { lo: -(2 ** 31), hi: 2 ** 31 - 1 };

function checkContext(p: Program, given: ReadonlyMap<string, IntRange> | undefined): CheckContext {
  let certified = given;
  const typeRange = (value: string): IntRange => {
    const v = p.values.get(value);
    return v ? { lo: intMin(v.type), hi: intMax(v.type) } : NO_RANGE;
  };
  return {
    program: p,
    typeRange,
    certifiedRange(value) {
      if (!certified) {
        try {
          certified = certifyProgram(p).ranges;
        } catch {
          certified = new Map(); // a program certify cannot walk: type ranges only
        }
      }
      return certified.get(value) ?? typeRange(value);
    },
  };
}

/** Runs the tables over every op, in order: the union of their reasons, as diagnostics. */
export function checkWith(p: Program, tables: readonly CheckTable[], opts: CheckOptions = {}): Diagnostic[] {
  const ctx = checkContext(p, opts.ranges);
  const out: Diagnostic[] = [];
  p.ops.forEach((op, i) => {
    for (const table of tables) {
      const check = table[op.kind] as OpCheck<IntOpKind> | undefined;
      const reasons = check ? check(op as OpOf<IntOpKind>, ctx) : [`op kind '${op.kind}' is not part of the integer program`];
      for (const message of reasons) out.push({ op: i, kind: op.kind, source: op.source, message });
    }
  });
  return out;
}

/** One line for a diagnostic: "<kind> '<source>' (op i): <reason>". */
export function diagnosticText(d: Diagnostic): string {
  return `${d.kind} ${d.source} (op ${d.op}): ${d.message}`;
}

/** Throws the first diagnostic (counting the others) as an "unsupported" FixqError naming the back end and the node. */
export function refuseDiagnostics(backend: string, diags: readonly Diagnostic[]): void {
  if (diags.length === 0) return;
  const d = diags[0]!;
  const more = diags.length > 1 ? ` (and ${diags.length - 1} more)` : "";
  throw new FixqError("unsupported", `${backend} back end cannot run ${d.kind} op ${d.op}: ${d.message}${more}`, d.source);
}
