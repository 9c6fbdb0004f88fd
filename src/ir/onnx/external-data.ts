/**
 * External data locations. A location is a path relative to the model's
 * folder; anything that could reach outside it (absolute paths, `..`, drive
 * letters, symlinks resolving elsewhere) is refused before any file is opened
 * for reading.
 */
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { FixqError } from "../errors.js";
import type { ExternalRef } from "../tensor.js";
import type { ProtoMessage } from "./codec.js";

export interface ExternalEntries {
  location?: string;
  offset?: string;
  length?: string;
  checksum?: string;
}

export function externalEntries(entries: readonly ProtoMessage[]): ExternalEntries {
  const out: ExternalEntries = {};
  for (const e of entries) {
    const k = e["key"] as string | undefined;
    if (k === "location" || k === "offset" || k === "length" || k === "checksum") out[k] = (e["value"] as string) ?? "";
  }
  return out;
}

function parseNonNegative(v: string | undefined, what: string, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new FixqError("external-data", `external data ${what} '${v}' is not a non-negative integer`, where);
  const n = Number(v.trim());
  if (!Number.isSafeInteger(n)) throw new FixqError("external-data", `external data ${what} ${v} is too large`, where);
  return n;
}

/** Checks `location` is a plain relative path that stays inside `baseDir`, and returns its absolute path. */
export function resolveLocation(baseDir: string, location: string, where: string): string {
  if (location === "") throw new FixqError("external-data", "external data has an empty location", where);
  if (location.includes("\0")) throw new FixqError("external-data", "external data location contains a NUL byte", where);
  if (isAbsolute(location) || /^[a-zA-Z]:/.test(location) || location.startsWith("\\")) {
    throw new FixqError("external-data", `external data location '${location}' is absolute; it must be relative to the model's folder`, where);
  }
  const parts = location.split(/[\\/]/);
  if (parts.includes("..")) {
    throw new FixqError("external-data", `external data location '${location}' escapes the model's folder`, where);
  }
  const path = join(baseDir, ...parts);
  let real: string;
  let realBase: string;
  try {
    realBase = realpathSync(baseDir);
    real = realpathSync(path);
  } catch {
    throw new FixqError("external-data", `external data file '${location}' not found next to the model`, where);
  }
  const rel = relative(realBase, real);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) {
    throw new FixqError("external-data", `external data location '${location}' resolves outside the model's folder (symlink)`, where);
  }
  if (!statSync(real).isFile()) throw new FixqError("external-data", `external data location '${location}' is not a file`, where);
  return real;
}

/** Resolved locations of one model load: location → absolute path and file size. */
export type LocationCache = Map<string, { path: string; size: number }>;

/** Builds the external reference of a tensor from its external_data entries, checking the file and the byte range. */
export function resolveExternal(
  entries: readonly ProtoMessage[],
  baseDir: string | undefined,
  expectedBytes: number,
  where: string,
  cache: LocationCache = new Map(),
): ExternalRef {
  const e = externalEntries(entries);
  if (e.location === undefined) throw new FixqError("external-data", "external data has no location", where);
  if (baseDir === undefined) {
    throw new FixqError("external-data", `refers to external file '${e.location}', but the model was not loaded from a file`, where);
  }
  const offset = parseNonNegative(e.offset, "offset", where) ?? 0;
  const length = parseNonNegative(e.length, "length", where);
  let file = cache.get(e.location);
  if (!file) {
    const path = resolveLocation(baseDir, e.location, where);
    file = { path, size: statSync(path).size };
    cache.set(e.location, file);
  }
  const { path, size } = file;
  const need = length ?? expectedBytes;
  if (Number.isFinite(need) && offset + need > size) {
    throw new FixqError(
      "external-data",
      `external data '${e.location}' is ${size} bytes; offset ${offset} + length ${need} runs past its end`,
      where,
    );
  }
  return { location: e.location, offset, length, path };
}
