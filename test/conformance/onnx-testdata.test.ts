/**
 * Conformance over Debian's libonnx-testdata: every model of the node/,
 * simple/, pytorch-converted/ and pytorch-operator/ folders must
 *  - round-trip through fixq byte for byte (decode → encode → decode → encode);
 *  - give bit-identical onnxruntime outputs on the original file and on
 *    fixq's re-encoding, fed with test_data_set_0/input_*.pb.
 * Models that onnxruntime-node cannot create, feed or run are skipped. The
 * skip set is pinned in onnx-testdata.skip.json; any change (a model that starts
 * failing in ORT, or starts working) fails the suite. Regenerate the file with
 * FIXQ_UPDATE_SKIPS=1 after checking the new reasons.
 *
 * Notes: unseeded random ops (Bernoulli, Dropout in training mode) compare
 * equal because ORT seeds them from one process-wide seed. The StringNormalizer
 * models are skipped because this machine has no en_US.UTF-8 locale; a machine
 * with one (Debian's `locales`) would run them and fail the skip-set check.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { decodeMessage } from "../../src/ir/onnx/codec.js";
import { tensorFromProto } from "../../src/ir/onnx/from-proto.js";
import { decodeModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { dataAvailable } from "../helpers/require-data.js";
import {
  bytesDiffer,
  compareOutputs,
  create,
  type Feeds,
  feedableInputs,
  ortMessage,
  ortTensorFromIr,
  shortReason,
  truncate,
  typeKind,
} from "./ort-compare.js";

const ROOT = "/usr/share/libonnx-testdata/data";
const FOLDERS = ["node", "simple", "pytorch-converted", "pytorch-operator"] as const;
const EXPECTED_MODELS = 1072;
const SKIP_FILE = fileURLToPath(new URL("./onnx-testdata.skip.json", import.meta.url));

type Outcome = { status: "pass" } | { status: "skip"; reason: string } | { status: "fail"; error: string };

const present = dataAvailable(ROOT, "libonnx-testdata (Debian package libonnx-testdata)");
const results = new Map<string, Outcome>();

function modelsIn(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `${folder}/${d.name}`)
    .filter((rel) => {
      try {
        return readdirSync(join(ROOT, rel)).includes("model.onnx");
      } catch {
        return false;
      }
    })
    .sort();
}

/** input_N.pb files of the first data set, in N order. */
function inputFiles(dir: string): string[] {
  const data = join(dir, "test_data_set_0");
  let names: string[];
  try {
    names = readdirSync(data);
  } catch {
    return [];
  }
  return names
    .map((n) => /^input_(\d+)\.pb$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(data, m[0]));
}

/** Feeds for the model, or the reason they cannot be made. */
function buildFeeds(dir: string, model: ReturnType<typeof decodeModel>): Feeds | string {
  const wanted = model.graph ? feedableInputs(model.graph) : [];
  const feeds: Feeds = {};
  for (const [k, file] of inputFiles(dir).entries()) {
    const proto = decodeMessage("TensorProto", readFileSync(file));
    const protoName = (proto["name"] as string | undefined) ?? "";
    const input = (protoName && wanted.find((v) => v.name === protoName)) || wanted[k];
    if (!input) return `feed: input file ${k} matches no graph input`;
    const kind = typeKind(input);
    if (kind !== "tensor") return `feed: onnxruntime-node cannot feed ${kind} input '${input.name}'`;
    try {
      feeds[input.name] = ortTensorFromIr(tensorFromProto(proto, {}, file));
    } catch (e) {
      return `feed: ${ortMessage(e)}`;
    }
  }
  return feeds;
}

async function runOnce(session: ort.InferenceSession, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  return (await session.run(feeds)) as Record<string, ort.Tensor>;
}

async function checkModel(rel: string): Promise<Outcome> {
  const dir = join(ROOT, rel);
  const original = readFileSync(join(dir, "model.onnx"));

  // Codec: byte-exact round trip, twice.
  let saved: Uint8Array;
  let model: ReturnType<typeof decodeModel>;
  try {
    model = decodeModel(original, { baseDir: dir, where: rel });
    saved = encodeModel(model);
    const differ = bytesDiffer(saved, original);
    if (differ) return { status: "fail", error: `re-encoding differs from the file: ${differ}` };
    const again = encodeModel(decodeModel(saved, { baseDir: dir, where: `${rel} (re-decoded)` }));
    const differ2 = bytesDiffer(again, saved);
    if (differ2) return { status: "fail", error: `second re-encoding differs: ${differ2}` };
  } catch (e) {
    return { status: "fail", error: `fixq: ${(e as Error).message}` };
  }

  const feeds = buildFeeds(dir, model);
  if (typeof feeds === "string") return { status: "skip", reason: feeds };

  let a: ort.InferenceSession;
  try {
    a = await create(original);
  } catch (e) {
    return { status: "skip", reason: `create: ${ortMessage(e)}` };
  }
  try {
    let outA: Record<string, ort.Tensor>;
    try {
      outA = await runOnce(a, feeds);
    } catch (e) {
      return { status: "skip", reason: `run: ${ortMessage(e)}` };
    }
    let b: ort.InferenceSession;
    try {
      b = await create(saved);
    } catch (e) {
      return { status: "fail", error: `ORT refused fixq's bytes but not the original: ${ortMessage(e)}` };
    }
    try {
      const outB = await runOnce(b, feeds);
      const diffs = compareOutputs(outA, outB);
      if (diffs.length > 0) return { status: "fail", error: diffs.join("; ") };
    } catch (e) {
      return { status: "fail", error: `ORT failed on fixq's bytes but not the original: ${ortMessage(e)}` };
    } finally {
      await b.release();
    }
  } finally {
    await a.release();
  }
  return { status: "pass" };
}

describe.skipIf(!present)("libonnx-testdata conformance", () => {
  for (const folder of FOLDERS) {
    it(`${folder}/: round-trips byte for byte, ORT outputs bit-identical`, { timeout: 900_000 }, async () => {
      const failures: string[] = [];
      for (const rel of modelsIn(folder)) {
        const outcome = await checkModel(rel);
        results.set(rel, outcome);
        if (outcome.status === "fail") failures.push(`${rel}: ${outcome.error}`);
      }
      expect(failures).toEqual([]);
    });
  }

  it(`finds all ${EXPECTED_MODELS} models`, () => {
    expect(results.size).toBe(EXPECTED_MODELS);
  });

  it("skips exactly the models listed in onnx-testdata.skip.json", () => {
    const actual: Record<string, string> = {};
    for (const [rel, o] of [...results].sort(([x], [y]) => (x < y ? -1 : 1))) {
      if (o.status === "skip") actual[rel] = shortReason(o.reason);
    }
    if (process.env["FIXQ_UPDATE_SKIPS"] === "1") {
      writeFileSync(SKIP_FILE, `${JSON.stringify(actual, null, 2)}\n`);
      console.warn(`wrote ${Object.keys(actual).length} skips to ${SKIP_FILE}`);
      return;
    }
    const committed = JSON.parse(readFileSync(SKIP_FILE, "utf8")) as Record<string, string>;
    const unexpected = Object.keys(actual).filter((k) => !(k in committed));
    const nowPassing = Object.keys(committed).filter((k) => !(k in actual) && results.get(k)?.status === "pass");
    // Listed but neither skipped nor passing: gone from the data, or failing (reported above).
    const missing = Object.keys(committed).filter((k) => !(k in actual) && results.get(k)?.status !== "pass");
    expect({ unexpected: unexpected.map((k) => `${k}: ${actual[k]}`), nowPassing, missing }).toEqual({
      unexpected: [],
      nowPassing: [],
      missing: [],
    });
  });

  afterAll(() => {
    if (results.size === 0) return;
    const all = [...results];
    const skipped = all.filter(([, o]) => o.status === "skip") as [string, { status: "skip"; reason: string }][];
    const failed = all.filter(([, o]) => o.status === "fail");
    const passed = all.length - skipped.length - failed.length;
    const lines = [`libonnx-testdata: found ${all.length}, passed ${passed}, skipped ${skipped.length}, failed ${failed.length}`];
    for (const [rel, o] of skipped) lines.push(`  skip ${rel}: ${truncate(o.reason, 200)}`);
    console.log(lines.join("\n"));
  });
});
