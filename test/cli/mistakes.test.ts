/**
 * Every user mistake gets one clear line: wrong file kinds, truncated models,
 * outputs aimed at folders or missing folders, bare `fixq`, and a sweep of
 * wrong invocations none of which may print "internal error". Also: every
 * command's --help lists its exit codes and an example, and `eval` writes
 * its JUnit file when it fails with an error.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { fixqMain } from "../helpers/fixq-main.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-mistakes-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const at = (name: string) => join(tmp, name);
const CNN = join(MODELS_DIR, "cnn.onnx");

beforeAll(async () => {
  const a = readNpy(join(MODELS_DIR, "data/eval.npy"));
  const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
  writeNpy(at("x.npy"), { ...a, shape: [16, ...a.shape.slice(1)], data: a.data.slice(0, 16 * row) } as typeof a);
  writeNpy(at("ints.npy"), { dtype: "i8", shape: [16, 5], data: new BigInt64Array(80) });
  writeFileSync(at("text.npy"), "1 2 3\n4 5 6\n");
  writeFileSync(at("notes.txt"), "calibration data? no\n");
  writeFileSync(at("trunc.onnx"), readFileSync(CNN).subarray(0, 5000));
  mkdirSync(at("folder"));
  const q = await fixqMain("quantize", CNN, "-o", at("q.onnx"), "--calib", at("x.npy"));
  expect(q.status, q.stderr).toBe(0);
  // A model ONNX Runtime refuses: one ReLU turned into an op no runtime has.
  const m = loadModel(CNN);
  const g = m.graph!;
  saveModel({ ...m, graph: { ...g, nodes: g.nodes.map((n) => (n.name === "/features/features.1/Relu" ? { ...n, opType: "NoSuchOp" } : n)) } }, at("refused.onnx"));
}, 120_000);

/** One line on stderr starting "error:", the given exit status, no stack, no "internal error". */
function expectOneLine(r: { status: number; stderr: string }, status: number, message: RegExp, what = ""): void {
  expect(r.status, `${what} ${r.stderr}`).toBe(status);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, what).toHaveLength(1);
  expect(lines[0], what).toMatch(/^error: /);
  expect(lines[0], what).not.toMatch(/internal error/);
  expect(lines[0], what).toMatch(message);
}

/** Where the top-level protobuf field that spans byte `cut` of `bytes` ends (tags and lengths read by hand). */
function fieldEndAcross(bytes: Uint8Array, cut: number): number {
  let p = 0;
  const varint = () => {
    let v = 0;
    for (let s = 0; ; s += 7) {
      const b = bytes[p++]!;
      v += (b & 0x7f) * 2 ** s;
      if (b < 0x80) return v;
    }
  };
  for (;;) {
    const wire = varint() & 7;
    let end: number;
    if (wire === 0) {
      varint();
      end = p;
    } else if (wire === 2) {
      const length = varint();
      end = p + length;
    } else end = p + (wire === 5 ? 4 : 8);
    if (end > cut) return end;
    p = end;
  }
}

describe("wrong file kinds say what was expected", () => {
  it("a model as calibration data, text as data, data as a model", async () => {
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("a.onnx"), "--calib", CNN), 1, /--calib .*cnn\.onnx: is an ONNX model; expected NumPy data: \.npy .* or \.npz/);
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("a.onnx"), "--calib", at("notes.txt")), 1, /notes\.txt: is a text file; expected NumPy data/);
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("a.onnx"), "--calib", at("folder")), 1, /folder: is a directory; expected NumPy data/);
    expectOneLine(await fixqMain("eval", CNN, at("q.onnx"), "--data", at("text.npy")), 1, /text\.npy: is a text file; expected NumPy data/);
    expectOneLine(await fixqMain("emulate", at("q.onnx"), "--data", CNN, "--out", at("y.npy")), 1, /is an ONNX model; expected NumPy data/);
    expectOneLine(await fixqMain("inspect", at("x.npy")), 1, /x\.npy: is a NumPy \.npy file, not an ONNX model/);
    expectOneLine(await fixqMain("eval", CNN, at("x.npy"), "--data", at("x.npy")), 1, /x\.npy: is a NumPy \.npy file, not an ONNX model/);
    expect(existsSync(at("a.onnx"))).toBe(false);
    expect(existsSync(at("y.npy"))).toBe(false);
  });

  it("a model or NumPy data as a recipe or a report input says what it is", async () => {
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("a.onnx"), "--calib", at("x.npy"), "--recipe", CNN), 2, /cnn\.onnx: is an ONNX model, not a JSON recipe$/);
    expectOneLine(await fixqMain("compile", at("q.onnx"), "--target", "hls", "-o", at("hls"), "--recipe", at("x.npy")), 2, /x\.npy: is a NumPy \.npy file, not a JSON recipe$/);
    expectOneLine(await fixqMain("report", at("x.npy"), "-o", at("r.html")), 1, /x\.npy: is a NumPy \.npy file, not a fixq --json document$/);
    expectOneLine(await fixqMain("report", at("q.onnx"), "-o", at("r.html")), 1, /q\.onnx: is an ONNX model, not a fixq --json document$/);
    for (const out of ["a.onnx", "hls", "r.html"]) expect(existsSync(at(out))).toBe(false);
  });

  it("a value out of range names its flag or recipe key", async () => {
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("a.onnx"), "--calib", at("x.npy"), "--calibration", "percentile:101"), 2, /calibration method 'percentile:101' \(--calibration, or the recipe key 'calibration'\): the percentile must be in \[50, 100\]$/);
    writeFileSync(at("int9.json"), `{"weights": "int9"}`);
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("a.onnx"), "--calib", at("x.npy"), "--recipe", at("int9.json")), 2, /int9\.json: key 'weights' must be one of .*; got 'int9'$/);
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("a.onnx"), "--calib", at("x.npy"), "--weights", "int9"), 2, /^error: --weights must be one of .*; got 'int9'$/);
    expect(existsSync(at("a.onnx"))).toBe(false);
  });

  it("a truncated model says at which byte of how many", async () => {
    const full = readFileSync(CNN);
    const r = await fixqMain("inspect", at("trunc.onnx"));
    expectOneLine(r, 1, /trunc\.onnx: file is truncated at byte (\d+) of (\d+) or more/);
    const [, n, m] = /truncated at byte (\d+) of (\d+)/.exec(r.stderr)!;
    expect(Number(n)).toBe(5000);
    expect(Number(m)).toBe(fieldEndAcross(full, 5000));
    expect(Number(m)).toBeGreaterThan(5000);
    expect(Number(m)).toBeLessThanOrEqual(full.length);
  });
});

describe("outputs that cannot be written", () => {
  it("a folder, a missing folder, a file where a folder is expected: one line each, exit 2", async () => {
    expectOneLine(await fixqMain("quantize", CNN, "-o", at("folder"), "--calib", at("x.npy")), 2, /-o .*folder: is a directory; give a file name/);
    expectOneLine(await fixqMain("convert", CNN, "-o", at("folder")), 2, /is a directory/);
    expectOneLine(await fixqMain("compile", at("q.onnx"), "--target", "onnx-int", "-o", at("folder")), 2, /is a directory/);
    expectOneLine(await fixqMain("compile", at("q.onnx"), "--target", "js", "-o", at("x.npy")), 2, /-o for --target js is a folder; '.*x\.npy' is a file/);
    expectOneLine(await fixqMain("eval", CNN, at("q.onnx"), "--data", at("x.npy"), "--junit", at("missing/j.xml")), 2, /--junit .*: folder .*missing does not exist/);
    expectOneLine(await fixqMain("emulate", at("q.onnx"), "--data", at("x.npy"), "--out", at("missing/y.npy")), 2, /folder .*missing does not exist/);
    expectOneLine(await fixqMain("inspect", CNN, "--json", at("missing/i.json")), 2, /folder .*missing does not exist/);
    expectOneLine(await fixqMain("convert", CNN, "-o", at("x.npy/c.onnx")), 2, /-o .*x\.npy\/c\.onnx: .*x\.npy is not a folder/);
    expectOneLine(await fixqMain("inspect", CNN, "--json="), 2, /--json needs a file name, got an empty one/);
    expect(existsSync(at("missing"))).toBe(false);
  });

  it("a folder the process cannot write to", async (ctx) => {
    const ro = at("read-only");
    mkdirSync(ro, { mode: 0o555 });
    let writable = false;
    try {
      accessSync(ro, constants.W_OK);
      writable = true; // root ignores permissions: nothing to test here
    } catch {}
    if (writable) ctx.skip();
    expectOneLine(await fixqMain("inspect", CNN, "--json", join(ro, "i.json")), 2, /cannot write into folder .*read-only \(permission denied\)/);
  });
});

describe("usage", () => {
  it("bare fixq prints help on stderr and exits 2", async () => {
    const r = await fixqMain();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Usage: fixq/);
    expect(r.stdout).toBe("");
    expect((await fixqMain("--verbose")).status).toBe(2);
    expect((await fixqMain("help")).status).toBe(0);
    expect((await fixqMain("--help")).status).toBe(0);
  });

  it("every command's --help lists its exit codes and an example", async () => {
    for (const cmd of ["inspect", "convert", "quantize", "eval", "emulate", "compile"]) {
      const r = await fixqMain(cmd, "--help");
      expect(r.status, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Exit codes:\s*\n\s+0 /);
      expect(r.stdout, cmd).toMatch(/\n\s+2 /);
      expect(r.stdout, cmd).toMatch(new RegExp(`Example:\\s*\\n\\s+fixq ${cmd} `));
      expect(r.stdout, cmd).toMatch(/--json \[file\]/);
    }
  });

  it("no wrong invocation prints 'internal error'", async () => {
    const q = at("q.onnx");
    const x = at("x.npy");
    const wrong: string[][] = [
      ["quantize", CNN, "-o", at("w.onnx"), "--calib", at("ints.npy")],
      ["quantize", CNN, "-o", at("w.onnx"), "--calib", at("none.npy")],
      ["quantize", CNN, "-o", at("w.onnx"), "--recipe", at("x.npy")],
      ["quantize", CNN, "-o", at("w.onnx"), "--threads", "many"],
      ["quantize", CNN, "-o", at("w.onnx"), "--eval", at("notes.txt")],
      ["quantize", CNN, "-o", at("w.onnx"), "--eval", at("ints.npy")],
      ["quantize", at("trunc.onnx"), "-o", at("w.onnx")],
      ["quantize", at("notes.txt"), "-o", at("w.onnx")],
      ["eval", CNN, q, "--data", at("ints.npy")],
      ["eval", CNN, q, "--data", x, "--labels", x],
      ["eval", CNN, q, "--data", x, "--labels", CNN],
      ["eval", CNN, q, "--data", at("folder")],
      ["eval", CNN, at("trunc.onnx"), "--data", x],
      ["eval", CNN, q, "--data", x, "--json", at("folder")],
      ["emulate", CNN, "--data", x, "--out", at("w.npy")],
      ["emulate", q, "--data", at("ints.npy"), "--out", at("w.npy")],
      ["emulate", q, "--data", x, "--out", at("w.txt")],
      ["compile", CNN, "--target", "js", "-o", at("wjs")],
      ["compile", q, "--target", "onnx-int", "-o", at("missing/w.onnx")],
      ["compile", q, "-o", at("w.onnx")],
      ["convert", at("x.npy"), "-o", at("w.onnx")],
      ["convert", CNN, "-o", at("w.onnx"), "--external-data", "lots"],
      ["inspect", at("folder")],
      ["inspect", at("none.onnx")],
    ];
    for (const args of wrong) {
      const r = await fixqMain(...args);
      expect([1, 2], `${args.join(" ")}: ${r.stderr}`).toContain(r.status);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).not.toMatch(/internal error/);
    }
    for (const f of ["w.onnx", "w.npy", "wjs"]) expect(existsSync(at(f)), f).toBe(false);
  }, 120_000);
});

describe("eval writes its JUnit file on every failure", () => {
  const junitOf = (path: string) => {
    const xml = readFileSync(path, "utf8");
    expect(xml).toMatch(/<testsuites name="fixq" tests="1" failures="1"/);
    return /<failure message="([^"]*)" type="error">/.exec(xml)![1]!.replace(/&(quot|apos|lt|gt|amp);/g, (_m, e: string) => ({ quot: '"', apos: "'", lt: "<", gt: ">", amp: "&" })[e]!);
  };

  it("a model ONNX Runtime refuses: the message names CAND and the node", async () => {
    const junit = at("refused.xml");
    const r = await fixqMain("eval", CNN, at("refused.onnx"), "--data", at("x.npy"), "--junit", junit);
    expectOneLine(r, 1, /^error: CAND .*refused\.onnx \(opt=all\): node '\/features\/features\.1\/Relu': onnxruntime refused the model/);
    expect(junitOf(junit)).toBe(r.stderr.trimEnd().slice("error: ".length));
  });

  it("the same model as REF is named REF", async () => {
    const r = await fixqMain("eval", at("refused.onnx"), CNN, "--data", at("x.npy"));
    expectOneLine(r, 1, /^error: REF .*refused\.onnx: node '\/features\/features\.1\/Relu': onnxruntime refused/);
  });

  it("bad data and a usage error write it too", async () => {
    const bad = await fixqMain("eval", CNN, at("q.onnx"), "--data", at("ints.npy"), "--junit", at("bad-data.xml"));
    expectOneLine(bad, 1, /ints\.npy/);
    expect(junitOf(at("bad-data.xml"))).toMatch(/ints\.npy/);
    const usage = await fixqMain("eval", CNN, at("q.onnx"), "--data", at("x.npy"), "--min-agreement", "2", "--junit", at("usage.xml"));
    expectOneLine(usage, 2, /--min-agreement expects a fraction/);
    expect(junitOf(at("usage.xml"))).toMatch(/--min-agreement expects a fraction/);
  });

  it("but not when the JUnit path itself is the mistake", async () => {
    const r = await fixqMain("eval", CNN, at("q.onnx"), "--data", at("x.npy"), "--junit", at("x.npy"));
    expectOneLine(r, 2, /--junit .* would overwrite the input/);
    expect(readNpy(at("x.npy")).shape[0]).toBe(16);
  });
});
