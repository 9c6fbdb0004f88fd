/**
 * `--json [FILE]` means the same on every command: one JSON document with a
 * `command` field, in FILE when one is given, else alone on standard output.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeJsonFlag } from "../../src/cli/json-output.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-json-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const at = (name: string) => join(tmp, name);
const CNN = join(MODELS_DIR, "cnn.onnx");

describe("normalizeJsonFlag: the word after --json is its FILE only when the positionals are complete without it", () => {
  const program = new Command("fixq").option("--verbose");
  program.command("one").argument("<model>").option("--json [file]").option("-o, --output <file>").option("--exclude <names...>").option("--eval [data]");
  program.command("two").argument("<ref>").argument("<cand>").option("--json [file]").option("--junit <file>");
  const norm = (...args: string[]) => normalizeJsonFlag(program, ["node", "fixq", ...args]).slice(2);
  const cases: [string[], string[]][] = [
    [["one", "--json", "m.onnx"], ["one", "--json=-", "m.onnx"]],
    [["one", "m.onnx", "--json", "r.json"], ["one", "m.onnx", "--json", "r.json"]],
    [["one", "m.onnx", "--json"], ["one", "m.onnx", "--json"]],
    [["one", "--json", "-o", "x.onnx", "m.onnx"], ["one", "--json", "-o", "x.onnx", "m.onnx"]],
    [["one", "-o", "x.onnx", "--json", "m.onnx"], ["one", "-o", "x.onnx", "--json=-", "m.onnx"]],
    [["one", "--exclude", "a", "b", "--json", "m.onnx"], ["one", "--exclude", "a", "b", "--json=-", "m.onnx"]],
    [["one", "m.onnx", "--eval", "d.npy", "--json", "s.json"], ["one", "m.onnx", "--eval", "d.npy", "--json", "s.json"]],
    [["--verbose", "two", "--json", "r.json", "a.onnx", "b.onnx"], ["--verbose", "two", "--json", "r.json", "a.onnx", "b.onnx"]],
    [["two", "a.onnx", "--json", "b.onnx"], ["two", "a.onnx", "--json=-", "b.onnx"]],
    [["two", "a.onnx", "b.onnx", "--json", "a.onnx"], ["two", "a.onnx", "b.onnx", "--json", "a.onnx"]],
    [["two", "--junit", "j.xml", "--json", "a.onnx", "b.onnx"], ["two", "--junit", "j.xml", "--json=-", "a.onnx", "b.onnx"]],
    [["two", "a.onnx", "b.onnx", "--json=x.onnx"], ["two", "a.onnx", "b.onnx", "--json=x.onnx"]],
  ];
  for (const [argv, want] of cases) it(argv.join(" "), () => expect(norm(...argv)).toEqual(want));
});

describe("--json on every command", () => {
  beforeAll(async () => {
    const a = readNpy(join(MODELS_DIR, "data/eval.npy"));
    const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
    writeNpy(at("x.npy"), { ...a, shape: [8, ...a.shape.slice(1)], data: a.data.slice(0, 8 * row) } as typeof a);
  });

  /** Runs `args` twice: --json alone (stdout must parse as one document) and --json FILE (the same document in the file). */
  async function both(command: string, args: (json: string[]) => string[]): Promise<Record<string, unknown>> {
    const r = await fixqMain(...args(["--json"]));
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc["command"]).toBe(command);
    const file = at(`${command}.json`);
    const f = await fixqMain(...args(["--json", file]));
    expect(f.status, f.stderr).toBe(0);
    const fromFile = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(fromFile["command"]).toBe(command);
    expect(Object.keys(fromFile)).toEqual(Object.keys(doc));
    return doc;
  }

  it("quantize, emulate, compile, convert, inspect: stdout or FILE, same document", async () => {
    await both("quantize", (j) => ["quantize", CNN, "-o", at("q.onnx"), "--calib", at("x.npy"), ...j]);
    await both("emulate", (j) => ["emulate", at("q.onnx"), "--data", at("x.npy"), "--out", at("y.npy"), ...j]);
    await both("compile", (j) => ["compile", at("q.onnx"), "--report", ...j]);
    await both("convert", (j) => ["convert", CNN, "-o", at("c.onnx"), ...j]);
    const inspect = await both("inspect", (j) => ["inspect", CNN, ...j]);
    expect(inspect["inputs"]).toEqual([{ name: "input", dtype: "f32", shape: "[batch,1,28,28]" }]);
    // --json before the model: the model is the positional argument, the document goes to stdout.
    const before = await fixqMain("inspect", "--json", CNN);
    expect(JSON.parse(before.stdout)["command"]).toBe("inspect");
  }, 120_000);

  it("eval: --json alone prints only the document on stdout (the table goes to stderr); the old --json FILE still writes FILE", async () => {
    const r = await fixqMain("eval", CNN, at("q.onnx"), "--data", at("x.npy"), "--json");
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.command).toBe("eval");
    expect(doc.inputs.samples).toBe(8);
    expect(r.stderr).toMatch(/fixq eval {2}REF/);
    const file = at("eval.json");
    const old = await fixqMain("eval", "--json", file, CNN, at("q.onnx"), "--data", at("x.npy"));
    expect(old.status, old.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8")).command).toBe("eval");
    expect(old.stdout).toMatch(/fixq eval {2}REF/);
  }, 120_000);
});
