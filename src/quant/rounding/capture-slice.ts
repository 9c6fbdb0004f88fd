/**
 * The part of a QDQ graph that one capture run of learned rounding needs:
 * the nodes upstream of the values fetched (their inputs, transitively, and
 * the names their subgraphs read from the outer scope), those values as the
 * only outputs, and the initializers the kept nodes read. ONNX Runtime runs
 * every node of a session whatever is fetched (measured on the bundled ViT:
 * fetching block 0's first LayerNorm output costs what the logits cost), so
 * without this every wave paid for the whole model; now a wave pays for its
 * prefix, about half the model on average over the waves. The kept nodes are
 * the same nodes on the same values, so the captured inputs are unchanged.
 * Graph inputs all stay declared (the calibration feeds every one), with
 * their initializers (default values).
 */
import type { Graph } from "../../ir/graph.js";
import { subgraphReads } from "../../ir/graph.js";

export function upstreamSlice(g: Graph, fetch: readonly string[]): Graph {
  const needed = new Set(fetch);
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const x of n.inputs) if (x) needed.add(x);
    if (n.attributes.some((a) => a.g || a.graphs)) for (const x of subgraphReads({ ...g, nodes: [n] })) needed.add(x);
  }
  const nodes = g.nodes.filter((_, i) => keep[i]);
  const inputs = new Set(g.inputs.map((v) => v.name));
  const known = new Map(g.outputs.map((o) => [o.name, o]));
  return {
    ...g,
    nodes,
    initializers: g.initializers.filter((t) => needed.has(t.name ?? "") || inputs.has(t.name ?? "")),
    outputs: fetch.map((name) => known.get(name) ?? { name }),
  } as Graph;
}
