/**
 * The generated C by role, as the emitters assemble it and cpu-dispatch.ts
 * composes model.c from it:
 *   data  printed once, before every CPU path: constant tables (weights,
 *         per-channel multipliers, offsets), the statically planned
 *         activation arrays, and the types and macros they need;
 *   code  printed once per CPU path: kernels, op functions, the API's bodies,
 *         each piece naming the file-scope functions it defines (so each path
 *         can give them names of its own);
 * and the API's functions as signatures (model.h declares them; the
 * dispatched build wraps them). Each emitter says which of its text is which:
 * no C text is parsed to find out.
 */
import type { Port } from "./emit.js";

/** Code printed once per CPU path. */
export interface CCode {
  /** Functions with their comments (and the macros and conditionals around them); no file-scope data. */
  readonly text: string;
  /** Every file-scope function the text defines, in any branch of its conditionals. */
  readonly functions: readonly string[];
}

/** A part of model.c: its data (printed once) and its code (printed per path). */
export interface CParts {
  readonly data: readonly string[];
  readonly code: readonly CCode[];
}

/** Parts one after the other. */
export const joinParts = (...parts: readonly CParts[]): CParts => ({ data: parts.flatMap((p) => p.data), code: parts.flatMap((p) => p.code) });

/** A C parameter: `type name` ("const float *" + "in0" → "const float *in0"). */
export interface CParam {
  readonly type: string;
  readonly name: string;
}

/** A function of the API model.h declares. */
export interface CApiFunction {
  readonly ret: string;
  readonly name: string;
  readonly params: readonly CParam[];
}

const spaced = (type: string, name: string) => `${type}${type.endsWith("*") ? "" : " "}${name}`;

/** A parameter list's text ("void" when empty). */
export const cParams = (params: readonly CParam[]): string => (params.length === 0 ? "void" : params.map((p) => spaced(p.type, p.name)).join(", "));

/** `ret name(params)`. */
export const cSignature = (f: CApiFunction): string => `${spaced(f.ret, f.name)}(${cParams(f.params)})`;

/** The API of a model with these ports, by role; model.h declares them in this order. */
export function apiFunctions(prefix: string, io: { ins: readonly Port[]; outs: readonly Port[] }) {
  const list = (ports: readonly Port[], type: (k: number) => string, name: (k: number) => string): CParam[] => ports.map((_, k) => ({ type: type(k), name: name(k) }));
  const fin = list(io.ins, () => "const float *", (k) => `in${k}`);
  const fout = list(io.outs, () => "float *", (k) => `out${k}`);
  const iin = list(io.ins, (k) => `const ${prefix}_in${k}_t *`, (k) => `in${k}`);
  const iout = list(io.outs, (k) => `${prefix}_out${k}_t *`, (k) => `out${k}`);
  const ioutFull = list(io.outs, (k) => `${prefix}_out${k}_t *`, (k) => `out${k}_int`);
  const n: CParam = { type: "int", name: "n" };
  const fn = (name: string, ...params: CParam[]): CApiFunction => ({ ret: "int", name: `${prefix}_${name}`, params });
  return {
    run: fn("run", ...fin, ...fout),
    runInt: fn("run_int", ...iin, ...iout),
    quantize: fn("quantize", ...fin, ...list(io.ins, (k) => `${prefix}_in${k}_t *`, (k) => `q${k}`)),
    dequantize: fn("dequantize", ...list(io.outs, (k) => `const ${prefix}_out${k}_t *`, (k) => `q${k}`), ...fout),
    cpu: { ret: "const char *", name: `${prefix}_cpu`, params: [] } as CApiFunction,
    runFull: fn("run_full", ...fin, ...fout, ...ioutFull),
    runBatch: fn("run_batch", ...fin, ...fout, n),
    runBatchInt: fn("run_batch_int", ...iin, ...iout, n),
    runBatchFull: fn("run_batch_full", ...fin, ...fout, ...ioutFull, n),
  };
}

export type ApiFunctions = ReturnType<typeof apiFunctions>;
