/**
 * Mutant generation for the load/verify/save fuzz test: byte-level damage
 * (truncation, flips, deletion and duplication, corrupt length prefixes and
 * wire types) steered by a walk of the protobuf structure, and structured
 * damage done on the decoded ModelProto (bad dims, unknown dtypes, dangling
 * and duplicate names, cycles) then re-encoded.
 */
import { decodeMessage, encodeMessage, type FieldSpec, type MessageSpec, messageSpec, type ProtoMessage } from "../../src/ir/onnx/codec.js";
import { WireReader } from "../../src/ir/onnx/wire.js";
import type { Rng } from "../helpers/prng.js";

// ------------------------------------------------------------ wire walk

/** One field of the encoded model, with its byte extent. */
export interface FieldSpan {
  /** Enclosing message type, or "?" inside an unknown field. */
  readonly msg: string;
  readonly field: string;
  readonly kind: FieldSpec["kind"] | "unknown";
  readonly tagStart: number;
  /** Start of the length prefix, or -1 for fields that are not length-delimited. */
  readonly lenStart: number;
  readonly payloadStart: number;
  readonly end: number;
  /** Index of the enclosing length-delimited span, or -1 at the top level. */
  readonly parent: number;
}

function walkInto(r: WireReader, spec: MessageSpec | undefined, end: number, parent: number, depth: number, out: FieldSpan[]): void {
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = r.uint32();
    const wt = tag & 7;
    const f = spec?.fields.get(tag >>> 3);
    const base = { msg: spec?.name ?? "?", field: f?.name ?? `#${tag >>> 3}`, kind: f?.kind ?? ("unknown" as const), tagStart, parent };
    if (wt === 2) {
      const lenStart = r.pos;
      const n = r.length();
      const payloadStart = r.pos;
      const index = out.length;
      out.push({ ...base, lenStart, payloadStart, end: payloadStart + n });
      if (f?.kind === "message") walkInto(new WireReader(r.buf, payloadStart, payloadStart + n), f.message, payloadStart + n, index, depth + 1, out);
      r.pos = payloadStart + n;
    } else {
      const payloadStart = r.pos;
      r.skip(wt, tag >>> 3, depth);
      out.push({ ...base, lenStart: -1, payloadStart, end: r.pos });
    }
  }
}

/** Every field of a (well-formed) ModelProto, in file order. */
export function walkModel(bytes: Uint8Array): FieldSpan[] {
  const out: FieldSpan[] = [];
  walkInto(new WireReader(bytes), messageSpec("ModelProto"), bytes.length, -1, 0, out);
  return out;
}

/** Byte ranges that carry structure rather than bulk payload (raw_data, packed arrays, long strings). */
export function structuralRanges(bytes: Uint8Array, spans: readonly FieldSpan[]): [number, number][] {
  const blobs = spans
    .filter((s) => s.lenStart >= 0 && s.kind !== "message" && s.kind !== "unknown" && s.end - s.payloadStart > 32)
    .map((s) => [s.payloadStart, s.end] as const)
    .sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let at = 0;
  for (const [s, e] of blobs) {
    if (s > at) out.push([at, s]);
    at = Math.max(at, e);
  }
  if (at < bytes.length) out.push([at, bytes.length]);
  return out;
}

// ------------------------------------------------------------ byte helpers

export function uvarint(n: bigint): Uint8Array {
  const out: number[] = [];
  let x = n;
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Replaces field `spans[i]` (its whole extent, tag to end) with `replacement`
 * and re-encodes the length prefixes of every enclosing message, so that the
 * result is well-formed protobuf with one field removed, duplicated or changed.
 */
export function replaceField(bytes: Uint8Array, spans: readonly FieldSpan[], i: number, replacement: Uint8Array): Uint8Array {
  let child = spans[i]!;
  let inner = replacement;
  for (let p = child.parent; p >= 0; p = spans[p]!.parent) {
    const a = spans[p]!;
    const payload = concat(bytes.subarray(a.payloadStart, child.tagStart), inner, bytes.subarray(child.end, a.end));
    inner = concat(bytes.subarray(a.tagStart, a.lenStart), uvarint(BigInt(payload.length)), payload);
    child = a;
  }
  return concat(bytes.subarray(0, child.tagStart), inner, bytes.subarray(child.end));
}

// ------------------------------------------------------------ mutants

export interface Mutant {
  /** Mutation family, e.g. "truncate", "tensor:dims-huge". */
  readonly kind: string;
  /** What exactly was done, for failure reports. */
  readonly detail: string;
  readonly bytes: Uint8Array;
}

/** A source model, decoded and walked once. */
export interface Source {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly spans: readonly FieldSpan[];
  readonly structural: readonly [number, number][];
  readonly structuralTotal: number;
  readonly proto: ProtoMessage;
}

export function prepareSource(name: string, file: Uint8Array): Source {
  // A plain Uint8Array copy: Buffer#slice is a view, and mutants must never write into the source.
  const bytes = new Uint8Array(file);
  const spans = walkModel(bytes);
  const structural = structuralRanges(bytes, spans);
  return { name, bytes, spans, structural, structuralTotal: structural.reduce((n, [s, e]) => n + e - s, 0), proto: decodeMessage("ModelProto", bytes) };
}

/** A byte position, inside structure with probability `pStruct`, else anywhere. */
function position(rng: Rng, src: Source, pStruct = 0.85): number {
  if (src.structuralTotal > 0 && rng.chance(pStruct)) {
    let k = rng.int(src.structuralTotal);
    for (const [s, e] of src.structural) {
      if (k < e - s) return s + k;
      k -= e - s;
    }
  }
  return rng.int(src.bytes.length);
}

function boundary(rng: Rng, src: Source): number {
  const s = rng.pick(src.spans);
  const at = rng.pick([s.tagStart, s.lenStart >= 0 ? s.lenStart : s.payloadStart, s.payloadStart, s.end]);
  return Math.max(0, Math.min(src.bytes.length - 1, at + rng.range(-2, 2)));
}

type ByteMutator = (rng: Rng, src: Source) => { detail: string; bytes: Uint8Array } | undefined;

const LENGTH_VALUES: readonly [string, (n: number) => bigint][] = [
  ["2^32-1", () => 0xffffffffn],
  ["2^31", () => 0x80000000n],
  ["2^31-1", () => 0x7fffffffn],
  ["2^28", () => 0x10000000n],
  ["2^63", () => 1n << 63n],
  ["2^64-1", () => (1n << 64n) - 1n],
  ["len+1", (n) => BigInt(n + 1)],
  ["len-1", (n) => BigInt(Math.max(0, n - 1))],
  ["len*2+7", (n) => BigInt(n * 2 + 7)],
  ["0", () => 0n],
];

const byteMutators: Record<string, ByteMutator> = {
  truncate(rng, src) {
    const cut = rng.chance(0.5) ? boundary(rng, src) : rng.int(src.bytes.length);
    return { detail: `truncated to ${cut} of ${src.bytes.length} bytes`, bytes: src.bytes.slice(0, cut) };
  },
  flip(rng, src) {
    const out = src.bytes.slice();
    const at: string[] = [];
    for (let k = rng.range(1, 4); k > 0; k--) {
      const p = position(rng, src);
      const x = rng.chance(0.5) ? 1 << rng.int(8) : rng.range(1, 255);
      out[p]! ^= x;
      at.push(`${p}^0x${x.toString(16)}`);
    }
    return { detail: `flipped bytes ${at.join(" ")}`, bytes: out };
  },
  "delete-bytes"(rng, src) {
    const s = position(rng, src);
    const n = rng.chance(0.7) ? rng.range(1, 8) : rng.range(9, 64);
    const e = Math.min(src.bytes.length, s + n);
    return { detail: `deleted bytes [${s}, ${e})`, bytes: concat(src.bytes.subarray(0, s), src.bytes.subarray(e)) };
  },
  "dup-bytes"(rng, src) {
    const s = position(rng, src);
    const e = Math.min(src.bytes.length, s + rng.range(1, 16));
    return { detail: `duplicated bytes [${s}, ${e})`, bytes: concat(src.bytes.subarray(0, e), src.bytes.subarray(s, e), src.bytes.subarray(e)) };
  },
  "delete-field"(rng, src) {
    const i = rng.int(src.spans.length);
    const s = src.spans[i]!;
    return { detail: `deleted field ${s.msg}.${s.field} at byte ${s.tagStart} (lengths fixed up)`, bytes: replaceField(src.bytes, src.spans, i, new Uint8Array(0)) };
  },
  "dup-field"(rng, src) {
    const i = rng.int(src.spans.length);
    const s = src.spans[i]!;
    const field = src.bytes.subarray(s.tagStart, s.end);
    return { detail: `duplicated field ${s.msg}.${s.field} at byte ${s.tagStart} (lengths fixed up)`, bytes: replaceField(src.bytes, src.spans, i, concat(field, field)) };
  },
  "varint-len"(rng, src) {
    const lens = src.spans.filter((s) => s.lenStart >= 0);
    const s = rng.pick(lens);
    const [label, value] = rng.pick(LENGTH_VALUES);
    const n = s.end - s.payloadStart;
    const v = value(n);
    // Half the time keep the prefix's byte width (padding with continuation bytes where the value allows).
    let enc = uvarint(v);
    const width = s.payloadStart - s.lenStart;
    if (rng.chance(0.5) && enc.length < width) {
      const padded = new Uint8Array(width);
      padded.set(enc);
      for (let k = 0; k < width - 1; k++) padded[k]! |= 0x80;
      enc = padded;
    }
    return {
      detail: `length of ${s.msg}.${s.field} at byte ${s.lenStart} set from ${n} to ${label} (${v})`,
      bytes: concat(src.bytes.subarray(0, s.lenStart), enc, src.bytes.subarray(s.payloadStart)),
    };
  },
  "overlong-len"(rng, src) {
    // Same value, more bytes: valid protobuf that every parser must accept. Enclosing lengths are fixed up.
    const candidates = src.spans.map((s, i) => [s, i] as const).filter(([s]) => s.lenStart >= 0);
    const [s, i] = rng.pick(candidates);
    const n = s.end - s.payloadStart;
    const enc = uvarint(BigInt(n));
    const pad = rng.range(1, 10 - enc.length > 0 ? 10 - enc.length : 1);
    const padded = new Uint8Array(enc.length + pad);
    padded.set(enc);
    for (let k = 0; k < padded.length - 1; k++) padded[k]! |= 0x80;
    if (padded.length > 10) return undefined;
    const field = concat(src.bytes.subarray(s.tagStart, s.lenStart), padded, src.bytes.subarray(s.payloadStart, s.end));
    return { detail: `length of ${s.msg}.${s.field} at byte ${s.lenStart} re-encoded in ${padded.length} bytes`, bytes: replaceField(src.bytes, src.spans, i, field) };
  },
  wiretype(rng, src) {
    const s = rng.pick(src.spans);
    const out = src.bytes.slice();
    const old = out[s.tagStart]! & 7;
    let wt = rng.int(8);
    if (wt === old) wt = (wt + 1) & 7;
    out[s.tagStart] = (out[s.tagStart]! & ~7) | wt;
    return { detail: `wire type of ${s.msg}.${s.field} at byte ${s.tagStart} changed ${old}→${wt}`, bytes: out };
  },
};

// ------------------------------------------------------------ structured

type P = ProtoMessage;

/** Deep copy of a decoded message; byte and typed arrays are shared (mutators replace them, never write into them). */
export function cloneProto<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneProto) as T;
  if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = cloneProto((v as Record<string, unknown>)[k]);
    return o as T;
  }
  return v;
}

const list = (m: P, f: string): P[] => {
  let v = m[f] as P[] | undefined;
  if (!v) {
    v = [];
    m[f] = v;
  }
  return v;
};
const strings = (m: P, f: string): string[] => {
  let v = m[f] as string[] | undefined;
  if (!v) {
    v = [];
    m[f] = v;
  }
  return v;
};

/** Every GraphProto in the model (main graph first, then subgraphs). */
function graphsOf(model: P): P[] {
  const out: P[] = [];
  const visit = (g: P) => {
    out.push(g);
    for (const n of list(g, "node")) {
      for (const a of list(n, "attribute")) {
        if (a["g"]) visit(a["g"] as P);
        for (const sg of (a["graphs"] as P[] | undefined) ?? []) visit(sg);
      }
    }
  };
  if (model["graph"]) visit(model["graph"] as P);
  return out;
}

/** A graph: the main one most of the time. */
function someGraph(rng: Rng, model: P): P | undefined {
  const gs = graphsOf(model);
  if (gs.length === 0) return undefined;
  return rng.chance(0.8) ? gs[0] : rng.pick(gs);
}

interface TensorRef {
  readonly tensor: P;
  readonly where: string;
}

/** Every TensorProto: initializers and attribute tensors (Constant values). */
function tensorsOf(model: P): TensorRef[] {
  const out: TensorRef[] = [];
  for (const g of graphsOf(model)) {
    for (const t of list(g, "initializer")) out.push({ tensor: t, where: `initializer '${t["name"] ?? ""}'` });
    for (const n of list(g, "node")) {
      for (const a of list(n, "attribute")) {
        if (a["t"]) out.push({ tensor: a["t"] as P, where: `attribute '${a["name"]}' of node '${n["name"] ?? n["op_type"]}'` });
        for (const t of (a["tensors"] as P[] | undefined) ?? []) out.push({ tensor: t, where: `attribute '${a["name"]}'` });
      }
    }
  }
  return out;
}

function dimsOf(t: P): (number | bigint)[] {
  return [...((t["dims"] as (number | bigint)[] | undefined) ?? [])];
}

function hasData(t: P): boolean {
  const raw = t["raw_data"] as Uint8Array | undefined;
  if (raw && raw.length > 0) return true;
  for (const f of ["float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"]) {
    const v = t[f] as ArrayLike<unknown> | undefined;
    if (v && v.length > 0) return true;
  }
  return false;
}

/** Tensors that carry data and are not strings; with `raw`, only raw_data ones. */
function dataTensors(model: P, raw = false): TensorRef[] {
  return tensorsOf(model).filter(({ tensor: t }) => hasData(t) && t["data_type"] !== 8 && (!raw || t["raw_data"] !== undefined));
}

type StructMutator = (rng: Rng, model: P) => string | undefined;

function tensorMutator(raw: boolean, f: (rng: Rng, t: P) => string | undefined): StructMutator {
  return (rng, model) => {
    const ts = dataTensors(model, raw);
    if (ts.length === 0) return undefined;
    const { tensor, where } = rng.pick(ts);
    const d = f(rng, tensor);
    return d === undefined ? undefined : `${where}: ${d}`;
  };
}

const DTYPE_UNKNOWN = [99, 0, -5, 29, 1000, 0x7fffffff];

const tensorMutators: Record<string, StructMutator> = {
  "dims-2^20x2^20": tensorMutator(false, (_rng, t) => {
    t["dims"] = [1 << 20, 1 << 20];
    t["raw_data"] = new Uint8Array(16);
    for (const f of ["float_data", "int32_data", "int64_data", "double_data", "uint64_data"]) delete t[f];
    return "dims [2^20,2^20] with 16 bytes of raw_data";
  }),
  "dims-int64-huge": tensorMutator(false, (rng, t) => {
    const v = rng.pick([1n << 62n, (1n << 63n) - 1n, -(1n << 63n), 2n ** 53n]);
    const dims = dimsOf(t);
    dims[dims.length === 0 ? 0 : rng.int(dims.length)] = v;
    t["dims"] = dims;
    return `dims [${dims.join(",")}]`;
  }),
  "dims-negative": tensorMutator(false, (rng, t) => {
    const dims = dimsOf(t);
    dims[dims.length === 0 ? 0 : rng.int(dims.length)] = rng.pick([-1, -2, -(2 ** 31)]);
    t["dims"] = dims;
    return `dims [${dims.join(",")}]`;
  }),
  "dims-mismatch": tensorMutator(false, (rng, t) => {
    const dims = dimsOf(t);
    // Changes big enough to change the byte size of sub-byte types too (INT4 [3] and [4] both take 2 bytes).
    const how = rng.int(4);
    if (how === 0 && dims.length > 0) {
      const k = rng.int(dims.length);
      dims[k] = Number(dims[k]) + 8;
    } else if (how === 1) dims.push(rng.range(9, 12));
    else if (how === 2 && dims.length > 0) dims[rng.int(dims.length)] = 0;
    else dims.push(3, 7);
    t["dims"] = dims;
    return `dims [${dims.join(",")}]`;
  }),
  "dims-overflow": tensorMutator(false, (_rng, t) => {
    t["dims"] = [2 ** 31, 2 ** 31, 2 ** 31];
    return "dims [2^31,2^31,2^31]";
  }),
  "dtype-unknown": tensorMutator(false, (rng, t) => {
    const v = rng.pick(DTYPE_UNKNOWN);
    t["data_type"] = v;
    return `data_type ${v}`;
  }),
  "dtype-swap": tensorMutator(false, (rng, t) => {
    const old = t["data_type"] as number;
    let v = rng.range(1, 28);
    if (v === old || v === 8) v = old === 1 ? 11 : 1;
    t["data_type"] = v;
    return `data_type ${old} → ${v}`;
  }),
  "raw-resize": tensorMutator(true, (rng, t) => {
    const raw = t["raw_data"] as Uint8Array;
    const how = rng.int(3);
    t["raw_data"] = how === 0 ? raw.subarray(0, raw.length - 1) : how === 1 ? concat(raw, new Uint8Array(rng.range(1, 8))) : new Uint8Array(0);
    return `raw_data ${raw.length} → ${(t["raw_data"] as Uint8Array).length} bytes`;
  }),
  "data-drop": tensorMutator(false, (_rng, t) => {
    for (const f of ["raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"]) delete t[f];
    return "all data fields removed";
  }),
  "typed-wrong": tensorMutator(false, (rng, t) => {
    const count = dimsOf(t).reduce<number>((n, d) => n * Number(d), 1);
    delete t["raw_data"];
    for (const f of ["float_data", "int32_data", "int64_data", "double_data", "uint64_data"]) delete t[f];
    if (rng.chance(0.5)) {
      t["float_data"] = new Float32Array(Math.max(0, Math.min(count, 4096) - 1));
      return `float_data with ${Math.max(0, Math.min(count, 4096) - 1)} entries for ${count} elements`;
    }
    t["int64_data"] = Array.from({ length: Math.min(count, 4096) }, () => 1);
    return `int64_data for data_type ${t["data_type"]}`;
  }),
  "string-count": tensorMutator(false, (rng, t) => {
    // A STRING tensor whose string_data disagrees with its dims (sometimes wildly).
    const count = dimsOf(t).reduce<number>((n, d) => n * Number(d), 1);
    for (const f of ["raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"]) delete t[f];
    t["data_type"] = 8;
    if (rng.chance(0.5)) t["dims"] = [1 << 20, 1 << 20];
    const n = count === 1 ? 2 : 1;
    t["string_data"] = Array.from({ length: n }, (_, k) => new TextEncoder().encode(`s${k}`));
    return `STRING with ${n} string_data entries for dims [${dimsOf(t).join(",")}]`;
  }),
  "external-missing": tensorMutator(false, (rng, t) => {
    for (const f of ["raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"]) delete t[f];
    t["data_location"] = 1;
    const location = rng.pick(["fuzz-missing.bin", "../../etc/passwd", "/etc/hostname", ""]);
    t["external_data"] = rng.chance(0.8) ? [{ key: "location", value: location }, { key: "offset", value: rng.pick(["0", "-4", "1e9"]) }] : [];
    return `data_location EXTERNAL, location '${location}'`;
  }),
};

function nodeList(g: P): P[] {
  return list(g, "node");
}
function inputNames(g: P): string[] {
  const inits = new Set(list(g, "initializer").map((t) => t["name"] as string));
  return list(g, "input")
    .map((v) => v["name"] as string)
    .filter((n) => !inits.has(n));
}

function graphMutator(f: (rng: Rng, g: P, model: P) => string | undefined): StructMutator {
  return (rng, model) => {
    const g = someGraph(rng, model);
    return g ? f(rng, g, model) : undefined;
  };
}

function withNodes(min: number, f: (rng: Rng, g: P, nodes: P[]) => string | undefined): StructMutator {
  return graphMutator((rng, g) => {
    const nodes = nodeList(g);
    return nodes.length >= min ? f(rng, g, nodes) : undefined;
  });
}

const nodeLabel = (n: P, i: number) => `node #${i} '${n["name"] ?? ""}' (${n["op_type"]})`;

const graphMutators: Record<string, StructMutator> = {
  "input-dangling": withNodes(1, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    const ins = strings(nodes[i]!, "input");
    const k = ins.length > 0 ? rng.int(ins.length) : 0;
    ins[k] = `fuzz_dangling_${rng.int(1000)}`;
    return `${nodeLabel(nodes[i]!, i)} input ${k} → '${ins[k]}'`;
  }),
  "output-dup-node": withNodes(2, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    let j = rng.int(nodes.length - 1);
    if (j >= i) j++;
    const src = strings(nodes[j]!, "output")[0];
    if (!src) return undefined;
    strings(nodes[i]!, "output")[0] = src;
    return `${nodeLabel(nodes[i]!, i)} output 0 → '${src}' (also produced by #${j})`;
  }),
  "output-dup-input": withNodes(1, (rng, g, nodes) => {
    const ins = inputNames(g);
    if (ins.length === 0) return undefined;
    const i = rng.int(nodes.length);
    strings(nodes[i]!, "output")[0] = ins[0]!;
    return `${nodeLabel(nodes[i]!, i)} output 0 → graph input '${ins[0]}'`;
  }),
  "initializer-dup": graphMutator((rng, g) => {
    const inits = list(g, "initializer");
    if (inits.length === 0) return undefined;
    const t = rng.pick(inits);
    inits.push(cloneProto(t));
    return `initializer '${t["name"]}' listed twice`;
  }),
  "initializer-shadow": withNodes(1, (rng, g, nodes) => {
    const inits = list(g, "initializer");
    if (inits.length === 0) return undefined;
    const t = rng.pick(inits);
    const out = strings(rng.pick(nodes), "output")[0];
    if (!out) return undefined;
    const old = t["name"];
    t["name"] = out;
    return `initializer '${old}' renamed to node output '${out}'`;
  }),
  "initializer-remove": graphMutator((rng, g) => {
    const inits = list(g, "initializer");
    if (inits.length === 0) return undefined;
    const [t] = inits.splice(rng.int(inits.length), 1);
    return `initializer '${t!["name"]}' removed`;
  }),
  "initializer-rename-empty": graphMutator((rng, g) => {
    const inits = list(g, "initializer");
    if (inits.length === 0) return undefined;
    const t = rng.pick(inits);
    const old = t["name"];
    t["name"] = "";
    return `initializer '${old}' renamed to ''`;
  }),
  "graph-output-dangling": graphMutator((rng, g) => {
    const outs = list(g, "output");
    if (outs.length === 0) return undefined;
    const o = rng.pick(outs);
    const old = o["name"];
    o["name"] = `fuzz_missing_output_${rng.int(1000)}`;
    return `graph output '${old}' renamed to '${o["name"]}'`;
  }),
  "graph-output-dup": graphMutator((rng, g) => {
    const outs = list(g, "output");
    if (outs.length === 0) return undefined;
    const o = rng.pick(outs);
    outs.push(cloneProto(o));
    return `graph output '${o["name"]}' listed twice`;
  }),
  "graph-input-remove": graphMutator((rng, g) => {
    const ins = inputNames(g);
    if (ins.length === 0) return undefined;
    const name = rng.pick(ins);
    g["input"] = list(g, "input").filter((v) => v["name"] !== name);
    return `graph input '${name}' removed`;
  }),
  "graph-input-dup": graphMutator((rng, g) => {
    const ins = list(g, "input");
    if (ins.length === 0) return undefined;
    const v = rng.pick(ins);
    ins.push(cloneProto(v));
    return `graph input '${v["name"]}' listed twice`;
  }),
  "cycle-self": withNodes(1, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    const out = strings(nodes[i]!, "output")[0];
    if (!out) return undefined;
    const ins = strings(nodes[i]!, "input");
    ins[ins.length > 0 ? 0 : 0] = out;
    return `${nodeLabel(nodes[i]!, i)} input 0 → its own output '${out}'`;
  }),
  "cycle-pair": withNodes(2, (rng, _g, nodes) => {
    // Find a direct edge i → j and add j → i.
    const producer = new Map<string, number>();
    nodes.forEach((n, i) => {
      for (const o of strings(n, "output")) producer.set(o, i);
    });
    const edges: [number, number][] = [];
    nodes.forEach((n, j) => {
      for (const x of strings(n, "input")) {
        const i = producer.get(x);
        if (i !== undefined && i !== j) edges.push([i, j]);
      }
    });
    if (edges.length === 0) return undefined;
    const [i, j] = rng.pick(edges);
    const back = strings(nodes[j]!, "output")[0]!;
    const ins = strings(nodes[i]!, "input");
    const k = ins.length > 0 ? rng.int(ins.length) : 0;
    ins[k] = back;
    return `${nodeLabel(nodes[i]!, i)} input ${k} → '${back}', output of its consumer #${j}`;
  }),
  "cycle-long": withNodes(3, (_rng, _g, nodes) => {
    const last = strings(nodes[nodes.length - 1]!, "output")[0];
    if (!last) return undefined;
    const ins = strings(nodes[0]!, "input");
    ins[0] = last;
    return `${nodeLabel(nodes[0]!, 0)} input 0 → '${last}', output of the last node`;
  }),
  "node-delete": withNodes(1, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    const [n] = nodes.splice(i, 1);
    return `${nodeLabel(n!, i)} removed`;
  }),
  "node-dup": withNodes(1, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    nodes.splice(i + 1, 0, cloneProto(nodes[i]!));
    return `${nodeLabel(nodes[i]!, i)} duplicated`;
  }),
  "node-swap": withNodes(2, (rng, _g, nodes) => {
    const i = rng.int(nodes.length - 1);
    const j = rng.range(i + 1, nodes.length - 1);
    [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
    return `nodes #${i} and #${j} swapped`;
  }),
  "node-reverse": withNodes(2, (_rng, _g, nodes) => {
    nodes.reverse();
    return "node order reversed";
  }),
  "node-output-empty": withNodes(1, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    strings(nodes[i]!, "output")[0] = "";
    return `${nodeLabel(nodes[i]!, i)} output 0 → ''`;
  }),
  "node-name-dup": withNodes(2, (_rng, _g, nodes) => {
    nodes[1]!["name"] = nodes[0]!["name"] ?? "fuzz_same";
    nodes[0]!["name"] = nodes[1]!["name"];
    return `nodes #0 and #1 both named '${nodes[0]!["name"]}'`;
  }),
  "optype-unknown": withNodes(1, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    const old = nodes[i]!["op_type"];
    nodes[i]!["op_type"] = rng.pick(["FuzzNoSuchOp", "", "conv"]);
    return `${nodeLabel(nodes[i]!, i)} op_type '${old}' → '${nodes[i]!["op_type"]}'`;
  }),
  "domain-unknown": withNodes(1, (rng, _g, nodes) => {
    const i = rng.int(nodes.length);
    nodes[i]!["domain"] = "fuzz.domain";
    return `${nodeLabel(nodes[i]!, i)} domain → 'fuzz.domain'`;
  }),
  "attr-type-bad": withNodes(1, (rng, _g, nodes) => {
    const withAttrs = nodes.filter((n) => list(n, "attribute").length > 0);
    if (withAttrs.length === 0) return undefined;
    const n = rng.pick(withAttrs);
    const a = rng.pick(list(n, "attribute"));
    const v = rng.pick([99, 0, -1, 5, 1]);
    a["type"] = v;
    return `attribute '${a["name"]}' of node '${n["name"] ?? ""}' type → ${v}`;
  }),
  "attr-drop": withNodes(1, (rng, _g, nodes) => {
    const withAttrs = nodes.filter((n) => list(n, "attribute").length > 0);
    if (withAttrs.length === 0) return undefined;
    const n = rng.pick(withAttrs);
    n["attribute"] = [];
    return `attributes of node '${n["name"] ?? ""}' removed`;
  }),
  "attr-dup": withNodes(1, (rng, _g, nodes) => {
    const withAttrs = nodes.filter((n) => list(n, "attribute").length > 0);
    if (withAttrs.length === 0) return undefined;
    const n = rng.pick(withAttrs);
    const attrs = list(n, "attribute");
    const a = rng.pick(attrs);
    attrs.push(cloneProto(a));
    return `attribute '${a["name"]}' of node '${n["name"] ?? ""}' listed twice`;
  }),
  "elemtype-input": graphMutator((rng, g) => {
    const ins = list(g, "input").filter((v) => (v["type"] as P | undefined)?.["tensor_type"]);
    if (ins.length === 0) return undefined;
    const v = rng.pick(ins);
    const tt = (v["type"] as P)["tensor_type"] as P;
    const e = rng.pick([99, 0, 11, 7, -3]);
    tt["elem_type"] = e;
    return `graph input '${v["name"]}' elem_type → ${e}`;
  }),
  "elemtype-output": graphMutator((rng, g) => {
    const outs = list(g, "output").filter((v) => (v["type"] as P | undefined)?.["tensor_type"]);
    if (outs.length === 0) return undefined;
    const v = rng.pick(outs);
    const tt = (v["type"] as P)["tensor_type"] as P;
    const e = rng.pick([11, 7, 99, 0]);
    tt["elem_type"] = e;
    return `graph output '${v["name"]}' elem_type → ${e}`;
  }),
  "name-control-chars": graphMutator((rng, g) => {
    // A value name with a newline, a carriage return and a terminal escape, then left dangling.
    const outs = list(g, "output");
    if (outs.length === 0) return undefined;
    const o = rng.pick(outs);
    o["name"] = rng.pick(["evil\nsecond line", "evil\rerror: spoofed", "evil\u001b[2K\u001b[31mred", "tab\there\u0000nul"]);
    return `graph output renamed to ${JSON.stringify(o["name"])}`;
  }),
  "shape-dim-bad": graphMutator((rng, g) => {
    const vs = [...list(g, "input"), ...list(g, "output")].filter((v) => ((v["type"] as P | undefined)?.["tensor_type"] as P | undefined)?.["shape"]);
    if (vs.length === 0) return undefined;
    const v = rng.pick(vs);
    const dims = list(((v["type"] as P)["tensor_type"] as P)["shape"] as P, "dim");
    if (dims.length === 0) return undefined;
    const d = rng.pick(dims);
    delete d["dim_param"];
    d["dim_value"] = rng.pick([-5, 0, 2 ** 40, 7]);
    return `a dim of '${v["name"]}' → ${d["dim_value"]}`;
  }),
};

const modelMutators: Record<string, StructMutator> = {
  "opset-bad": (rng, model) => {
    const ops = list(model, "opset_import");
    const how = rng.int(3);
    if (how === 0) model["opset_import"] = [];
    else if (how === 1) for (const o of ops) o["version"] = 1000;
    else ops.push({ domain: "", version: 1 });
    return ["opset_import removed", "opset versions → 1000", "second default-domain opset_import (version 1)"][how];
  },
  "ir-version-bad": (rng, model) => {
    const v = rng.pick([0, 99, -1, 2]);
    model["ir_version"] = v;
    return `ir_version → ${v}`;
  },
  "graph-drop": (_rng, model) => {
    delete model["graph"];
    return "graph removed";
  },
};

/** Mutation families, each with a weight (how many mutants per source, relative). */
export const MUTATION_KINDS: readonly { kind: string; weight: number }[] = [
  ...Object.keys(byteMutators).map((k) => ({ kind: `bytes:${k}`, weight: k === "truncate" || k === "flip" ? 6 : 3 })),
  ...Object.keys(tensorMutators).map((k) => ({ kind: `tensor:${k}`, weight: 2 })),
  ...Object.keys(graphMutators).map((k) => ({ kind: `graph:${k}`, weight: 1 })),
  ...Object.keys(modelMutators).map((k) => ({ kind: `model:${k}`, weight: 1 })),
];

/** One mutant of `kind`, or undefined when the kind does not apply to this source (e.g. no initializers). */
export function mutate(rng: Rng, src: Source, kind: string): Mutant | undefined {
  const [family, name] = kind.split(":") as [string, string];
  if (family === "bytes") {
    const r = byteMutators[name]!(rng, src);
    return r && { kind, ...r };
  }
  const f = (family === "tensor" ? tensorMutators : family === "graph" ? graphMutators : modelMutators)[name]!;
  const model = cloneProto(src.proto);
  const detail = f(rng, model);
  if (detail === undefined) return undefined;
  return { kind, detail, bytes: encodeMessage("ModelProto", model) };
}

/**
 * `count` mutants of `src`, spread over the kinds by weight, in a fixed order.
 * Generated lazily: sources can be large and mutants are checked one at a time.
 */
export function* mutants(rng: Rng, src: Source, count: number): Generator<Mutant> {
  const total = MUTATION_KINDS.reduce((n, k) => n + k.weight, 0);
  const plan: string[] = [];
  for (const { kind, weight } of MUTATION_KINDS) {
    const n = Math.max(1, Math.round((count * weight) / total));
    for (let i = 0; i < n; i++) plan.push(kind);
  }
  // Interleave the kinds, so that any prefix of the sequence (e.g. what an oracle budget covers) has all of them.
  for (let i = plan.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  for (const kind of plan) {
    for (let attempt = 0; attempt < 4; attempt++) {
      const m = mutate(rng, src, kind);
      if (m) {
        yield m;
        break;
      }
    }
  }
}
