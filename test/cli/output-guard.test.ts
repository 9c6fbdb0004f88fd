/**
 * No command overwrites a file it reads: every command runs with every output
 * aimed at every input, spelled four ways (the path itself, a path through
 * `sub/..`, a symlink to it, a hard link to it), and with every two outputs
 * aimed at the same new file. Each run must be refused with one line and
 * exit 2, and afterwards every input is byte-identical and no temporary
 * file is left. The same commands with fresh outputs succeed (the control),
 * so the refusals come from the guard and not from some other failure.
 */
import { createHash } from "node:crypto";
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-guard-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const at = (name: string) => join(tmp, name);

/** One command line: `inputs` and `outputs` map a role to its flag's path; `argv` builds the command from them. */
interface CommandCase {
  readonly name: string;
  readonly inputs: Record<string, string>;
  readonly outputs: readonly string[];
  readonly argv: (p: Record<string, string>) => string[];
}

const CASES: CommandCase[] = [
  { name: "inspect", inputs: { model: at("m.onnx") }, outputs: ["json"], argv: (p) => ["inspect", p["model"]!, "--json", p["json"]!] },
  { name: "convert", inputs: { model: at("m.onnx") }, outputs: ["o", "json"], argv: (p) => ["convert", p["model"]!, "-o", p["o"]!, "--json", p["json"]!] },
  {
    name: "quantize",
    inputs: { model: at("m.onnx"), calib: at("c.npy"), recipe: at("r.json"), eval: at("e.npy") },
    outputs: ["o", "json"],
    argv: (p) => ["quantize", p["model"]!, "-o", p["o"]!, "--calib", p["calib"]!, "--recipe", p["recipe"]!, "--eval", p["eval"]!, "--json", p["json"]!],
  },
  {
    name: "eval",
    inputs: { ref: at("m.onnx"), cand: at("q.onnx"), data: at("e.npy"), labels: at("l.npy") },
    outputs: ["json", "junit", "markdown"],
    argv: (p) => ["eval", p["ref"]!, p["cand"]!, "--data", p["data"]!, "--labels", p["labels"]!, "--json", p["json"]!, "--junit", p["junit"]!, "--markdown", p["markdown"]!],
  },
  {
    name: "emulate",
    inputs: { model: at("q.onnx"), data: at("e.npy") },
    outputs: ["out", "outInt", "json"],
    argv: (p) => ["emulate", p["model"]!, "--data", p["data"]!, "--out", p["out"]!, "--out-int", p["outInt"]!, "--json", p["json"]!],
  },
  { name: "compile onnx-int", inputs: { model: at("q.onnx") }, outputs: ["o", "json"], argv: (p) => ["compile", p["model"]!, "--target", "onnx-int", "-o", p["o"]!, "--json", p["json"]!] },
];

const EXT: Record<string, string> = { json: ".json", junit: ".xml", markdown: ".md", out: ".npy", outInt: ".npy", o: ".onnx" };
let fresh = 0;
/** A new path in a new folder for each output role. */
function freshOutputs(c: CommandCase): Record<string, string> {
  const dir = at(`out-${fresh++}`);
  mkdirSync(dir);
  return Object.fromEntries(c.outputs.map((o) => [o, join(dir, `${o}${EXT[o]}`)]));
}

/** The ways to spell a path to an existing file `p`. */
function spellings(p: string): [string, string][] {
  const name = p.slice(tmp.length + 1);
  const sym = at(`links/sym-${fresh}-${name}`);
  const hard = at(`links/hard-${fresh}-${name}`);
  fresh++;
  symlinkSync(p, sym);
  linkSync(p, hard);
  return [
    ["as given", p],
    ["through sub/..", `${tmp}/sub/../${name}`],
    ["a symlink", sym],
    ["a hard link", hard],
  ];
}

const INPUT_FILES = ["m.onnx", "q.onnx", "c.npy", "e.npy", "l.npy", "r.json", "js/README.txt", "ext/model.onnx", "ext/weights-a.bin", "ext/weights-b.bin"];
const hashes = new Map<string, string>();
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

beforeAll(async () => {
  mkdirSync(at("sub"));
  mkdirSync(at("links"));
  mkdirSync(at("js"));
  mkdirSync(at("ext"));
  for (const f of ["model.onnx", "weights-a.bin", "weights-b.bin", "model.input.npy"]) copyFileSync(join("test/fixtures/onnx/external", f), at(`ext/${f}`));
  copyFileSync(join(MODELS_DIR, "cnn.onnx"), at("m.onnx"));
  const slice = (file: string, n: number) => {
    const a = readNpy(join(MODELS_DIR, file));
    const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
    return { ...a, shape: [n, ...a.shape.slice(1)], data: a.data.slice(0, n * row) } as typeof a;
  };
  writeNpy(at("c.npy"), slice("data/calib.npy", 16));
  writeNpy(at("e.npy"), slice("data/eval.npy", 16));
  writeNpy(at("l.npy"), slice("data/eval_labels.npy", 16));
  writeFileSync(at("r.json"), "{}\n");
  const q = await fixqMain("quantize", at("m.onnx"), "-o", at("q.onnx"), "--calib", at("c.npy"));
  expect(q.status, q.stderr).toBe(0);
  copyFileSync(at("q.onnx"), at("js/README.txt")); // a QDQ model named like a file compile --target js writes
  for (const f of INPUT_FILES) hashes.set(f, sha(at(f)));
}, 120_000);

function expectRefused(r: { status: number; stderr: string }, message: RegExp, what: string): void {
  expect(r.status, `${what}: ${r.stderr}`).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, what).toHaveLength(1);
  expect(lines[0], what).toMatch(/^error: /);
  expect(lines[0], what).toMatch(message);
}

describe("no command overwrites its inputs", () => {
  it("each command succeeds with fresh outputs (control)", async () => {
    for (const c of CASES) {
      const r = await fixqMain(...c.argv({ ...c.inputs, ...freshOutputs(c) }));
      expect(r.status, `${c.name}: ${r.stderr}`).toBe(0);
    }
    const js = await fixqMain("compile", at("q.onnx"), "--target", "js", "-o", at(`js-${fresh++}`));
    expect(js.status, js.stderr).toBe(0);
  }, 120_000);

  it("refuses every output aimed at every input, and any two outputs aimed at one file", async () => {
    let tried = 0;
    for (const c of CASES) {
      for (const out of c.outputs) {
        for (const [role, input] of Object.entries(c.inputs)) {
          for (const [how, path] of spellings(input)) {
            const what = `${c.name}: ${out} → ${role} (${how})`;
            expectRefused(await fixqMain(...c.argv({ ...c.inputs, ...freshOutputs(c), [out]: path })), /would overwrite the input/, what);
            tried++;
          }
        }
      }
      for (const [i, a] of c.outputs.entries()) {
        for (const b of c.outputs.slice(i + 1)) {
          const outs = freshOutputs(c);
          expectRefused(await fixqMain(...c.argv({ ...c.inputs, ...outs, [b]: outs[a]! })), /name the same file/, `${c.name}: ${a} = ${b}`);
          tried++;
        }
      }
    }
    // compile --target js writes model.mjs, model.d.mts and README.txt into its folder: the input is one of them.
    for (const [how, dir] of [["as given", at("js")], ["through sub/..", `${tmp}/sub/../js`]]) {
      expectRefused(await fixqMain("compile", at("js/README.txt"), "--target", "js", "-o", dir!), /would overwrite the input/, `compile js (${how})`);
      tried++;
    }
    // A model's external-data file is an input too (read on demand while the command runs).
    const ext = at("ext/model.onnx");
    for (const args of [
      ["convert", ext, "-o", at("ext/weights-a.bin")],
      ["quantize", ext, "-o", at("ext/weights-b.bin"), "--calib", at("ext/model.input.npy")],
      ["inspect", ext, "--json", at("ext/weights-a.bin")],
    ]) {
      expectRefused(await fixqMain(...args), /would overwrite the input: .* external data/, args.join(" "));
      tried++;
    }
    // 31 (command, output, input) triples × 4 spellings + 9 output pairs + 2 folder cases + 3 external-data cases.
    expect(tried).toBe(31 * 4 + 9 + 2 + 3);
    console.log(`output guard: ${tried} collisions tried, all refused`);
    for (const f of INPUT_FILES) expect(sha(at(f)), `${f} changed`).toBe(hashes.get(f));
    const stray = readdirSync(tmp, { recursive: true }).filter((f) => String(f).includes(".tmp-"));
    expect(stray).toEqual([]);
  }, 120_000);
});
