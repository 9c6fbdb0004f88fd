/**
 * Writing the IR to ONNX files, optionally moving large initializers to an
 * external-data file. Both files are written atomically (temp + rename), and
 * tensor data is streamed: raw_data is referenced, not copied, and external
 * sources are copied in bounded chunks.
 */
import { closeSync, openSync, readSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DataType } from "../dtype.js";
import { FixqError } from "../errors.js";
import { type Attribute, type Model, walkGraphs } from "../graph.js";
import { type Tensor, tensorByteLength, tensorBytes, tensorLabel } from "../tensor.js";
import { openAtomic, writeFileAtomic, type AtomicFile } from "../atomic-write.js";
import { encodeMessageChunks, sizeMessage } from "./codec.js";
import { modelToProto, type TensorPlacement } from "./to-proto.js";
import { concatChunks } from "./wire.js";

export interface SaveOptions {
  /**
   * - "keep" (default): tensors that were external stay external (in `<output>.data`), the rest stay inline;
   * - an object: every initializer of at least `threshold` bytes goes external as well;
   * - "inline": everything inline (fails past protobuf's 2 GiB limit).
   * A model too large for one protobuf message is written with external data whatever the choice.
   */
  externalData?: "keep" | "inline" | { threshold: number };
  /** File name of the external-data file, relative to the model (default `<output name>.data`). */
  dataLocation?: string;
  /**
   * Largest model file to write inline; past it, initializers of 1 KiB or more
   * go to external data. Default and maximum: protobuf's 2 GiB message limit.
   */
  maxModelBytes?: number;
}

const ALIGN = 64;

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
const COPY_CHUNK = 16 << 20;
const PROTO_LIMIT = 2 ** 31 - 1;

/**
 * Encodes a model to bytes. External tensors are inlined (bytes have no folder
 * to be relative to) unless `keepExternalRefs` is set.
 */
export function encodeModel(model: Model, opts: { keepExternalRefs?: boolean } = {}): Uint8Array {
  const placeTensor = opts.keepExternalRefs ? undefined : inlineExternalPlacement;
  return concatChunks(encodeMessageChunks("ModelProto", modelToProto(model, { placeTensor })));
}

function inlineExternalPlacement(t: Tensor): TensorPlacement {
  return t.external ? { kind: "inline", bytes: tensorBytes(t) } : { kind: "keep" };
}

/** Encoded size with external tensors inlined. */
export function inlinedModelSize(model: Model): number {
  return sizeMessage("ModelProto", modelToProto(model, { placeTensor: inlineExternalPlacement })).size;
}

/** Every tensor of the model: initializers and attribute tensors, in all graphs and functions. */
function* allTensors(model: Model): Generator<[Tensor, boolean]> {
  function* ofAttrs(attrs: readonly Attribute[]): Generator<[Tensor, boolean]> {
    for (const a of attrs) {
      if (a.t) yield [a.t, false];
      if (a.tensors) for (const t of a.tensors) yield [t, false];
    }
  }
  if (model.graph) {
    for (const [g] of walkGraphs(model.graph)) {
      for (const t of g.initializers) yield [t, true];
      for (const n of g.nodes) yield* ofAttrs(n.attributes);
    }
  }
  for (const f of model.functions) {
    yield* ofAttrs(f.attributeDefaults);
    for (const n of f.nodes) yield* ofAttrs(n.attributes);
  }
}

/** Tensors that go to the external-data file: those already external, and large initializers when asked. */
function chooseExternal(model: Model, mode: NonNullable<SaveOptions["externalData"]>): Set<Tensor> {
  const chosen = new Set<Tensor>();
  if (mode === "inline") return chosen;
  for (const [t, isInitializer] of allTensors(model)) {
    if (t.external) chosen.add(t);
    else if (typeof mode === "object" && isInitializer && t.dtype !== DataType.STRING && tensorByteLength(t) >= mode.threshold) chosen.add(t);
  }
  return chosen;
}

function copyTensorData(t: Tensor, out: AtomicFile, buf: Buffer): void {
  const ext = t.external;
  if (!ext) {
    out.write(tensorBytes(t));
    return;
  }
  const length = ext.length ?? tensorByteLength(t);
  const fd = openSync(ext.path, "r");
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), ext.offset + done);
      if (n === 0) throw new FixqError("external-data", `short read from '${ext.location}'`, tensorLabel(t));
      out.write(n === buf.length ? buf : buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Saves `model` to `path`. Returns the external-data file name written, if any. */
export function saveModel(model: Model, path: string, opts: SaveOptions = {}): { dataFile?: string; bytes: number } {
  let mode = opts.externalData ?? "keep";
  let external = chooseExternal(model, mode);
  if (external.size === 0) {
    const sized = sizeMessage("ModelProto", modelToProto(model, { placeTensor: inlineExternalPlacement }));
    const limit = Math.min(opts.maxModelBytes ?? PROTO_LIMIT, PROTO_LIMIT);
    const size = sized.size;
    if (size > limit) {
      if (mode === "inline") {
        throw new FixqError("usage", `model would be ${size} bytes inline, over the ${limit}-byte limit (protobuf's is 2 GiB); save it with external data`, path);
      }
      mode = { threshold: 1024 };
      external = chooseExternal(model, mode);
    } else {
      writeFileAtomic(path, sized.chunks());
      return { bytes: size };
    }
  }
  const location = opts.dataLocation ?? `${basename(path)}.data`;
  const dataPath = join(dirname(path), location);
  for (const t of external) {
    if (t.external && sameFile(t.external.path, dataPath)) {
      throw new FixqError("usage", `writing '${location}' would overwrite the input's external data; choose another output name`, path);
    }
  }
  const data = openAtomic(dataPath);
  const placements = new Map<Tensor, TensorPlacement>();
  const copyBuffer = Buffer.allocUnsafe(COPY_CHUNK); // one buffer for every copy: fresh pages per tensor cost page faults
  try {
    const sources = new Set([...external].map((t) => t.external?.path));
    const source = [...sources][0];
    if (mode === "keep" && sources.size === 1 && source !== undefined) {
      // Every external tensor lives in one file: copy it whole and keep its layout.
      data.copyFrom(source);
      for (const t of external) {
        const ext = t.external!;
        placements.set(t, { kind: "external", location, offset: ext.offset, length: ext.length ?? tensorByteLength(t) });
      }
    }
    for (const t of placements.size ? [] : external) {
      const pad = (ALIGN - (data.size % ALIGN)) % ALIGN;
      if (pad) data.write(new Uint8Array(pad));
      const offset = data.size;
      copyTensorData(t, data, copyBuffer);
      placements.set(t, { kind: "external", location, offset, length: data.size - offset });
    }
    const proto = modelToProto(model, { placeTensor: (t) => placements.get(t) ?? inlineExternalPlacement(t) });
    const chunks = encodeMessageChunks("ModelProto", proto);
    const modelFile = openAtomic(path);
    try {
      for (const c of chunks) modelFile.write(c);
      data.commit();
      modelFile.commit();
    } catch (e) {
      modelFile.abort();
      throw e;
    }
    return { dataFile: location, bytes: modelFile.size };
  } catch (e) {
    data.abort();
    throw e;
  }
}
