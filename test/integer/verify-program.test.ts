import { beforeAll, describe, expect, it } from "vitest";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { ConvOp, IntOp, Program, RequantOp, RescaleOp } from "../../src/integer/program.js";
import { verifyProgram } from "../../src/integer/verify-program.js";
import type { IntType } from "../../src/numerics/int.js";
import { quantizedCnn } from "../helpers/qdq-models.js";

describe("verifyProgram", () => {
  let p: Program;
  beforeAll(async () => {
    p = integerizeModel((await quantizedCnn()).quantized);
  });

  const withOp = (i: number, op: IntOp): Program => ({ ...p, ops: p.ops.map((o, k) => (k === i ? op : o)) });
  const index = (kind: IntOp["kind"]) => p.ops.findIndex((o) => o.kind === kind);

  it("passes an integerized model", () => {
    expect(verifyProgram(p)).toEqual([]);
  });

  it("finds use before definition, a value defined twice, and a float value", () => {
    const swapped = { ...p, ops: [p.ops[0]!, p.ops[2]!, p.ops[1]!, ...p.ops.slice(3)] };
    expect(verifyProgram(swapped).join("\n")).toMatch(/reads '.*' before it is defined/);
    const twice = { ...p, ops: [...p.ops.slice(0, 2), p.ops[1]!, ...p.ops.slice(2)] };
    expect(verifyProgram(twice).join("\n")).toMatch(/is defined twice/);
    const values = new Map(p.values);
    const [name, v] = [...values][3]!;
    values.set(name, { ...v, type: { kind: "float" } as unknown as IntType });
    expect(verifyProgram({ ...p, values })).toContain(`value '${name}' is not an integer`);
  });

  it("finds float entering or leaving anywhere but the program's inputs and outputs", () => {
    const q = p.ops[0]!;
    expect(verifyProgram(withOp(0, { ...q, input: "elsewhere" } as IntOp)).join()).toMatch(/quantizes 'elsewhere', which is not a program input/);
    const last = p.ops.length - 1;
    expect(verifyProgram(withOp(last, { ...p.ops[last]!, output: "nowhere" } as IntOp)).join()).toMatch(/not a program output/);
  });

  it("finds clamps outside the type, multipliers outside the width, and wrong weight shapes", () => {
    const rq = index("requant");
    expect(verifyProgram(withOp(rq, { ...(p.ops[rq] as RequantOp), clampHi: 256 })).join()).toMatch(/clamp \[0, 256\] is not inside uint8/);
    const bad = { ...(p.ops[rq] as RequantOp), multipliers: [{ m: 2 ** 29, s: 30 }] };
    expect(verifyProgram(withOp(rq, bad)).join()).toMatch(/is not a 31-bit multiplier/);
    const conv = index("conv");
    const c = p.ops[conv] as ConvOp;
    expect(verifyProgram(withOp(conv, { ...c, weight: c.weight.subarray(1) })).join()).toMatch(/weights for shape/);
    expect(verifyProgram(withOp(conv, { ...c, group: 2 })).join()).toMatch(/the weight expects 2/);
  });

  it("finds a pool or conv whose output size is not what its window gives, and a multiplier count that fits no axis", () => {
    const mp = index("maxpool");
    expect(verifyProgram(withOp(mp, { ...(p.ops[mp] as IntOp & { kind: "maxpool" }), pads: [1, 1, 1, 1] })).join()).toMatch(/output height is \d+, the window gives \d+/);
    const conv = index("conv");
    expect(verifyProgram(withOp(conv, { ...(p.ops[conv] as ConvOp), strides: [2, 2] })).join()).toMatch(/the window gives/);
    const rq = index("requant");
    const r = p.ops[rq] as RequantOp;
    expect(verifyProgram(withOp(rq, { ...r, multipliers: r.multipliers.slice(0, 2) })).join()).toMatch(/2 multipliers for \d+ channels/);
    expect(verifyProgram(withOp(rq, { ...r, multipliers: [{ m: 2 ** 30, s: 70 }] })).join()).toMatch(/shift 70 is outside 0…62/);
  });

  it("finds a rescale shift beyond the exact range and a size mismatch in data movement", () => {
    const rs: RescaleOp = { kind: "rescale", source: "test", inputs: [p.ops[0]!.output], output: p.ops[0]!.output, inputZeros: [0], multipliers: [1], shift: 60, outZero: 0, clampLo: 0, clampHi: 255 };
    expect(verifyProgram({ ...p, ops: [...p.ops.slice(0, 1), rs, ...p.ops.slice(1)] }).join()).toMatch(/shift 60 is outside 0…52/);
    const mv = index("reshape");
    const values = new Map(p.values);
    const out = p.ops[mv]!.output;
    values.set(out, { ...values.get(out)!, shape: [7] });
    expect(verifyProgram({ ...p, values }).join()).toMatch(/elements in, 7 out/);
  });
});
