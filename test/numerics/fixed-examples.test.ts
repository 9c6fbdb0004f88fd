/**
 * Published ap_fixed examples (UG1399), committed as data in
 * test/fixtures/numerics/ap-fixed-examples.json; see the README beside it for
 * sources and for the modes the guide gives no worked example for.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  fixedFromNumber,
  fixedQuantizer,
  fixedToNumber,
  fracBits,
  parseFixedType,
} from "../../src/numerics/index.js";

interface Example {
  section: string;
  type: string;
  input: number;
  expected: number;
  bits?: string;
}

const file = new URL("../fixtures/numerics/ap-fixed-examples.json", import.meta.url);
const { examples } = JSON.parse(readFileSync(file, "utf8")) as { examples: Example[] };

describe("UG1399 worked examples", () => {
  it("cover every rounding mode and the overflow modes the guide illustrates", () => {
    const modes = new Set(examples.map((e) => e.section.split(" / ")[1]?.split(" ")[0]).filter(Boolean));
    for (const m of ["AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF", "AP_RND_CONV", "AP_TRN", "AP_TRN_ZERO"]) {
      expect(modes.has(m), m).toBe(true);
    }
    for (const m of ["AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP"]) expect(modes.has(m), m).toBe(true);
  });

  it.each(examples)("$type = $input yields $expected ($section)", (e) => {
    const t = parseFixedType(e.type);
    const raw = fixedFromNumber(t, e.input);
    expect(fixedToNumber(t, raw)).toBe(e.expected);
    expect(fixedQuantizer(t)(e.input)).toBe(Number(raw));
    if (e.bits !== undefined) {
      const pattern = raw < 0n ? raw + (1n << BigInt(t.bits)) : raw; // W-bit two's complement
      expect(pattern).toBe(BigInt(e.bits));
      expect(Number(raw) * 2 ** -fracBits(t)).toBe(e.expected);
    }
  });
});
