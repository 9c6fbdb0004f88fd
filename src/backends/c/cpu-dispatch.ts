/**
 * Run-time CPU dispatch of the generated C: one model.c, built with plain
 * `-O3` (no -march), runs its AVX2 bodies on a CPU that has AVX2 and its
 * baseline bodies (SSE2 on x86-64) elsewhere, giving the same bits on both.
 *
 * How. The code part of model.c (kernels, op functions, the API's bodies) is
 * printed twice, its data (weights, constant tables, activation arrays)
 * once, before both:
 *   pass 1: under `#pragma GCC target("avx2")` (Clang: `#pragma clang attribute`), FIXQ_USE_AVX2 = 1,
 *           every function of the code part renamed NAME_avx2 (a #define per name), all static;
 *   pass 2: FIXQ_USE_AVX2 = 0, renamed NAME_port, all static;
 * then each API function of model.h is a wrapper calling pass 1's or pass
 * 2's, chosen once (first call) by `__builtin_cpu_supports("avx2")`, or pass
 * 2 when the environment variable FIXQ_CPU is "portable" (so one binary's two
 * paths can be checked against each other). NAME_cpu() names the path taken.
 *
 * Where. Only GCC ≥ 5 and Clang ≥ 8 on x86-64 without __AVX2__ already on
 * (e.g. -march=native builds keep their one pass, with whatever the target
 * macros enable, VNNI included) and without -DFIXQ_PORTABLE (the C bodies)
 * or -DFIXQ_NO_DISPATCH. Everywhere else (MSVC, Arm, other compilers) one
 * pass, chosen by the target macros as before. VNNI bodies are reached
 * through -march only (no dispatched VNNI pass).
 *
 * The same integers: each body is bit-exact with the emulator by its own
 * proof (the kernels' doc comments); the float boundary stays IEEE double
 * without contraction (pass 1 enables AVX2, not FMA).
 */

/** The macros model.c's conditions use, printed first: FIXQ_DISPATCH, FIXQ_USE_AVX2 (per pass), and which data the passes need. */
export const DISPATCH_CONFIG = `/* CPU paths (cpu-dispatch.ts): FIXQ_DISPATCH where one build carries an AVX2 and a baseline pass chosen at run time;
 * FIXQ_USE_AVX2: whether the code being compiled takes its AVX2 bodies; FIXQ_AVX2_DATA / FIXQ_BASE_DATA: whether
 * some pass takes the AVX2 / the other bodies (their constant tables are printed once, for both). */
#if !defined(FIXQ_PORTABLE) && !defined(FIXQ_NO_DISPATCH) && !defined(__AVX2__) && defined(__x86_64__) && \\
    ((defined(__clang__) && __clang_major__ >= 8) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 5))
#define FIXQ_DISPATCH 1
#define FIXQ_USE_AVX2 0
#define FIXQ_AVX2_DATA 1
#define FIXQ_BASE_DATA 1
#include <stdlib.h>
#include <immintrin.h>
#else
#define FIXQ_DISPATCH 0
#define FIXQ_API
#if defined(__AVX2__) && !defined(FIXQ_PORTABLE)
#include <immintrin.h>
#define FIXQ_USE_AVX2 1
#define FIXQ_AVX2_DATA 1
#define FIXQ_BASE_DATA 0
#else
#define FIXQ_USE_AVX2 0
#define FIXQ_AVX2_DATA 0
#define FIXQ_BASE_DATA 1
#endif
#endif`;

/** One top-level piece of C text: a preprocessor line (with continuations), a function, a declaration, or a comment / blank run. */
interface Piece {
  readonly kind: "directive" | "function" | "data" | "other";
  readonly text: string;
  /** A function's name. */
  readonly name?: string;
}

/** The index just past the comment, string or character literal starting at i, or i where none starts. */
function skipLexeme(s: string, i: number): number {
  if (s.startsWith("/*", i)) {
    const e = s.indexOf("*/", i + 2);
    return e < 0 ? s.length : e + 2;
  }
  if (s.startsWith("//", i)) {
    const e = s.indexOf("\n", i);
    return e < 0 ? s.length : e;
  }
  const q = s[i];
  if (q === '"' || q === "'") {
    let j = i + 1;
    while (j < s.length && s[j] !== q) j += s[j] === "\\" ? 2 : 1;
    return j + 1;
  }
  return i;
}

/** The end of the preprocessor line starting at i (past its newline, following backslash continuations). */
function directiveEnd(s: string, i: number): number {
  let j = i;
  for (;;) {
    const e = s.indexOf("\n", j);
    if (e < 0) return s.length;
    if (s[e - 1] !== "\\") return e + 1;
    j = e + 1;
  }
}

/** The name of the function whose body opens at `brace` (the identifier before the parameter list ending just before it). */
function functionName(s: string, brace: number): string | undefined {
  let j = brace - 1;
  while (j >= 0 && /\s/.test(s[j]!)) j--;
  if (s[j] !== ")") return undefined;
  let depth = 0;
  for (; j >= 0; j--) {
    if (s[j] === ")") depth++;
    else if (s[j] === "(" && --depth === 0) break;
  }
  return /([A-Za-z_]\w*)\s*$/.exec(s.slice(0, j))?.[1];
}

/** Splits C text into top-level pieces (brace depth 0), comments and literals skipped when counting braces. */
export function splitTopLevel(s: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  while (i < s.length) {
    const lineStart = i === 0 || s[i - 1] === "\n";
    if (/\s/.test(s[i]!) || skipLexeme(s, i) !== i) {
      const j = skipLexeme(s, i);
      const e = j === i ? i + 1 : j;
      const last = out[out.length - 1];
      if (last?.kind === "other") out[out.length - 1] = { kind: "other", text: last.text + s.slice(i, e) };
      else out.push({ kind: "other", text: s.slice(i, e) });
      i = e;
      continue;
    }
    if (s[i] === "#" && lineStart) {
      const e = directiveEnd(s, i);
      out.push({ kind: "directive", text: s.slice(i, e) });
      i = e;
      continue;
    }
    // a declaration or a function: up to the ';' at depth 0, or the '}' closing a body that follows a ')'
    let depth = 0;
    let j = i;
    let name: string | undefined;
    let fn = false;
    for (; j < s.length; j++) {
      const k = skipLexeme(s, j);
      if (k !== j) {
        j = k - 1;
        continue;
      }
      const c = s[j];
      if (c === "{") {
        if (depth === 0 && !fn) {
          name = functionName(s, j);
          fn = name !== undefined;
        }
        depth++;
      } else if (c === "}") {
        depth--;
        if (depth === 0 && fn) {
          j++;
          break;
        }
      } else if (c === ";" && depth === 0) {
        j++;
        break;
      }
    }
    out.push(fn ? { kind: "function", text: s.slice(i, j), name: name! } : { kind: "data", text: s.slice(i, j) });
    i = j;
  }
  return out;
}

/** Whether a directive opens, continues or closes a conditional (kept in both parts so the data keeps its conditions). */
const conditional = (d: string) => /^#\s*(if|ifdef|ifndef|elif|else|endif)\b/.test(d);

/**
 * model.c's code part `code` split for the passes: `data` (its declarations,
 * in order, inside the same conditionals, plus its #defines and #includes,
 * printed once before the passes), `code` (the functions and the
 * directives, non-static functions marked FIXQ_API) and the functions' names.
 */
export function splitCode(code: string): { data: string; code: string; names: string[] } {
  const data: string[] = [];
  const kept: string[] = [];
  const names = new Set<string>();
  for (const p of splitTopLevel(code)) {
    if (p.kind === "data") data.push(p.text, "\n");
    else if (p.kind === "directive") {
      kept.push(p.text);
      // conditionals wrap the data too; #define / #include lines serve it (FIXQ_TLS …); any other directive stays with the code
      if (conditional(p.text) || /^#\s*(define|include)\b/.test(p.text)) data.push(p.text);
    } else if (p.kind === "function") {
      names.add(p.name!);
      kept.push(/^\s*static\b/.test(p.text) ? p.text : `FIXQ_API ${p.text}`);
    } else kept.push(p.text);
  }
  return { data: data.join(""), code: kept.join(""), names: [...names] };
}

/** The API functions model.h declares: return type, name and parameter list. */
function apiFunctions(header: string): { ret: string; name: string; params: string }[] {
  return [...header.matchAll(/^(int|const char \*)\s*(\w+)\((.*)\);$/gm)].map((m) => ({ ret: m[1]!.trim(), name: m[2]!, params: m[3]! }));
}

/** The parameter names of a C parameter list ("void": none). */
const paramNames = (params: string) => (params.trim() === "void" ? [] : params.split(",").map((x) => /(\w+)\s*$/.exec(x)![1]!));

/**
 * The code part of model.c with its passes: `code` from splitCode, `names`
 * its functions, `header` model.h (whose functions get wrappers), `prefix`
 * the API's prefix. Printed after the data.
 */
export function dispatchedCode(code: string, names: readonly string[], header: string, prefix: string): string {
  const rename = (sfx: string) => names.map((n) => `#define ${n} ${n}_${sfx}`).join("\n");
  const unname = names.map((n) => `#undef ${n}`).join("\n");
  const api = apiFunctions(header).filter((f) => f.name !== `${prefix}_cpu`);
  const wrappers = api.map((f) => {
    const args = paramNames(f.params).join(", ");
    return `${f.ret} ${f.name}(${f.params}) {\n  return fixq_pick() ? ${f.name}_avx2(${args}) : ${f.name}_port(${args});\n}`;
  });
  return `#if FIXQ_DISPATCH
/* pass 1: the AVX2 bodies */
#define FIXQ_API static
#undef FIXQ_USE_AVX2
#define FIXQ_USE_AVX2 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
${rename("avx2")}

${code}

${unname}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef FIXQ_USE_AVX2
#define FIXQ_USE_AVX2 0
/* pass 2: the baseline bodies (SSE2) */
${rename("port")}
#endif

${code}

#if FIXQ_DISPATCH
${unname}
/* 1 where the calls take pass 1: the CPU has AVX2 and FIXQ_CPU is not "portable"; decided at the first call. */
static int fixq_avx2_chosen = -1;
static int fixq_pick(void) {
  if (fixq_avx2_chosen < 0) {
    const char *e = getenv("FIXQ_CPU");
    __builtin_cpu_init();
    fixq_avx2_chosen = e != NULL && strcmp(e, "portable") == 0 ? 0 : __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  return fixq_avx2_chosen;
}

${wrappers.join("\n\n")}

const char *${prefix}_cpu(void) { return fixq_pick() ? "avx2 (dispatched)" : "baseline (dispatched)"; }
#elif FIXQ_USE_AVX2
const char *${prefix}_cpu(void) { return "avx2 (compiled)"; }
#else
const char *${prefix}_cpu(void) { return "baseline (compiled)"; }
#endif
`;
}
