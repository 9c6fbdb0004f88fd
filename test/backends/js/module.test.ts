/**
 * The generated module as a product: self-contained (no import/require, no
 * Node or browser globals), runs in a plain `node` process, exposes its
 * metadata and declared API, validates its arguments, chunks batches without
 * changing a bit, and refuses programs it cannot run. Plus a golden file of
 * the emitted text for one small program (UPDATE_GOLDEN=1 rewrites it).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { emitJsModule, emitJsModuleText } from "../../../src/backends/js/emit.js";
import type { Program } from "../../../src/integer/program.js";
import { quantizeMultiplier } from "../../../src/numerics/requant.js";
import { Rng } from "../../helpers/prng.js";
import { floatInputs, mismatches } from "./compare.js";
import { cleanupModules, importProgram } from "./load-module.js";
import { I8, ProgramBuilder, randomInts, U8 } from "./program-builder.js";

afterAll(cleanupModules);

const HERE = dirname(fileURLToPath(import.meta.url));
const GOLDEN = join(HERE, "golden", "small.mjs");

/** conv → requant → maxpool → reshape → dense → requant, and a second input through a rescale: one of every common op. */
function smallProgram(): Program {
  const rng = new Rng(7);
  const b = new ProgramBuilder("single");
  const x = b.input([1, 6, 6], U8, Math.fround(1 / 255), 0);
  const c = b.conv(x, { inputZero: 0, weight: randomInts(rng, 2 * 9, -127, 127), weightShape: [2, 1, 3, 3], bias: randomInts(rng, 2, -300, 300), strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
  const r = b.requant(c, [quantizeMultiplier(0.004), quantizeMultiplier(0.0031)], 0, I8, -128);
  const mp = b.pool("maxpool", r, { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] });
  const flat = b.reshape(mp, [18]);
  const d = b.dense(flat, -128, randomInts(rng, 18 * 3, -127, 127), 3, randomInts(rng, 3, -100, 100));
  b.output(b.requant(d, [quantizeMultiplier(0.01), quantizeMultiplier(0.02), quantizeMultiplier(0.015)], 0, I8, 3), 0.25);
  const y = b.input([3], I8, 0.5, -1);
  b.output(b.rescale([y], { inputZeros: [-1], multipliers: [3 << 20], shift: 21, outZero: 0 }, I8), 0.25);
  return b.build();
}

describe("the generated module", () => {
  it("is self-contained: no import or require, no host globals", () => {
    const text = emitJsModuleText(smallProgram());
    expect(text).not.toMatch(/\bimport\b|\brequire\b/);
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""); // comments out
    expect(code).not.toMatch(/\b(process|Buffer|globalThis|self|window|document|atob|btoa|eval)\b|new Function/);
    expect(text.match(/^export (const|function) \w+/gm)).toEqual([
      "export const inputs",
      "export const outputs",
      "export const rounding",
      "export function runAll",
      "export function runAllInt",
      "export function run",
      "export function runInt",
    ]);
  });

  it("runs in a plain node process and gives what it gives in-process", async () => {
    const p = smallProgram();
    const { mod } = await importProgram(p);
    const rng = new Rng(1);
    const x = floatInputs(rng, 5 * 36, 1 / 255, 0, 0, 255);
    const y = floatInputs(rng, 5 * 3, 0.5, -1, -128, 127);
    const floats = (a: Float32Array) => `new Float32Array(Uint32Array.from(${JSON.stringify(Array.from(new Uint32Array(a.buffer)))}).buffer)`;
    const dir = mkdtempSync(join(tmpdir(), "fixq-js-node-"));
    const file = join(dir, "model.mjs");
    writeFileSync(file, emitJsModuleText(p));
    const script = `import { runAll } from ${JSON.stringify(pathToFileURL(file).href)};
const r = runAll({ in0: ${floats(x)}, in1: ${floats(y)} }, 5);
process.stdout.write(JSON.stringify(Array.from(new Uint32Array(r.outputs.out0.buffer))));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    const bits = Uint32Array.from(JSON.parse(r.stdout) as number[]);
    expect(mismatches(new Float32Array(bits.buffer), mod.runAll({ in0: x, in1: y }, 5).outputs.out0!)).toBe(0);
    expect(bits.length).toBe(15);
  });

  it("exposes metadata, and its .d.ts declares exactly what it exports", async () => {
    const p = smallProgram();
    const { mod, files } = await importProgram(p);
    expect([...files.keys()].sort()).toEqual(["README.txt", "model.d.mts", "model.mjs"]);
    expect(mod.inputs.map((i) => [i.name, i.shape, i.type, i.zeroPoint, i.qmin, i.qmax])).toEqual([
      ["in0", [1, 6, 6], "uint8", 0, 0, 255],
      ["in1", [3], "int8", -1, -128, 127],
    ]);
    expect(mod.inputs[0]!.scale).toBe(Math.fround(1 / 255));
    expect(mod.outputs.map((o) => [o.name, o.shape, o.type, o.scale, o.zeroPoint])).toEqual([
      ["out0", [3], "int8", 0.25, 3],
      ["out1", [3], "int8", 0.25, 0],
    ]);
    expect(mod.rounding).toBe("single");
    const declared = [...files.get("model.d.mts")!.matchAll(/^export declare (?:const|function) (\w+)/gm)].map((m) => m[1]).sort();
    expect(declared).toEqual(Object.keys(mod).sort());
    expect(files.get("README.txt")).toContain("in0 [batch, 1, 6, 6]");
  });

  it("chunks batches without changing a bit (chunk 1, 4, 32; batch 0, 1, 9, 33)", async () => {
    const p = smallProgram();
    const mods = await Promise.all([1, 4, 32].map((chunk) => importProgram(p, { chunk }).then((m) => m.mod)));
    const rng = new Rng(2);
    for (const batch of [0, 1, 9, 33]) {
      const feeds = { in0: floatInputs(rng, batch * 36, 1 / 255, 0, 0, 255), in1: floatInputs(rng, batch * 3, 0.5, -1, -128, 127) };
      const [a, ...rest] = mods.map((m) => m.runAll(feeds, batch));
      for (const r of rest) {
        for (const name of ["out0", "out1"]) {
          expect(mismatches(r.outputs[name]!, a!.outputs[name]!)).toBe(0);
          expect(mismatches(r.ints[name]!, a!.ints[name]!)).toBe(0);
          expect(r.ints[name]!.length).toBe(batch * 3);
        }
      }
    }
  });

  it("validates its arguments", async () => {
    const { mod } = await importProgram(smallProgram());
    const x = new Float32Array(36);
    const y = new Float32Array(3);
    expect(() => mod.runAll({ in0: x, in1: y }, -1)).toThrow(RangeError);
    expect(() => mod.runAll({ in0: x, in1: y }, 1.5)).toThrow(RangeError);
    expect(() => mod.runAll({ in0: x, in1: y }, 2)).toThrow(/in0.*36 elements, expected 2 × 36/);
    expect(() => mod.runAll({ in0: x } as Record<string, Float32Array>, 1)).toThrow(/missing input 'in1'/);
    expect(() => mod.runAll({ in0: new Float64Array(36) as unknown as Float32Array, in1: y }, 1)).toThrow(/Float32Array/);
    expect(() => mod.runAllInt({ in0: x, in1: y }, 1)).toThrow(/integer typed array/);
    expect(() => mod.run(x, 1)).toThrow(/2 inputs: use runAll/);
    expect(mod.runAllInt({ in0: new Uint8Array(36), in1: new Int8Array(3) }, 1).ints.out1).toEqual(mod.runAllInt({ in0: new Int32Array(36), in1: new Int32Array(3) }, 1).ints.out1);
  });

  it("refuses what it cannot run, naming the op", () => {
    const b = new ProgramBuilder("double");
    const x = b.input([2], I8, 1, 0);
    b.output(b.requant(x, [{ m: 2 ** 30, s: 63 }], 0, I8, 0), 1);
    expect(() => emitJsModule(b.build())).toThrow(/Requant '\/rq\d+': js back end cannot run requant op \d+: double rounding needs a shift ≤ 62/);
    const p = smallProgram();
    const broken: Program = { ...p, ops: p.ops.filter((op) => op.kind !== "maxpool") };
    expect(() => emitJsModule(broken)).toThrow(/reads 'mp\d+' before any op writes it/);
    const odd: Program = { ...p, ops: [...p.ops, { kind: "topk", source: "TopK '/tk'" } as unknown as Program["ops"][number]] };
    expect(() => emitJsModule(odd)).toThrow(/op kind 'topk' is not part of the integer program/);
  });

  it("names op 64's weight constants apart from the base64 decoder's (a dense layer at op index 64 imports)", async () => {
    const rng = new Rng(8);
    const b = new ProgramBuilder("single");
    let v = b.input([4, 2], U8, 0.1, 3);
    for (let k = 0; k < 63; k++) v = b.reshape(v, k % 2 === 0 ? [8] : [4, 2]); // ops 1 … 63
    const d = b.dense(v, 3, randomInts(rng, 8 * 2, -127, 127), 2, randomInts(rng, 2, -50, 50)); // op 64
    b.output(b.requant(d, [quantizeMultiplier(0.01)], 0, I8, 0), 0.5);
    const p = b.build();
    expect(p.ops[64]?.kind).toBe("dense");
    const { mod } = await importProgram(p);
    expect(mod.outputs.length).toBe(1);
  });

  it("matches the golden text for a small program (UPDATE_GOLDEN=1 rewrites it)", () => {
    const text = emitJsModuleText(smallProgram(), { modelName: "small" });
    if (process.env.UPDATE_GOLDEN === "1") {
      mkdirSync(dirname(GOLDEN), { recursive: true });
      writeFileSync(GOLDEN, text);
    }
    expect(existsSync(GOLDEN), `${GOLDEN} missing: run with UPDATE_GOLDEN=1 to create it`).toBe(true);
    expect(text).toBe(readFileSync(GOLDEN, "utf8"));
  });
});
