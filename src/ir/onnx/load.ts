/** Reading ONNX models from files or bytes into the IR. */
import { readFileSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { FixqError } from "../errors.js";
import type { Model } from "../graph.js";
import { decodeMessage, type ProtoMessage } from "./codec.js";
import { modelFromProto } from "./from-proto.js";
import { TruncatedError } from "./wire.js";

const MAX_PROTO_BYTES = 2 ** 31 - 1;

/** Decodes model bytes. `baseDir` is where external data is looked up. */
export function decodeModel(bytes: Uint8Array, opts: LoadOptions & { baseDir?: string; where?: string } = {}): Model {
  const proto = decodeModelProto(bytes, opts.where);
  try {
    return modelFromProto(proto, { baseDir: opts.baseDir, raw: opts.raw });
  } catch (e) {
    if (e instanceof FixqError && opts.where) throw new FixqError(e.code, e.message, opts.where, { cause: e });
    throw e;
  }
}

export interface LoadOptions {
  /** Structural decoding only: no tensor checks, external data left unresolved (see FromProtoOptions.raw). */
  raw?: boolean;
}

export function decodeModelProto(bytes: Uint8Array, where = "model"): ProtoMessage {
  if (bytes.length === 0) throw new FixqError("decode", "file is empty, not an ONNX model", where);
  let proto: ProtoMessage;
  try {
    proto = decodeMessage("ModelProto", bytes);
  } catch (e) {
    if (e instanceof TruncatedError) {
      // N = the file's length; M = where the field it ends inside would end (at least).
      const of = e.needed === undefined ? "" : ` of ${e.needed} or more`;
      throw new FixqError("decode", `file is truncated at byte ${bytes.length}${of}: it ends inside a field (an interrupted download or copy?)`, where, { cause: e });
    }
    if (e instanceof FixqError) throw new FixqError("decode", `not a valid ONNX model: ${e.message}`, where, { cause: e });
    throw e;
  }
  if (proto["graph"] === undefined && proto["ir_version"] === undefined) {
    throw new FixqError("decode", "not an ONNX model: no ir_version and no graph", where);
  }
  return proto;
}

export function readModelBytes(path: string): Buffer {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FixqError("io", code === "ENOENT" ? "no such file" : `cannot read (${code})`, path);
  }
  if (st.isDirectory()) throw new FixqError("io", "is a directory, not an ONNX file", path);
  if (st.size > MAX_PROTO_BYTES) {
    throw new FixqError("decode", `file is ${st.size} bytes, over protobuf's 2 GiB limit; large weights must be in external data`, path);
  }
  try {
    return readFileSync(path);
  } catch (e) {
    throw new FixqError("io", `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, path);
  }
}

/** Loads an ONNX file. External data is validated here and read on demand later. */
export function loadModel(path: string, opts: LoadOptions = {}): Model {
  const bytes = readModelBytes(path);
  return decodeModel(bytes, { ...opts, baseDir: dirname(realpathSync(path)), where: path });
}
