/**
 * The on-disk sensitivity cache, so that re-solving for another budget, a
 * Pareto sweep or the final run after sharded measurement measures nothing
 * twice.
 *
 *   DIR/<model hash>-<data hash>-<method>/*.json
 *
 * The folder is keyed by the SHA-256 of the float model (after the float
 * passes), of the calibration samples measured, and the method; each entry
 * by node name and the hash of the candidate's resolved settings, so two
 * spellings of one format share entries. Each run or shard writes its own
 * file (a shard `shard-I-of-N.json`), and a read takes the union of every
 * file in the folder: merging the caches of several machines is copying
 * their files into one folder.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../ir/atomic-write.js";
import { FixqError } from "../../ir/errors.js";

export interface CacheFile {
  readonly metric: string;
  readonly entries: Record<string, number>;
}

export const sha256 = (parts: readonly (string | Uint8Array)[]): string => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** An entry's key: node name and candidate settings hash. */
export const entryKey = (node: string, candidateHash: string) => `${node}\t${candidateHash}`;

/** The cache folder for one model, data and method under `root`. */
export function cacheFolder(root: string, modelHash: string, dataHash: string, method: string): string {
  return join(root, `${modelHash.slice(0, 16)}-${dataHash.slice(0, 16)}-${method}`);
}

/** Every entry of every file in the folder (none when the folder does not exist), and the metric they were measured with. */
export function readCache(folder: string): { entries: Map<string, number>; metric?: string } {
  const entries = new Map<string, number>();
  let metric: string | undefined;
  if (!existsSync(folder)) return { entries };
  for (const f of readdirSync(folder).filter((n) => n.endsWith(".json")).sort()) {
    const path = join(folder, f);
    let data: CacheFile;
    try {
      data = JSON.parse(readFileSync(path, "utf8")) as CacheFile;
    } catch (e) {
      throw new FixqError("data", `sensitivity cache file is not valid JSON (${(e as Error).message}); delete it to re-measure`, path);
    }
    if (typeof data.entries !== "object" || data.entries === null) throw new FixqError("data", "sensitivity cache file has no 'entries' object; delete it to re-measure", path);
    metric ??= data.metric;
    for (const [k, v] of Object.entries(data.entries)) if (typeof v === "number" && Number.isFinite(v)) entries.set(k, v);
  }
  return { entries, metric };
}

/** Writes one cache file (temp file, then rename). */
export function writeCache(folder: string, file: string, metric: string, entries: ReadonlyMap<string, number>): void {
  mkdirSync(folder, { recursive: true });
  const body: CacheFile = { metric, entries: Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  writeFileAtomic(join(folder, file), new TextEncoder().encode(`${JSON.stringify(body, null, 1)}\n`));
}
