import { describe, expect, it } from "vitest";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { parseBudget, parseBudgets, resolveBudgets } from "../../../src/quant/mixed/budget.js";
import { parseCandidates, splitCandidates } from "../../../src/quant/mixed/candidates.js";
import { groupsOf } from "../../../src/quant/mixed/problem.js";

describe("--budget", () => {
  it("reads bytes (decimal and binary units) into bits, BOPs and ms, or a percentage", () => {
    expect(parseBudget("size=5.2MB")).toMatchObject({ kind: "size", value: 5.2e6 * 8, percent: false });
    expect(parseBudget("size=800KB").value).toBe(800e3 * 8);
    expect(parseBudget("size=1KiB").value).toBe(1024 * 8);
    expect(parseBudget("size=100").value).toBe(800);
    expect(parseBudget("bops=3G").value).toBe(3e9);
    expect(parseBudget("latency=800us").value).toBeCloseTo(0.8, 12);
    expect(parseBudget("bops=60%")).toMatchObject({ kind: "bops", value: 60, percent: true });
  });

  it("refuses unknown kinds, units, non-positive values and a kind given twice", () => {
    expect(() => parseBudget("speed=5")).toThrow("--budget 'speed=5': expected KIND=VALUE with KIND one of size, bops, latency");
    expect(() => parseBudget("size=5XB")).toThrow("unknown unit 'XB' for size");
    expect(() => parseBudget("size=0")).toThrow("the value must be a positive number");
    expect(() => parseBudgets(["size=1MB", "size=50%"])).toThrow("--budget: size is given twice");
  });

  it("takes a percentage of the all-highest cost (every group at its dearest candidate)", () => {
    const c = (s: number) => ({ sensitivity: 0, sizeBits: s, bops: 0 });
    const groups = groupsOf({ candidates: ["a", "b"], layers: [{ node: "x", group: "x", costs: { a: c(10), b: c(30) } }, { node: "y", group: "y", costs: { a: c(50), b: c(20) } }] });
    expect(resolveBudgets(parseBudgets(["size=50%"]), groups)).toEqual([{ kind: "size", limit: 40 }]);
  });
});

describe("--mixed candidates", () => {
  it("split on commas outside <…>", () => {
    expect(splitCandidates("int4,ap_fixed<8,3>/uint8, int8")).toEqual(["int4", "ap_fixed<8,3>/uint8", "int8"]);
    expect(() => splitCandidates("int4,,int8")).toThrow("an empty candidate");
  });

  it("resolve to layer settings, /ACTS overriding the recipe's activations", () => {
    const [a, b, c] = parseCandidates("int3,int8/uint16,mxfp4/float", buildRecipe({}));
    expect(a!.settings).toMatchObject({ weights: "int4", weightBits: 3, exactWeightRange: true, acts: "uint8" });
    expect(b!.settings).toMatchObject({ weights: "int8", acts: "uint16" });
    expect(c!.settings).toMatchObject({ weights: "mxfp4", acts: "float" });
  });

  it("refuse one candidate, repeats and unknown names, naming the candidate", () => {
    const r = buildRecipe({});
    expect(() => parseCandidates("int8", r)).toThrow("give at least two candidates");
    expect(() => parseCandidates("int8,int8", r)).toThrow("candidate 'int8' is given twice");
    expect(() => parseCandidates("int4,int9", r)).toThrow(/^--mixed candidate 'int9': --weights must be one of/);
    expect(() => parseCandidates("int4,int8/", r)).toThrow("must be WEIGHTS or WEIGHTS/ACTS");
  });
});
