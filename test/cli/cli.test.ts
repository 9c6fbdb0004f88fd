import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixq } from "../helpers/fixq-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MODEL = "test/fixtures/onnx/runnable-newer.onnx";

describe("fixq inspect", () => {
  it("prints a summary and JSON with the same data", () => {
    const text = fixq("inspect", MODEL);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/input {2}X: f32\[N,3\]/);
    expect(text.stdout).toMatch(/If×1/);
    const json = fixq("inspect", "--json", MODEL);
    expect(json.status).toBe(0);
    const r = JSON.parse(json.stdout);
    expect(r.ops.If).toBe(1);
    expect(r.subgraphs).toBe(2);
    expect(r.functions).toBe(1);
    expect(r.inputs).toEqual([{ name: "X", dtype: "f32", shape: "[N,3]" }]);
  });

  it("dumps the graph as text, subgraphs included", () => {
    const r = fixq("inspect", "--graph", MODEL);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\.then_branch:/);
    expect(r.stdout).toMatch(/%w: f32\[3\] = DequantizeLinear\(%w_f8, %scale\)/);
  });
});

describe("fixq convert", () => {
  it("re-serializes byte-identically", () => {
    const out = join(tmp, "same.onnx");
    const r = fixq("convert", MODEL, "-o", out);
    expect(r.status).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(MODEL))).toBe(0);
  });

  it("refuses to overwrite its input", () => {
    const r = fixq("convert", MODEL, "-o", MODEL);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/overwrite the input/);
  });
});

describe("bad input", () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    ["missing file", (d) => join(d, "nope.onnx"), /no such file/],
    ["directory", (d) => d, /is a directory/],
    ["empty file", (d) => write(d, "empty.onnx", new Uint8Array(0)), /empty/],
    ["text file", (d) => write(d, "text.onnx", Buffer.from("hello, this is not a model\n")), /not a valid ONNX model|not an ONNX model/],
    ["truncated model", (d) => write(d, "trunc.onnx", readFileSync(MODEL).subarray(0, 700)), /byte \d+/],
    ["hostile external data", () => "test/fixtures/onnx/external/hostile-dotdot.onnx", /escapes the model's folder/],
  ];
  function write(d: string, name: string, b: Uint8Array) {
    const p = join(d, name);
    writeFileSync(p, b);
    return p;
  }
  for (const [what, make, msg] of cases) {
    it(`${what}: one line on stderr, exit 1, no output`, () => {
      const dir = mkdtempSync(join(tmp, "bad-"));
      const input = make(dir);
      const out = join(dir, "out.onnx");
      const r = fixq("convert", input, "-o", out);
      expect(r.status).toBe(1);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(msg);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    });
  }

  it("--verbose adds the stack trace", () => {
    const r = fixq("--verbose", "inspect", join(tmp, "nope.onnx"));
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split("\n").length).toBeGreaterThan(1);
  });
});
