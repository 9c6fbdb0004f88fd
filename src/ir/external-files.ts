/** The external-data files a model's tensors point into (initializers and attribute tensors, in every subgraph). */
import { type Model, walkGraphs } from "./graph.js";
import type { Tensor } from "./tensor.js";

/** Absolute paths, each once, in the order first met. */
export function externalDataFiles(model: Model): string[] {
  const paths = new Set<string>();
  const add = (t: Tensor | undefined) => {
    if (t?.external) paths.add(t.external.path);
  };
  if (model.graph) {
    for (const [g] of walkGraphs(model.graph)) {
      for (const t of g.initializers) add(t);
      for (const n of g.nodes) for (const a of n.attributes) [a.t, ...(a.tensors ?? [])].forEach(add);
    }
  }
  return [...paths];
}
