/**
 * Layers grouped into waves by the number of chosen layers upstream of their
 * input: every layer of wave w depends only on layers of earlier waves, so a
 * pass that must see each layer after every chosen layer before it has been
 * processed (empirical bias correction, learned rounding) needs one run over
 * the data per wave, not per layer. `at` holds the chosen layers by node index.
 */
import type { Graph } from "../ir/graph.js";

export function layerWaves<T>(g: Graph, at: ReadonlyMap<number, T>): T[][] {
  const depth = new Map<string, number>();
  const waves: T[][] = [];
  g.nodes.forEach((n, i) => {
    const t = at.get(i);
    const d = Math.max(0, ...n.inputs.map((v) => depth.get(v) ?? 0));
    if (t !== undefined) {
      waves[d] ??= [];
      waves[d].push(t);
    }
    for (const o of n.outputs) depth.set(o, d + (t !== undefined ? 1 : 0));
  });
  return waves.filter((w) => w !== undefined);
}
