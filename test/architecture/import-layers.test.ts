/**
 * The folders of src/ are layers, and imports only go down:
 *
 *   util → numerics → ir → io, data → passes, calib, runtime → quant → integer → backends → analysis → eval → report → cli
 *
 * (a folder may import from folders to its left only; folders at one level,
 * such as passes, calib and runtime, do not import each other). util holds
 * leaf helpers (progress bars, the seeded PRNG, the package root) and imports
 * nothing of fixq's; io (npy/npz) and data (bundled data files) sit just
 * above the IR; analysis (inspect) reads models of any stage; report renders
 * commands' JSON documents as HTML (it reads JSON, no models).
 *
 * The graph is read from the source: every relative `import`/`export … from`
 * (type-only imports included: they are dependencies of the design too).
 * The test fails on any cycle between folders and on any import that goes up
 * or sideways, naming the file and the import.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");
const LAYERS: readonly (readonly string[])[] = [["util"], ["numerics"], ["ir"], ["io", "data"], ["passes", "calib", "runtime"], ["quant"], ["integer"], ["backends"], ["analysis"], ["eval"], ["report"], ["cli"]];
const level = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const folderOf = (file: string) => relative(SRC, file).split("/")[0]!;

/** Every import between two folders of src/: [from file, imported path, from folder, to folder]. */
function crossImports(): { file: string; spec: string; from: string; to: string }[] {
  const out: { file: string; spec: string; from: string; to: string }[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"(\.{1,2}\/[^"]+)"/g;
  for (const file of files(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(re)) {
      const target = resolve(dirname(file), m[1]!);
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from !== to) out.push({ file: relative(SRC, file), spec: m[1]!, from, to });
    }
  }
  return out;
}

/** Folder cycles (strongly connected components with more than one folder), by Tarjan's algorithm. */
function cycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("src/ folders are layers", () => {
  const imports = crossImports();

  it("every folder of src/ has a place in the layer order", () => {
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect(folders.filter((f) => !level.has(f))).toEqual([]);
    expect(readdirSync(SRC).filter((f) => f.endsWith(".ts"))).toEqual([]);
  });

  it("the import reader finds the imports (a known one is there)", () => {
    expect(imports).toContainEqual(expect.objectContaining({ file: "quant/quantize.ts", from: "quant", to: "ir" }));
  });

  it("no import cycle between folders", () => {
    const edges = new Map<string, Set<string>>();
    for (const { from, to } of imports) edges.set(from, new Set([...(edges.get(from) ?? []), to]));
    expect(cycles(edges)).toEqual([]);
  });

  it("every import goes down the layer order", () => {
    const bad = imports.filter(({ from, to }) => !(level.get(to)! < level.get(from)!)).map(({ file, spec, from, to }) => `${file} imports ${spec} (${from} → ${to})`);
    expect(bad).toEqual([]);
  });

  it("the cycle finder finds a planted cycle", () => {
    expect(cycles(new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])]]))).toEqual([["a", "b", "c"]]);
  });
});
