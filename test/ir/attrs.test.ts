import { describe, expect, it } from "vitest";
import { attr, attrFloat, attrFloats, attrInt, attrInt64s, attrInts, attrString, isDefaultDomain } from "../../src/ir/attrs.js";
import type { Node } from "../../src/ir/graph.js";
import { NameSet, uniqueNamer } from "../../src/ir/names.js";

const node: Node = {
  opType: "Conv",
  inputs: ["x"],
  outputs: ["y"],
  attributes: [
    { name: "group", type: 2, i: 3n },
    { name: "alpha", type: 1, f: 0.5 },
    { name: "pads", type: 7, ints: [1, 2n, 3, 4] },
    { name: "scales", type: 6, floats: [1.5, 2] },
    { name: "auto_pad", type: 3, s: new TextEncoder().encode("SAME_UPPER") },
    { name: "empty", type: 3, s: new Uint8Array() },
  ],
};

describe("attribute readers", () => {
  it("read each kind, numbers from bigints, and defaults only when absent", () => {
    expect(attr(node, "group")?.i).toBe(3n);
    expect(attrInt(node, "group")).toBe(3);
    expect(attrInt(node, "missing")).toBeUndefined();
    expect(attrInt(node, "missing", 7)).toBe(7);
    expect(attrInt(node, "group", 7)).toBe(3);
    expect(attrFloat(node, "alpha", 1)).toBe(0.5);
    expect(attrFloat(node, "beta", 1)).toBe(1);
    expect(attrInts(node, "pads")).toEqual([1, 2, 3, 4]);
    expect(attrInt64s(node, "pads")).toEqual([1, 2n, 3, 4]);
    expect(attrFloats(node, "scales")).toEqual([1.5, 2]);
    expect(attrString(node, "auto_pad")).toBe("SAME_UPPER");
    expect(attrString(node, "empty")).toBe("");
    expect(attrString(node, "missing")).toBeUndefined();
  });

  it("isDefaultDomain: absent, empty and ai.onnx only", () => {
    expect(isDefaultDomain({})).toBe(true);
    expect(isDefaultDomain({ domain: "" })).toBe(true);
    expect(isDefaultDomain({ domain: "ai.onnx" })).toBe(true);
    expect(isDefaultDomain({ domain: "com.microsoft" })).toBe(false);
  });
});

describe("fresh names", () => {
  it("skip taken names, reserved ones and those handed out before", () => {
    const fresh = uniqueNamer(["a", "a_1"]);
    expect(fresh("a")).toBe("a_2");
    expect(fresh("a")).toBe("a_3");
    expect(fresh("b")).toBe("b");
    const names = new NameSet();
    names.reserve("x");
    expect(names.fresh("x")).toBe("x_1");
    expect(names.has("x_1")).toBe(true);
  });
});
