/**
 * File kinds read from the first bytes: a PyTorch checkpoint (a zip whose
 * first member is `<name>/data.pkl`, or an old-style pickle) is not a NumPy
 * .npz, and the line says so, whether it is given as data or as a model.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkDataFile, fileKind, notAModel } from "../../src/cli/file-kinds.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-file-kinds-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const at = (name: string) => join(tmp, name);

/** A zip local file header (PK\x03\x04, stored, no data) for one member, as the start of an archive. */
function zipStart(member: string): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(Buffer.byteLength(member, "latin1"), 26);
  return Buffer.concat([h, Buffer.from(member, "latin1"), Buffer.alloc(64)]);
}

writeFileSync(at("ckpt.pt"), zipStart("ckpt/data.pkl"));
writeFileSync(at("model.pt"), zipStart("model/data.pkl"));
writeFileSync(at("old.pt"), Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
writeFileSync(at("x.npz"), zipStart("x.npy"));
writeFileSync(at("renamed.pt"), zipStart("input_ids.npy"));

describe("fileKind", () => {
  it("tells a torch.save zip and a pickle from an .npz", () => {
    expect(fileKind(at("ckpt.pt"))).toBe("torch");
    expect(fileKind(at("old.pt"))).toBe("pickle");
    expect(fileKind(at("x.npz"))).toBe("npz");
    expect(fileKind(at("renamed.pt"))).toBe("npz");
  });

  it("says what a checkpoint is, as data and as a model", () => {
    expect(() => checkDataFile(at("ckpt.pt"), "--calib")).toThrow(/--calib .*ckpt\.pt: is a PyTorch checkpoint \(torch\.save\); expected NumPy data: .* np\.save\(f, t\.numpy\(\)\)/);
    expect(() => checkDataFile(at("old.pt"), "--data")).toThrow(/is a Python pickle \(torch\.save before PyTorch 1\.6, or pickle\.dump\); expected NumPy data/);
    // an .npz under another name is still one
    expect(() => checkDataFile(at("renamed.pt"), "--calib")).toThrow(/is a NumPy \.npz archive but named '\.pt'; rename it to \.npz/);
    expect(notAModel(at("ckpt.pt"))).toBe("is a PyTorch checkpoint (torch.save), not an ONNX model: export the module with torch.onnx.export first");
    expect(notAModel(at("x.npz"))).toBe("is a NumPy .npz archive, not an ONNX model");
  });
});

describe("the CLI on a checkpoint", () => {
  it("one line naming the file and what it is, exit 1", async () => {
    for (const r of [await fixqMain("inspect", at("model.pt")), await fixqMain("quantize", at("model.pt"), "-o", at("q.onnx"), "--calib", at("x.npz"))]) {
      expect(r.status).toBe(1);
      expect(r.stderr.trimEnd().split("\n")).toEqual([`error: ${at("model.pt")}: is a PyTorch checkpoint (torch.save), not an ONNX model: export the module with torch.onnx.export first`]);
    }
    const c = await fixqMain("quantize", join(MODELS_DIR, "cnn.onnx"), "-o", at("q.onnx"), "--calib", at("ckpt.pt"));
    expect(c.status).toBe(1);
    expect(c.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(c.stderr).toMatch(/^error: --calib .*ckpt\.pt: is a PyTorch checkpoint/);
  });
});
