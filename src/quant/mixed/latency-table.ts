/**
 * `--latency-table T.json`: measured latency per layer and candidate, in
 * milliseconds, the costs of a `--budget latency=…`:
 *
 *   { "unit": "ms", "layers": { "<node name>": { "<candidate>": 0.042, … }, … } }
 *
 * Candidates are keyed exactly as given to --mixed. Every layer mixed
 * precision chooses for needs an entry for every candidate.
 */
import { readFileSync } from "node:fs";
import { FixqError } from "../../ir/errors.js";

export interface LatencyTable {
  readonly file: string;
  readonly layers: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export function readLatencyTable(file: string): LatencyTable {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new FixqError("usage", `cannot read the latency table: ${(e as Error).message}`, file);
  }
  const o = v as { unit?: unknown; layers?: unknown };
  if (typeof o !== "object" || o === null || typeof o.layers !== "object" || o.layers === null) throw new FixqError("usage", "a latency table is { \"unit\": \"ms\", \"layers\": { NODE: { CANDIDATE: ms } } }", file);
  if (o.unit !== undefined && o.unit !== "ms") throw new FixqError("usage", `'unit' must be "ms", got ${JSON.stringify(o.unit)}`, file);
  for (const [node, row] of Object.entries(o.layers as Record<string, unknown>)) {
    if (typeof row !== "object" || row === null) throw new FixqError("usage", `'layers.${node}' must be an object of candidate → ms`, file);
    for (const [c, ms] of Object.entries(row)) {
      if (typeof ms !== "number" || !(ms >= 0)) throw new FixqError("usage", `'layers.${node}.${c}' must be a number of milliseconds >= 0`, file);
    }
  }
  return { file, layers: o.layers as LatencyTable["layers"] };
}

export function latencyOf(t: LatencyTable, node: string, candidate: string): number {
  const ms = t.layers[node]?.[candidate];
  if (ms === undefined) throw new FixqError("usage", `no latency for layer '${node}' under candidate '${candidate}'`, t.file);
  return ms;
}
