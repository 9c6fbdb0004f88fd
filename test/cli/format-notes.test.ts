/**
 * A QDQ file without format annotations (as another tool writes it): the
 * integer commands and the re-export say which weight formats they inferred
 * from the stored codes, and the re-export records them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quantAnnotations, withQuantAnnotations } from "../../src/ir/annotations.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { fixq } from "../helpers/fixq-cli.js";
import { quantizedCnn, ternaryWeight } from "../helpers/qdq-models.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-notes-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bare = join(tmp, "bare.onnx");
let codes = "";

beforeAll(async () => {
  const { quantized } = await quantizedCnn();
  const conv = quantized.graph!.nodes.find((n) => n.opType === "Conv")!;
  const m = ternaryWeight(quantized, conv.name!); // codes in {-32, 0, 32}: int7
  codes = m.graph!.nodes.find((d) => d.outputs[0] === conv.inputs[1])!.inputs[0]!;
  saveModel({ ...m, graph: withQuantAnnotations(m.graph!, new Map()) }, bare);
}, 120_000);

describe("formats inferred from the codes", () => {
  it("fixq compile prints a note naming the weight and the format it read", () => {
    const r = fixq("compile", bare, "--target", "js", "-o", join(tmp, "js"));
    expect(r.status, r.stderr).toBe(0);
    const notes = r.stderr.split("\n").filter((l) => l.includes("note"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(`'${codes}'`);
    expect(notes[0]).toContain("read as int7");
  });

  it("fixq quantize re-exports it with the inferred format recorded, and says so", () => {
    const out = join(tmp, "reexported.onnx");
    const r = fixq("quantize", bare, "-o", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note {2}weight '.*' \(int8 codes in \[-32, 32\]\) has no format annotation; read as int7/);
    const formats = [...quantAnnotations(loadModel(out).graph!).values()].map((e) => e.get("fixq_format"));
    expect(formats).toContain("int7");
  });
});
