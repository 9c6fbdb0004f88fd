/**
 * Lossless ONNX I/O, judged against a fixture built by an independent
 * implementation (Python onnx 1.23, IR 14; scripts/make_onnx_fixtures.py):
 * every field of every message set, plus unknown fields of every wire type.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, type ProtoMessage } from "../../../src/ir/onnx/codec.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { encodeModel } from "../../../src/ir/onnx/save.js";
import { onnxType } from "../../../src/ir/onnx/schema.js";
import { WireReader } from "../../../src/ir/onnx/wire.js";
import { withMetadata } from "../../../src/ir/graph.js";

const FIX = "test/fixtures/onnx";
const file = (name: string) => new Uint8Array(readFileSync(`${FIX}/${name}`));

interface MessageRow {
  path: string;
  type: string;
  fields: number[];
  unknown: number;
  unknownFields: [number, number][];
  byteSize: number;
}

/** Follows a path like "graph.node[0].attribute[3]" through a decoded message. */
function at(root: ProtoMessage, path: string): ProtoMessage {
  let cur: unknown = root;
  if (path === "") return root;
  for (const part of path.split(".")) {
    const m = /^([a-z_0-9]+)(?:\[(\d+)\])?$/.exec(part)!;
    cur = (cur as ProtoMessage)[m[1]!];
    if (m[2] !== undefined) cur = (cur as unknown[])[Number(m[2])];
  }
  return cur as ProtoMessage;
}

function knownFieldNumbers(typeName: string, msg: ProtoMessage): number[] {
  const type = onnxType(typeName.replace(/^onnx\./, ""));
  return type.fieldsArray
    .filter((f) => {
      const v = msg[f.name];
      return v !== undefined && !(f.repeated && (v as ArrayLike<unknown>).length === 0);
    })
    .map((f) => f.id)
    .sort((a, b) => a - b);
}

describe("every-field fixture (Python onnx, IR 14)", () => {
  const bytes = file("all-fields.onnx");

  it("re-encodes to identical bytes through the codec and through the IR", () => {
    expect(Buffer.compare(encodeMessage("ModelProto", decodeMessage("ModelProto", bytes)), bytes)).toBe(0);
    const model = loadModel(`${FIX}/all-fields.onnx`, { raw: true });
    expect(Buffer.compare(encodeModel(model, { keepExternalRefs: true }), bytes)).toBe(0);
  });

  it("decodes every field Python set as a known field, and only the synthetic ones as unknown", () => {
    const rows = (JSON.parse(readFileSync(`${FIX}/all-fields.json`, "utf8")) as { messages: MessageRow[] }).messages;
    expect(rows.length).toBeGreaterThan(100);
    const root = decodeMessage("ModelProto", bytes);
    for (const row of rows) {
      const msg = at(root, row.path);
      expect(knownFieldNumbers(row.type, msg), row.path).toEqual(row.fields);
      const unknown = (msg.$unknown ?? []).map((u) => {
        const tag = new WireReader(u).uint32();
        return [tag >>> 3, tag & 7];
      });
      expect(unknown, row.path).toEqual(row.unknownFields);
      expect(encodeMessage(row.type.replace(/^onnx\./, ""), msg).length, row.path).toBe(row.byteSize);
    }
  });

  it("keeps unknown fields of untouched messages when the model is edited", () => {
    const model = loadModel(`${FIX}/all-fields.onnx`, { raw: true });
    const edited = withMetadata(model, "fixq.test", "1");
    const re = decodeMessage("ModelProto", encodeModel(edited, { keepExternalRefs: true }));
    const orig = decodeMessage("ModelProto", bytes);
    expect(re.$unknown?.length).toBe(orig.$unknown?.length);
    expect(encodeMessage("GraphProto", re["graph"] as ProtoMessage)).toEqual(encodeMessage("GraphProto", orig["graph"] as ProtoMessage));
    const props = re["metadata_props"] as ProtoMessage[];
    expect(props.at(-1)).toEqual({ key: "fixq.test", value: "1" });
  });
});

describe("schema", () => {
  it("matches the field numbers, types and labels of Python onnx's descriptors", () => {
    const facts = JSON.parse(readFileSync(`${FIX}/onnx-schema-facts.json`, "utf8")) as {
      files: Record<string, { messages: Record<string, { fields: Record<string, { number: number; type: string; label: string; packed?: boolean }> }> }>;
    };
    const messages = Object.values(facts.files)[0]!.messages;
    let checked = 0;
    for (const [full, m] of Object.entries(messages)) {
      const type = onnxType(full.replace(/^onnx\./, ""));
      const ours = Object.fromEntries(type.fieldsArray.map((f) => [f.name, f]));
      expect(Object.keys(ours).sort(), full).toEqual(Object.keys(m.fields).sort());
      for (const [name, f] of Object.entries(m.fields)) {
        const o = ours[name]!;
        expect(o.id, `${full}.${name}`).toBe(f.number);
        expect(o.repeated, `${full}.${name}`).toBe(f.label === "repeated");
        if (f.packed !== undefined) expect(o.repeated && o.packed, `${full}.${name} packed`).toBe(f.packed);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe("non-canonical wire encodings", () => {
  // Byte identity is impossible here: protobuf's own serializers reorder fields and merge
  // repeated singular fields too. The values must survive (an empty packed field reads as absent).
  it("decodes fields out of order, unpacked packed fields and repeated singular fields to the same values", () => {
    const bytes = file("wire-edge-cases.onnx");
    const first = decodeMessage("ModelProto", bytes);
    const again = decodeMessage("ModelProto", encodeMessage("ModelProto", first));
    const strip = (m: ProtoMessage) => JSON.parse(JSON.stringify(m, (k, v) => (k === "$packing" || (Array.isArray(v) && v.length === 0) ? undefined : typeof v === "bigint" ? `${v}` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)));
    expect(strip(again)).toEqual(strip(first));
  });
});

describe("runnable model with newer fields", () => {
  it("re-encodes identically (IR 13, opset 26, FP8/INT4 initializers, local function, If)", () => {
    const bytes = file("runnable-newer.onnx");
    expect(Buffer.compare(encodeModel(loadModel(`${FIX}/runnable-newer.onnx`)), bytes)).toBe(0);
  });
});
