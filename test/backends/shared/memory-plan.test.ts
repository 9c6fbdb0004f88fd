import { describe, expect, it } from "vitest";
import { planArena, VALUE_SLACK } from "../../../src/backends/shared/memory-plan.js";
import type { IntOp, ProgramValue } from "../../../src/integer/program.js";
import { makeProgram, UINT8 } from "../emulator/programs.js";

/** A chain x → r1 → … → r6 of rescales (each reads the previous value) plus a long-lived skip from r1 into r6. */
function chain() {
  const shape = [2, 10, 10];
  const values: ProgramValue[] = [];
  const ops: IntOp[] = [];
  let prev = "x";
  for (let i = 1; i <= 6; i++) {
    const inputs = i === 6 ? [prev, "r1"] : [prev];
    ops.push({ kind: "rescale", source: `op${i}`, inputs, output: `r${i}`, inputZeros: inputs.map(() => 0), multipliers: inputs.map(() => 1), shift: 0, outZero: 0, clampLo: 0, clampHi: 255 });
    values.push({ name: `r${i}`, shape, type: UINT8, zeroPoint: 0, scale: 1 });
    prev = `r${i}`;
  }
  return makeProgram([{ name: "x", shape, type: UINT8, zeroPoint: 0 }], ops, values, ["r6"]);
}

describe("memory plan", () => {
  it("reuses the bytes of dead values and never overlaps two live ones", () => {
    const p = chain();
    const batch = 3;
    const plan = planArena(p, batch, new Set(["r6"]), ["x"]);
    const bytes = (v: string) => plan.length.get(v)! * 4 + VALUE_SLACK;
    const all = [...plan.length.keys()];
    const total = all.reduce((s, v) => s + bytes(v), 0);
    expect(plan.bytes).toBeLessThan(total);
    // live sets recomputed here: a value lives from its op (x: from the start) to its last reader (r6: to the end)
    const born = new Map<string, number>([["x", -1]]);
    const last = new Map<string, number>();
    p.ops.forEach((op, i) => {
      if ("inputs" in op) for (const v of op.inputs) last.set(v, i);
      else if (op.kind !== "quantize") last.set(op.input, i);
      if (op.kind !== "dequantize" && op.kind !== "quantize") born.set(op.output, i);
    });
    last.set("r6", p.ops.length);
    let peak = 0;
    for (let i = 0; i < p.ops.length; i++) {
      const live = all.filter((v) => born.get(v)! <= i && last.get(v)! >= i);
      peak = Math.max(peak, live.reduce((s, v) => s + Math.ceil(bytes(v) / 16) * 16, 0));
      for (const a of live) {
        for (const b of live) {
          if (a === b) continue;
          const [oa, ob] = [plan.offset.get(a)!, plan.offset.get(b)!];
          expect(oa + bytes(a) <= ob || ob + bytes(b) <= oa, `${a} and ${b} overlap at op ${i}`).toBe(true);
        }
      }
    }
    expect(plan.peakLiveBytes).toBe(peak);
    expect(plan.offset.get("r3")).toBeLessThan(plan.bytes);
  });
});
