/**
 * Wrong file kinds, said plainly: a model where data is expected, data or
 * text where a model is expected. The kind is read from the first bytes:
 *   .npy  starts with \x93NUMPY            .npz  is a zip (PK\x03\x04 or PK\x05\x06)
 *   torch  a zip whose first member is `<name>/data.pkl` (what torch.save writes
 *          since PyTorch 1.6): a checkpoint, not NumPy data
 *   pickle starts with 0x80 and a protocol byte 2…5 (torch.save before 1.6,
 *          pickle.dump)
 *   text  the first 512 bytes are printable UTF-8/ASCII (or whitespace)
 *   ONNX  the extension is .onnx, or the first byte is 0x08 (field 1, ir_version)
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { extname } from "node:path";
import { FixqError } from "../ir/errors.js";

export type FileKind = "npy" | "npz" | "torch" | "pickle" | "onnx" | "text" | "empty" | "unknown";

const WORDS: Record<FileKind, string> = {
  npy: "a NumPy .npy file",
  npz: "a NumPy .npz archive",
  torch: "a PyTorch checkpoint (torch.save)",
  pickle: "a Python pickle (torch.save before PyTorch 1.6, or pickle.dump)",
  onnx: "an ONNX model",
  text: "a text file",
  empty: "an empty file",
  unknown: "binary data of an unknown kind",
};

/** The kind of the file at `path` from its first bytes (see the file comment); undefined when it cannot be read. */
export function fileKind(path: string): FileKind | undefined {
  let head: Buffer;
  try {
    const fd = openSync(path, "r");
    try {
      head = Buffer.alloc(512);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (head.length === 0) return "empty";
  if (head.subarray(0, 6).equals(Buffer.from("\x93NUMPY", "latin1"))) return "npy";
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return zipMember(head).endsWith("/data.pkl") ? "torch" : "npz";
  if (head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return "pickle";
  if (extname(path).toLowerCase() === ".onnx" || head[0] === 0x08) return "onnx";
  if (/^[\t\n\r\x20-\x7e\u00a0-\ufffc]*$/u.test(head.toString("utf8").replace(/\ufffd$/, ""))) return "text";
  return "unknown";
}

/** The name of a zip's first member, from its local file header (name length at byte 26, the name from byte 30); "" for an empty zip. */
function zipMember(head: Buffer): string {
  if (head[2] !== 3 || head.length < 30) return "";
  return head.subarray(30, 30 + head.readUInt16LE(26)).toString("latin1");
}

const DATA_WANT = "expected NumPy data: .npy (one input) or .npz keyed by input name";

/**
 * Refuses a data file (`--calib`, `--data`, `--labels`) that is not NumPy
 * data, naming what it is instead (or that it is missing, or a folder).
 */
export function checkDataFile(path: string, what: string): void {
  try {
    if (statSync(path).isDirectory()) throw new FixqError("io", `is a directory; ${DATA_WANT}`, `${what} ${path}`);
  } catch (e) {
    if (e instanceof FixqError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new FixqError("io", code === "ENOENT" ? "no such file" : `cannot read (${code})`, `${what} ${path}`);
  }
  const kind = fileKind(path);
  if (kind === undefined) return;
  const ext = extname(path).toLowerCase();
  if ((kind === "npy" && ext === ".npy") || (kind === "npz" && ext === ".npz")) return;
  if (kind === "npy" || kind === "npz") {
    throw new FixqError("data", `is ${WORDS[kind]} but named '${ext || "(no extension)"}'; rename it to .${kind}`, `${what} ${path}`);
  }
  const save = kind === "torch" || kind === "pickle" ? " (from a torch tensor t: np.save(f, t.numpy()))" : "";
  throw new FixqError("data", `is ${WORDS[kind]}; ${DATA_WANT}${save}`, `${what} ${path}`);
}

/** A line for a file given as a model that is not one, or undefined when it may be a (broken) model. */
export function notAModel(path: string): string | undefined {
  const kind = fileKind(path);
  if (kind === "torch" || kind === "pickle") return `is ${WORDS[kind]}, not an ONNX model: export the module with torch.onnx.export first`;
  if (kind === "npy" || kind === "npz" || kind === "text") return `is ${WORDS[kind]}, not an ONNX model`;
  return undefined;
}

/**
 * Refuses a binary file (a model, NumPy data) given where a JSON document is
 * read (`--recipe`, `fixq report`'s inputs), naming what it is; text passes
 * to the JSON parser, which names its own errors.
 */
export function checkJsonFile(path: string, want: string, kind: "usage" | "data"): void {
  const k = fileKind(path);
  if (k === "npy" || k === "npz" || k === "torch" || k === "pickle" || k === "onnx" || k === "unknown") throw new FixqError(kind, `is ${WORDS[k]}, not ${want}`, path);
}

/** A `--recipe` file that cannot be read: missing is bad input (exit 1, as for every input file), the rest a usage error naming the cause. */
export function recipeReadError(path: string, e: unknown): FixqError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new FixqError("io", "no such file", `--recipe ${path}`);
  return new FixqError("usage", `cannot read recipe file${code ? ` (${code})` : ""}`, path);
}
