/**
 * The JSON documents the page is built from: any command's `--json` output,
 * an object with a `command` field. Sections read them through these
 * accessors, which never throw: a key that is missing or of another type
 * reads as absent, and the section that needs it is left out.
 */
import { readFileSync } from "node:fs";
import { FixqError } from "../ir/errors.js";

export type Json = Record<string, unknown>;

/** A run: one command's JSON document and where it came from (shown on the page). */
export interface RunDoc {
  readonly command: string;
  readonly source: string;
  readonly doc: Json;
}

export const obj = (x: unknown): Json | undefined => (x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Json) : undefined);
export const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
export const objs = (x: unknown): Json[] => arr(x).flatMap((v): Json[] => { const o = obj(v); return o ? [o] : []; });
export const str = (x: unknown): string | undefined => (typeof x === "string" ? x : undefined);
export const numOr = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) ? x : undefined);

/** Path `a.b.c` inside `doc`, or undefined. */
export function at(doc: unknown, ...keys: string[]): unknown {
  let v: unknown = doc;
  for (const k of keys) v = obj(v)?.[k];
  return v;
}

/** A parsed document as a run; refuses anything without a string `command` (one line naming `source`). */
export function asRun(value: unknown, source: string): RunDoc {
  const doc = obj(value);
  if (!doc) throw new FixqError("data", "not a fixq --json document: expected a JSON object", source);
  const command = str(doc["command"]);
  if (!command) throw new FixqError("data", "not a fixq --json document: no 'command' field (write it with the command's --json)", source);
  return { command, source, doc };
}

/** Reads one `--json` file as a run. */
export function readRun(path: string): RunDoc {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FixqError("io", code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot read (${code ?? "error"})`, path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FixqError("data", `not valid JSON: ${(e as Error).message}`, path);
  }
  return asRun(value, path);
}
