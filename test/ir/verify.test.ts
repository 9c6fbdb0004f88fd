import { describe, expect, it } from "vitest";
import { FixqError } from "../../src/ir/errors.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { assertValid, verify } from "../../src/ir/verify.js";
import { graph, model, node, value } from "./builders.js";

const x = value("x", 1, ["N", 4]);
const y = value("y", 1, ["N", 4]);

describe("verify", () => {
  it("accepts a well-formed graph", () => {
    const m = model(graph([node("Relu", ["x"], ["h"]), node("Neg", ["h"], ["y"])], [x], [y]));
    expect(verify(m)).toEqual([]);
  });

  it("reports a dangling input with the node", () => {
    const m = model(graph([node("Relu", ["nope"], ["y"], [], "r1")], [x], [y]));
    expect(() => assertValid(m)).toThrow(/graph node 'r1': input 'nope' is not produced/);
  });

  it("reports a value defined twice", () => {
    const m = model(graph([node("Relu", ["x"], ["y"], [], "a"), node("Neg", ["x"], ["y"], [], "b")], [x], [y]));
    expect(verify(m).map((d) => d.code)).toContain("duplicate");
  });

  it("reports a cycle, and mere disorder only as a warning", () => {
    const cyc = model(graph([node("Add", ["x", "b"], ["a"], [], "n1"), node("Relu", ["a"], ["b"], [], "n2"), node("Neg", ["a"], ["y"])], [x], [y]));
    const diags = verify(cyc);
    expect(diags.find((d) => d.code === "cycle")?.message).toMatch(/node 'n1'.*node 'n2'|node 'n2'.*node 'n1'/);
    const disorder = model(graph([node("Neg", ["h"], ["y"]), node("Relu", ["x"], ["h"])], [x], [y]));
    const d2 = verify(disorder);
    expect(d2.map((d) => [d.severity, d.code])).toEqual([["warning", "order"]]);
    expect(assertValid(disorder)).toHaveLength(1);
  });

  it("reports a graph output nobody produces", () => {
    const m = model(graph([node("Relu", ["x"], ["h"])], [x], [y]));
    expect(verify(m)[0]!.message).toMatch(/graph output 'y' is never produced/);
  });

  it("reports a declared dtype that disagrees with the computed one", () => {
    const m = model(graph([node("Cast", ["x"], ["y"], [{ name: "to", type: 2, i: 7 }])], [x], [y]));
    expect(verify(m)[0]!.message).toMatch(/declared f32 but computed as int64/);
  });

  it("reports a tensor whose data disagrees with its dims, naming it", () => {
    const bad = { ...makeFloatTensor("w", [2, 3], [1, 2, 3]) };
    const m = model(graph([node("Add", ["x", "w"], ["y"])], [x], [y], [bad]));
    let err: unknown;
    try {
      assertValid(m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FixqError);
    expect((err as FixqError).message).toMatch(/tensor 'w': raw_data is 12 bytes, but dims \[2,3\] of f32 need 24/);
  });

  it("escapes control characters from names, so an error stays one printable line (fuzz finding)", () => {
    const m = model(graph([node("Relu", ["x"], ["h"])], [x], [value("evil\rerror: spoofed\u001b[31m\nline")]));
    expect(() => assertValid(m)).toThrow("graph output 'evil\\x0derror: spoofed\\x1b[31m\\x0aline' is never produced");
  });

  it("does not size arrays by a declared dim (fuzz finding: Reshape shape input of length 4e7)", () => {
    const m = model(graph([node("Reshape", ["x", "s"], ["y"])], [x, value("s", 7, [40_000_000])], [value("y", 1, [8])]));
    const before = process.memoryUsage().rss;
    verify(m);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  it("sees outer-scope values from subgraphs", () => {
    const body = graph([node("Neg", ["h"], ["o"])], [], [value("o")]);
    const m = model(
      graph(
        [node("Relu", ["x"], ["h"]), node("If", ["c"], ["y"], [{ name: "then_branch", type: 5, g: body }, { name: "else_branch", type: 5, g: body }])],
        [x, value("c", 9, [])],
        [y],
      ),
    );
    expect(verify(m).filter((d) => d.severity === "error")).toEqual([]);
    const broken = graph([node("Neg", ["missing"], ["o"])], [], [value("o")]);
    const m2 = model(graph([node("If", ["c"], ["y"], [{ name: "then_branch", type: 5, g: broken }])], [value("c", 9, [])], [y]));
    expect(verify(m2)[0]!.where).toMatch(/then_branch/);
  });
});
