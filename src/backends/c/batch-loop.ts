/**
 * The batch functions (NAME_run_batch, _int, _full) of a program with
 * transformer ops (shared/transformer-c.ts): a plain loop over the samples
 * calling the one-sample functions, so the same bits by construction. The
 * 16-lane batch layout (batch-api.ts) covers the CNN ops only.
 */
import type { Port } from "./emit.js";

export function batchLoopText(prefix: string, io: { ins: readonly Port[]; outs: readonly Port[] }): { text: string; usesDot: boolean; usesDotU8: boolean } {
  const fin = io.ins.map((_, k) => `const float *in${k}`);
  const fout = io.outs.map((_, k) => `float *out${k}`);
  const iin = io.ins.map((_, k) => `const ${prefix}_in${k}_t *in${k}`);
  const iout = io.outs.map((_, k) => `${prefix}_out${k}_t *out${k}`);
  const at = (x: Port, name: string) => `${name} + (long)s * ${x.size}`;
  const loop = (call: string) => `  for (int s = 0; s < n; s++) {\n    const int st = ${call};\n    if (st != 0) return st;\n  }\n  return 0;`;
  const ins = io.ins.map((x, k) => at(x, `in${k}`));
  const outs = io.outs.map((x, k) => at(x, `out${k}`));
  const text = `/* The batch functions: one sample after another through the one-sample functions (the program has transformer ops). */
int ${prefix}_run_batch_full(${[...fin, ...fout, ...iout.map((s) => s.replace(/out(\d+)$/, "out$1_int")), "int n"].join(", ")}) {
${loop(`${prefix}_run_full(${[...ins, ...outs, ...io.outs.map((x, k) => `out${k}_int ? ${at(x, `out${k}_int`)} : NULL`)].join(", ")})`)}
}

int ${prefix}_run_batch(${[...fin, ...fout, "int n"].join(", ")}) {
${loop(`${prefix}_run(${[...ins, ...outs].join(", ")})`)}
}

int ${prefix}_run_batch_int(${[...iin, ...iout, "int n"].join(", ")}) {
${loop(`${prefix}_run_int(${[...ins, ...outs].join(", ")})`)}
}
`;
  return { text, usesDot: false, usesDotU8: false };
}
