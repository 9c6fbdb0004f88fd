/**
 * Every bundled CNN/MLP model, quantized with the default recipe and
 * integerized: the generated HLS project's C simulation (`make csim_run`,
 * g++ -std=c++14 against fixq's ap_types/) equals the emulator bit for bit
 * (dequantized floats and raw integers) on a few eval images, random floats
 * around the input quantizer and the extreme integer inputs (all qmin, all
 * qmax), and the testbench's self-check (`make csim_check`) passes, and
 * fails when a stored output is tampered with; and the same in the other I/O
 * style and type spelling (resnet: stream I/O with its residual fork/join
 * and line-buffered convs;
 * cnn: stdint types at reuse factors 16/32; mobilenetv2: stream + stdint,
 * depthwise convs). Lean on purpose: the C suite covers the shared integer code in
 * depth; this one checks the top function's ap_int ports and the testbench.
 * Builds: g++ -O1 (build-hls.ts), cnn's default project at -O3 (optimisation
 * can expose undefined behaviour); the self-check reuses each project's design
 * object, and the tampering case reuses mlp's project.
 * Skips without g++/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { integerizeModel } from "../../../src/integer/integerize.js";
import { type Program, type QuantizeOp, sampleSize } from "../../../src/integer/program.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { npyFileSource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { evalX } from "../../helpers/bundled-data.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { tallyBuilt } from "../c/check-c.js";
import type { Built } from "../c/run-c.js";
import type { Feeds } from "../js/check.js";
import { floatInputs } from "../js/compare.js";
import type { ReuseRequest } from "../../../src/backends/hls/resources.js";
import { buildHls, csimCheck } from "./build-hls.js";

const HAVE = toolAvailable("gcc") && toolAvailable("g++") && toolAvailable("make");
const tmp = tempDir("fixq-hls-models-");
afterAll(tmp.remove);

const programs = new Map<string, Promise<Program>>();
function program(name: string): Promise<Program> {
  if (!programs.has(name)) programs.set(name, quantized(name));
  return programs.get(name)!;
}

async function quantized(name: string): Promise<Program> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 128);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
    return integerizeModel(model);
  } finally {
    source.close();
  }
}

function feeds(p: Program): Feeds[] {
  const input = p.inputs[0]!;
  const q = p.ops.find((op): op is QuantizeOp => op.kind === "quantize" && op.input === input.name)!;
  const size = sampleSize(input.shape);
  const rng = new Rng(7);
  return [
    { data: { [input.name]: evalX.data.subarray(0, 20 * size) }, batch: 20 },
    { data: { [input.name]: floatInputs(rng, 8 * size, q.scale, q.zeroPoint, q.qmin, q.qmax) }, batch: 8 },
    { data: { [input.name]: new Int32Array(2 * size).fill(q.qmin) }, batch: 2, quantized: true },
    { data: { [input.name]: new Int32Array(2 * size).fill(q.qmax) }, batch: 2, quantized: true },
  ];
}

/** Each model's default-recipe project, built once (cnn at -O3) and shared by the cases. */
const projects = new Map<string, Promise<Built>>();
function project(name: string): Promise<Built> {
  if (!projects.has(name)) {
    projects.set(
      name,
      program(name).then((p) => {
        const dir = join(tmp.dir, name);
        mkdirSync(dir, { recursive: true });
        return buildHls(p, dir, { modelName: name }, name === "cnn" ? "-O3" : undefined);
      }),
    );
  }
  return projects.get(name)!;
}

describe.skipIf(!HAVE)("HLS C simulation equals the emulator on the bundled models (fixq's ap_types)", () => {
  it.each(["mlp", "cnn", "resnet", "mobilenetv2"])("%s (default recipe): eval, random and extreme inputs", async (name) => {
    const built = await project(name);
    const t = tallyBuilt(built, feeds(built.program));
    expect({ model: name, floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ model: name, floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((20 + 8 + 2 + 2) * 10);
    // the testbench's self-check against the outputs stored at compile time
    expect(csimCheck(built.dir)).toMatch(/csim_check: 3 samples, 0 mismatches/);
  }, 240_000); // quantize + g++ on a loaded 2-core machine

  // the other I/O style and type spelling: resnet's residual Add forks and joins FIFOs; mobilenetv2 has depthwise convs
  // cnn: reuse factor 16, and 32 on fc1 (16 would leave 4608 weight banks)
  it.each([
    ["resnet", "stream", "ap", {}],
    ["cnn", "parallel", "stdint", { all: 16, byLayer: new Map([["Gemm '/fc1/Gemm'", 32]]) }],
    ["mobilenetv2", "stream", "stdint", {}],
  ] as const)("%s, --io %s, --hls-types %s: eval, random and extreme inputs", async (name, io, types, reuse: ReuseRequest) => {
    const p = await program(name);
    const dir = join(tmp.dir, `${name}-${io}-${types}`);
    mkdirSync(dir, { recursive: true });
    const t = tallyBuilt(buildHls(p, dir, { modelName: name, io, types, reuse }), feeds(p));
    expect({ model: name, io, types, floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ model: name, io, types, floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((20 + 8 + 2 + 2) * 10);
  }, 240_000);

  it("the self-check fails when a stored output is off by one", async () => {
    const { dir } = await project("mlp");
    const file = join(dir, "tb/csim_check.cpp");
    const text = readFileSync(file, "utf8");
    const tampered = text.replace(/(WANT0\[\d+\] = \{\s*)(-?\d+)/, (_, head: string, v: string) => `${head}${Number(v) + 1}`);
    expect(tampered).not.toBe(text);
    try {
      writeFileSync(file, tampered);
      expect(() => csimCheck(dir)).toThrow(/csim_check: 3 samples, 1 mismatches/);
    } finally {
      writeFileSync(file, text);
    }
  });
});
