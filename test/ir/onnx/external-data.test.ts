import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FixqError } from "../../../src/ir/errors.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { saveModel } from "../../../src/ir/onnx/save.js";
import { tensorBytes } from "../../../src/ir/tensor.js";
import { parseNpy } from "../../../src/io/npy.js";
import { OrtSession } from "../../../src/runtime/ort-session.js";

const DIR = "test/fixtures/onnx/external";
const tmp = mkdtempSync(join(tmpdir(), "fixq-ext-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function runOnce(path: string): Promise<Uint8Array> {
  const input = parseNpy(readFileSync(`${DIR}/model.input.npy`));
  const session = await OrtSession.create(loadModel(path), { threads: 1 });
  const out = await session.run({ [session.inputNames[0]!]: { dtype: 1, dims: input.shape, data: input.data as Float32Array } });
  await session.release();
  const y = Object.values(out)[0]!.data as Float32Array;
  return new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
}

describe("external data", () => {
  it("reads location, offset and length lazily, and honours a missing length", () => {
    const m = loadModel(`${DIR}/model.onnx`);
    const ext = m.graph!.initializers.filter((t) => t.external);
    expect(ext.length).toBe(3);
    expect(ext.some((t) => t.external!.length === undefined)).toBe(true);
    for (const t of ext) expect(tensorBytes(t).length).toBeGreaterThan(0);
  });

  it("refuses absolute, '..' and symlinked locations that leave the model's folder", () => {
    const cases: [string, RegExp][] = [
      ["hostile-abs.onnx", /absolute/],
      ["hostile-dotdot.onnx", /escapes the model's folder/],
      ["hostile-symlink.onnx", /outside the model's folder/],
    ];
    for (const [name, msg] of cases) {
      let err: unknown;
      try {
        loadModel(`${DIR}/${name}`);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(FixqError);
      expect((err as FixqError).code).toBe("external-data");
      expect((err as FixqError).message).toMatch(msg);
      expect((err as FixqError).message).toMatch(/tensor '/);
    }
  });

  it("saves with kept, thresholded and inlined external data; ORT outputs stay bit-identical", async () => {
    const ref = await runOnce(`${DIR}/model.onnx`);
    const model = loadModel(`${DIR}/model.onnx`);
    const kept = join(tmp, "kept.onnx");
    expect(saveModel(model, kept).dataFile).toBe("kept.onnx.data");
    const inline = join(tmp, "inline.onnx");
    expect(saveModel(model, inline, { externalData: "inline" }).dataFile).toBeUndefined();
    const all = join(tmp, "all.onnx");
    saveModel(model, all, { externalData: { threshold: 0 } });
    for (const p of [kept, inline, all]) expect(Buffer.compare(await runOnce(p), ref), p).toBe(0);
    // the external offsets are aligned and the data file holds exactly what was referenced
    const re = loadModel(all);
    for (const t of re.graph!.initializers) if (t.external) expect(t.external.offset % 64).toBe(0);
    expect(statSync(join(tmp, "all.onnx.data")).size).toBeGreaterThan(0);
    // no temp files left behind
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("switches to external data by itself when the model would pass the size limit", async () => {
    const ref = await runOnce(`${DIR}/model.onnx`);
    const model = loadModel(`${DIR}/model.onnx`);
    const big = join(tmp, "big.onnx");
    // 200 bytes stands in for protobuf's 2 GiB limit
    const r = saveModel(model, big, { externalData: { threshold: 1 << 30 }, maxModelBytes: 200 });
    expect(r.dataFile).toBe("big.onnx.data");
    expect(statSync(big).size).toBeLessThanOrEqual(400);
    expect(Buffer.compare(await runOnce(big), ref)).toBe(0);
    expect(() => saveModel(model, join(tmp, "never.onnx"), { externalData: "inline", maxModelBytes: 200 })).toThrow(/over the 200-byte limit/);
    expect(existsSync(join(tmp, "never.onnx"))).toBe(false);
  });

  it("refuses to overwrite the input's external data file, leaving the input untouched", () => {
    const copy = join(tmp, "copy");
    cpSync(DIR, copy, { recursive: true, verbatimSymlinks: true });
    const before = readFileSync(join(copy, "weights-a.bin"));
    expect(() => saveModel(loadModel(join(copy, "model.onnx")), join(copy, "out.onnx"), { dataLocation: "weights-a.bin" })).toThrow(
      /would overwrite the input's external data/,
    );
    expect(Buffer.compare(readFileSync(join(copy, "weights-a.bin")), before)).toBe(0);
    expect(existsSync(join(copy, "out.onnx"))).toBe(false);
    expect(readdirSync(copy).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });
});
