/** optionName: a flag for command-line values, the quoted key for recipe-file values. */
import { describe, expect, it } from "vitest";
import { optionName } from "../../src/quant/option-name.js";

describe("optionName", () => {
  it("writes a camelCase key as its kebab-case flag", () => {
    expect(optionName("weights", false)).toBe("--weights");
    expect(optionName("weightBits", false)).toBe("--weight-bits");
    expect(optionName("fp4Storage", false)).toBe("--fp4-storage");
    expect(optionName("int4Grid", false)).toBe("--int4-grid");
  });

  it("quotes the key itself for recipe-file values", () => {
    expect(optionName("weightBits", true)).toBe("key 'weightBits'");
  });
});
