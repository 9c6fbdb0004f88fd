/**
 * `-DFIXQ_THREADS=N` for the batch functions (batch-api.ts): the n samples'
 * tiles of 16 are dealt round-robin to T = min(N, tiles) POSIX threads,
 *   tile k (samples 16k … 16k + 15) on thread k mod T,
 * the calling thread taking share 0. Every tile runs the same code on its own
 * samples, so the outputs are the 1-thread outputs bit for bit; each thread
 * has its own activation pools and scratch (the batch arrays are
 * thread-local, `__thread`, only when FIXQ_THREADS > 1). Without the macro
 * (or with N ≤ 1) the code stays C99 and single-threaded, with no pthread
 * include. The status returned is the first failing share's, by share index
 * (the tiles of one share run in order and stop at their first failure). A
 * thread that cannot be started leaves its share to the calling thread.
 * Stacks: glibc carves a thread's static TLS out of its stack, so each
 * thread asks for 8 MiB plus the arrays' bytes.
 */
import { type CApiFunction, type CCode, cParams, cSignature } from "./c-parts.js";

/**
 * The macros, types and driver, printed before the batch functions: `data`
 * (the macros and types, once, before the batch arrays) and `code` (the
 * driver). `tlsBytes`: the thread-local arrays' size.
 */
export function threadsPrelude(tlsBytes: number): { data: string; code: CCode } {
  const data = `#if defined(FIXQ_THREADS) && FIXQ_THREADS > 1
#include <pthread.h>
#define FIXQ_TLS __thread
#else
#define FIXQ_TLS
#endif
/* runs the tiles first, first + step, ... of a batch call (args: the call's arguments) */
typedef int (*fixq_range_fn)(const void *args, int first, int step);
#if defined(FIXQ_THREADS) && FIXQ_THREADS > 1
struct fixq_share { fixq_range_fn fn; const void *args; int first, step, st; };
#endif`;
  const text = `#if defined(FIXQ_THREADS) && FIXQ_THREADS > 1
static void *fixq_share_run(void *p) {
  struct fixq_share *sh = (struct fixq_share *)p;
  sh->st = sh->fn(sh->args, sh->first, sh->step);
  return NULL;
}
#endif
/* The tiles of n samples through fn: on FIXQ_THREADS threads (tile k on thread k mod T) when defined, else in order. */
static int fixq_tiles(fixq_range_fn fn, const void *args, int n) {
#if defined(FIXQ_THREADS) && FIXQ_THREADS > 1
  const int tiles = (n + 15) / 16;
  const int T = tiles < FIXQ_THREADS ? tiles : FIXQ_THREADS;
  struct fixq_share sh[FIXQ_THREADS];
  pthread_t th[FIXQ_THREADS];
  int started[FIXQ_THREADS];
  pthread_attr_t attr;
  const int attrOk = pthread_attr_init(&attr) == 0;
  if (T <= 1) {
    if (attrOk) pthread_attr_destroy(&attr);
    return fn(args, 0, 1);
  }
  if (attrOk) pthread_attr_setstacksize(&attr, (size_t)8 * 1024 * 1024 + ${tlsBytes}u);
  for (int t = 0; t < T; t++) {
    sh[t].fn = fn;
    sh[t].args = args;
    sh[t].first = t;
    sh[t].step = T;
    sh[t].st = 0;
    started[t] = t > 0 && pthread_create(&th[t], attrOk ? &attr : NULL, fixq_share_run, &sh[t]) == 0;
  }
  if (attrOk) pthread_attr_destroy(&attr);
  for (int t = 0; t < T; t++) {
    if (started[t]) pthread_join(th[t], NULL);
    else fixq_share_run(&sh[t]);
  }
  for (int t = 0; t < T; t++)
    if (sh[t].st != 0) return sh[t].st;
  return 0;
#else
  (void)n;
  return fn(args, 0, 1);
#endif
}`;
  return { data, code: { text, functions: ["fixq_share_run", "fixq_tiles"] } };
}

/**
 * An API function `f` whose tiles run through fixq_tiles: its parameters
 * (the last one `int n`) in a struct (`data`, printed once), and `body` the
 * statements of one tile (samples s … s + nb − 1, `st` declared, the
 * parameters in scope by name). Its definition is marked FIXQ_API (cpu-dispatch.ts).
 */
export function threadedBatchFunction(f: CApiFunction, tag: string, body: string, tile: number): { data: string; code: CCode } {
  const params = f.params.map((p) => cParams([p]));
  const names = f.params.map((p) => p.name);
  const fields = params.map((p) => `${p};`).join(" ");
  const locals = params.slice(0, -1).map((p, k) => `  ${p} = a->${names[k]};`);
  const data = `struct fixq_${tag}_args { ${fields} };`;
  const text = `static int fixq_${tag}_range(const void *args, int first, int step) {
  const struct fixq_${tag}_args *a = (const struct fixq_${tag}_args *)args;
${locals.join("\n")}
  const int n = a->n;
  for (int s = first * ${tile}; s < n; s += step * ${tile}) {
    const int nb = n - s < ${tile} ? n - s : ${tile};
    int st;
${body}
  }
  return 0;
}

FIXQ_API ${cSignature(f)} {
  struct fixq_${tag}_args a;
${names.map((x) => `  a.${x} = ${x};`).join("\n")}
  return fixq_tiles(fixq_${tag}_range, &a, n);
}`;
  return { data, code: { text, functions: [`fixq_${tag}_range`, f.name] } };
}
