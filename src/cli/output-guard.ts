/**
 * The output guard every command runs before it does any work: no output may
 * be the same file as an input, nor as another output, and every output must
 * be writable where it is aimed.
 *
 * Two paths name the same file when
 *   realpath(a) = realpath(b)            (symlinks, `..`, relative paths), or
 *   (dev, ino)(a) = (dev, ino)(b)        (hard links),
 * where a path that does not exist yet is realpath(parent)/basename. Each
 * refusal is one line naming both flags and the path, exit 2 (a usage error).
 * For outputs the guard also checks, one line each: a file output that is an
 * existing directory, a folder output that is a file, a missing parent folder
 * (created only where the command documents it: `createParents`), and a folder
 * the process cannot write to.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { FixqError } from "../ir/errors.js";
import { externalDataFiles } from "../ir/external-files.js";
import type { Model } from "../ir/graph.js";

/** A file a command reads: `what` names it in messages ("the model", "--calib"). */
export interface GuardInput {
  readonly what: string;
  readonly path: string | undefined;
}

/** A path a command writes. */
export interface GuardOutput {
  readonly what: string;
  readonly path: string | undefined;
  /** "folder": the command writes files into it (compile --target js). Default "file". */
  readonly kind?: "file" | "folder";
  /** The command creates missing parent folders (documented for quantize/convert -o). */
  readonly createParents?: boolean;
  /** Files the command writes inside a folder output, by name (checked against the inputs too). */
  readonly members?: readonly string[];
}

interface Identity {
  readonly real: string;
  readonly dev?: number;
  readonly ino?: number;
}

/** The identity of `path`: its real path, and device + inode when it exists. */
export function fileIdentity(path: string): Identity {
  const abs = resolve(path);
  try {
    const st = statSync(abs);
    return { real: realpathSync(abs), dev: st.dev, ino: st.ino };
  } catch {
    // Not there yet: resolve the nearest existing ancestor, keep the rest as written.
    let dir = dirname(abs);
    const rest = [basename(abs)];
    while (!existsSync(dir) && dirname(dir) !== dir) {
      rest.unshift(basename(dir));
      dir = dirname(dir);
    }
    let real = dir;
    try {
      real = realpathSync(dir);
    } catch {
      // unreadable ancestor: keep it as resolved
    }
    return { real: join(real, ...rest) };
  }
}

/** True when the two paths name the same file (see the file comment). */
export function sameFile(a: Identity, b: Identity): boolean {
  if (a.real === b.real) return true;
  return a.dev !== undefined && a.ino !== undefined && a.dev === b.dev && a.ino === b.ino;
}

function checkWritableLocation(o: GuardOutput & { path: string }): void {
  if (o.path.trim() === "") throw new FixqError("usage", `${o.what} needs a file name, got an empty one`);
  const where = `${o.what} ${o.path}`;
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(o.path);
  } catch {
    st = undefined;
  }
  if (st && o.kind !== "folder" && (st.isFIFO() || st.isCharacterDevice() || st.isSocket())) {
    // a pipe or device (--json /dev/stdout, >(jq .)): written in place (atomic-write.ts), so its own permission counts, not its folder's
    try {
      accessSync(o.path, constants.W_OK);
      return;
    } catch {
      throw new FixqError("usage", "cannot write (permission denied)", where);
    }
  }
  if (st) {
    if (o.kind === "folder" && !st.isDirectory()) throw new FixqError("usage", `${o.what} is a folder; '${o.path}' is a file`);
    if (o.kind !== "folder" && st.isDirectory()) throw new FixqError("usage", "is a directory; give a file name", where);
  }
  let dir = st?.isDirectory() && o.kind === "folder" ? o.path : dirname(resolve(o.path));
  if (!existsSync(dir)) {
    if (!o.createParents) throw new FixqError("usage", `folder ${dirname(o.path)} does not exist`, where);
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  }
  if (!statSync(dir).isDirectory()) throw new FixqError("usage", `${dir} is not a folder`, where);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new FixqError("usage", `cannot write into folder ${dir} (permission denied)`, where);
  }
}

/**
 * Refuses, with one line and exit 2, any output that is the same file as an
 * input or as another output, or that cannot be written where it is aimed.
 * Undefined paths are skipped.
 */
export function guardOutputs(inputs: readonly GuardInput[], outputs: readonly GuardOutput[]): void {
  const ins = inputs.filter((i): i is GuardInput & { path: string } => i.path !== undefined).map((i) => ({ ...i, id: fileIdentity(i.path) }));
  const outs: { what: string; path: string; id: Identity }[] = [];
  for (const o of outputs) {
    if (o.path === undefined) continue;
    const path = o.path;
    checkWritableLocation({ ...o, path });
    outs.push({ what: o.what, path, id: fileIdentity(path) });
    for (const m of o.members ?? []) outs.push({ what: `${o.what} (its ${m})`, path: join(path, m), id: fileIdentity(join(path, m)) });
  }
  for (const [k, o] of outs.entries()) {
    const hit = ins.find((i) => sameFile(o.id, i.id));
    if (hit) throw new FixqError("usage", `${o.what} ${o.path} would overwrite the input: it is the same file as ${hit.what} ${hit.path}; choose another path`);
    const twin = outs.slice(0, k).find((p) => sameFile(o.id, p.id));
    if (twin) throw new FixqError("usage", `${o.what} ${o.path} and ${twin.what} ${twin.path} name the same file; give each output its own path`);
  }
}

/** The external-data files a loaded model reads (on demand, so they are inputs until the command ends). */
export function externalDataInputs(model: Model, what: string): GuardInput[] {
  return externalDataFiles(model).map((path) => ({ what: `${what}'s external data`, path }));
}
