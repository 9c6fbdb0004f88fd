/**
 * Run-time CPU dispatch of the generated C: one model.c, built with plain
 * `-O3` (no -march), runs its AVX2 bodies on a CPU that has AVX2 and its
 * baseline bodies (SSE2 on x86-64) elsewhere, giving the same bits on both.
 *
 * How. The emitters hand over model.c in parts (c-parts.ts): data (weights,
 * constant tables, activation arrays) printed once, before both passes, and
 * code (kernels, op functions, the API's bodies), each piece naming the
 * functions it defines, printed twice:
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
import { type CApiFunction, type CParts, cSignature } from "./c-parts.js";

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

/**
 * model.c's body from its parts (c-parts.ts): the data once, then the code
 * (once per pass where FIXQ_DISPATCH, with every function the parts name
 * renamed per pass), then the wrappers: `api` the API functions to wrap (the
 * code defines them as FIXQ_API), `cpu` NAME_cpu, defined here.
 */
export function composeCpuPaths(parts: CParts, api: readonly CApiFunction[], cpu: CApiFunction): string {
  const names = [...new Set(parts.code.flatMap((c) => c.functions))];
  const code = parts.code.map((c) => c.text).join("\n\n");
  const rename = (sfx: string) => names.map((n) => `#define ${n} ${n}_${sfx}`).join("\n");
  const unname = names.map((n) => `#undef ${n}`).join("\n");
  const wrappers = api.map((f) => {
    const args = f.params.map((x) => x.name).join(", ");
    return `${cSignature(f)} {\n  return fixq_pick() ? ${f.name}_avx2(${args}) : ${f.name}_port(${args});\n}`;
  });
  const path = (what: string) => `${cSignature(cpu)} { return ${what}; }`;
  return `/* Constants and activation arrays, shared by every CPU path. */
${parts.data.join("\n")}

#if FIXQ_DISPATCH
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

${path('fixq_pick() ? "avx2 (dispatched)" : "baseline (dispatched)"')}
#elif FIXQ_USE_AVX2
${path('"avx2 (compiled)"')}
#else
${path('"baseline (compiled)"')}
#endif
`;
}
