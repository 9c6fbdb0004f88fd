/**
 * The batch functions (NAME_run_batch, _int, _full) of a program with
 * transformer ops (shared/transformer-c.ts): a plain loop over the samples
 * calling the one-sample functions, so the same bits by construction. The
 * 16-lane batch layout (batch-api.ts) covers the CNN ops only.
 */
import { apiFunctions, type CParts, cSignature } from "./c-parts.js";
import type { Port } from "./emit.js";

export function batchLoopParts(prefix: string, io: { ins: readonly Port[]; outs: readonly Port[] }): { parts: CParts; usesDot: boolean; usesDotU8: boolean } {
  const api = apiFunctions(prefix, io);
  const at = (x: Port, name: string) => `${name} + (long)s * ${x.size}`;
  const loop = (call: string) => `  for (int s = 0; s < n; s++) {\n    const int st = ${call};\n    if (st != 0) return st;\n  }\n  return 0;`;
  const ins = io.ins.map((x, k) => at(x, `in${k}`));
  const outs = io.outs.map((x, k) => at(x, `out${k}`));
  const text = `/* The batch functions: one sample after another through the one-sample functions (the program has transformer ops). */
FIXQ_API ${cSignature(api.runBatchFull)} {
${loop(`${api.runFull.name}(${[...ins, ...outs, ...io.outs.map((x, k) => `out${k}_int ? ${at(x, `out${k}_int`)} : NULL`)].join(", ")})`)}
}

FIXQ_API ${cSignature(api.runBatch)} {
${loop(`${api.run.name}(${[...ins, ...outs].join(", ")})`)}
}

FIXQ_API ${cSignature(api.runBatchInt)} {
${loop(`${api.runInt.name}(${[...ins, ...outs].join(", ")})`)}
}
`;
  return { parts: { data: [], code: [{ text, functions: [api.runBatchFull.name, api.runBatch.name, api.runBatchInt.name] }] }, usesDot: false, usesDotU8: false };
}
