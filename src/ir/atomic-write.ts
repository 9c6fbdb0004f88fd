/**
 * Atomic file output: data goes to a temporary file in the destination folder
 * and is renamed over the destination only once it is complete, so a failure
 * never leaves a partial file behind. A pipe or device is written in place.
 */
import { closeSync, constants, copyFileSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FixqError } from "./errors.js";

export interface AtomicFile {
  readonly tempPath: string;
  write(chunk: Uint8Array): void;
  /** Bytes written so far. */
  readonly size: number;
  commit(): void;
  abort(): void;
  /** Makes the file a copy of `source` (in-kernel copy where the OS has one; no user-space buffer). */
  copyFrom(source: string): void;
}

/**
 * True when `path` (through symlinks) is a pipe, a character device or a
 * socket: `--json /dev/stdout`, `--json >(jq .)` (/dev/fd/N), a FIFO. Those
 * are written in place: a temporary file renamed over them would replace
 * the pipe with a regular file (and, as root, /dev/stdout itself).
 */
export function isStreamTarget(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFIFO() || st.isCharacterDevice() || st.isSocket();
  } catch {
    return false;
  }
}

export function openAtomic(path: string): AtomicFile {
  const stream = isStreamTarget(path);
  const tempPath = stream ? path : join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  let fd: number;
  try {
    fd = openSync(tempPath, stream ? "w" : "wx");
  } catch (e) {
    throw new FixqError("io", `cannot write: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, path);
  }
  let size = 0;
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      closeSync(fd);
    }
  };
  return {
    tempPath,
    get size() {
      return size;
    },
    write(chunk: Uint8Array) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
      size += chunk.length;
    },
    copyFrom(source: string) {
      if (stream) {
        this.write(readFileSync(source));
        return;
      }
      close();
      // A copy-on-write clone where the file system has one (btrfs, XFS), else an in-kernel copy.
      copyFileSync(source, tempPath, constants.COPYFILE_FICLONE);
      size = statSync(tempPath).size;
    },
    commit() {
      close();
      if (!stream) renameSync(tempPath, path);
    },
    abort() {
      close();
      if (stream) return;
      try {
        unlinkSync(tempPath);
      } catch {
        // already gone
      }
    },
  };
}

/** Writes all chunks to `path` atomically. */
export function writeFileAtomic(path: string, chunks: Uint8Array | readonly Uint8Array[]): void {
  const f = openAtomic(path);
  try {
    for (const c of chunks instanceof Uint8Array ? [chunks] : chunks) f.write(c);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}

/** Creates the folder an output file goes in (the CLI's `-o out/model.onnx` on a fresh clone). */
export function ensureParentDir(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw new FixqError("io", `cannot create the output folder: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, path);
  }
}
