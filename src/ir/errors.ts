/**
 * Typed errors. Every error fixq raises for bad input names what went wrong and
 * where (a file, a byte offset, a node or a tensor), in one line. The CLI prints
 * `message` alone unless --verbose is given.
 */
export type ErrorCode =
  | "io" // file missing, unreadable, a directory
  | "decode" // not protobuf, truncated, corrupt
  | "model" // structurally invalid model (dangling value, cycle, duplicate name)
  | "tensor" // tensor data disagrees with its dims or dtype
  | "dtype" // unknown or unsupported element type
  | "external-data" // external data missing or outside the model folder
  | "unsupported" // valid ONNX that fixq does not handle
  | "runtime" // onnxruntime refused or failed
  | "data" // user data (.npy/.npz) bad
  | "usage";

export class FixqError extends Error {
  override readonly name = "FixqError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** What the error is about: a file path, "byte 1234", "node 'conv1'", "tensor 'w'". */
    readonly where?: string,
    options?: { cause?: unknown },
  ) {
    super(escapeControl(where ? `${where}: ${message}` : message), options);
  }
}

/**
 * Names come from untrusted files: control characters (newlines, CR, ESC, NUL…)
 * are shown as escapes so an error stays one line and cannot drive the terminal.
 */
export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function isFixqError(e: unknown): e is FixqError {
  return e instanceof FixqError;
}
