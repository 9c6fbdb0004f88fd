/**
 * part-name.ts: AMD/Xilinx part numbers pass, a known family with an unusual
 * rest warns, anything else (another vendor's part, a word) is refused.
 * The accepted parts are those of common AMD boards and device families.
 */
import { describe, expect, it } from "vitest";
import { checkPartName } from "../../../src/backends/hls/part-name.js";
import { HLS_DEFAULT_PART } from "../../../src/backends/hls/emit.js";

describe("checkPartName", () => {
  it.each([
    HLS_DEFAULT_PART, // xcvu9p-flga2104-2-e (VCU118, Alveo U200-class)
    "xc7z020clg400-1", // Zynq-7000 (PYNQ-Z1)
    "xc7a35tcpg236-1", // Artix-7 (Basys 3)
    "xc7k325tffg900-2", // Kintex-7 (KC705)
    "xc6slx9-2tqg144", // Spartan-6: speed grade before the package
    "xcku040-ffva1156-2-e", // Kintex UltraScale (KCU105)
    "xczu9eg-ffvb1156-2-e", // Zynq UltraScale+ (ZCU102)
    "xczu28dr-ffvg1517-2-e", // RFSoC (ZCU111)
    "xcau15p-ffvb676-2-e", // Artix UltraScale+
    "xck26-sfvc784-2LV-c", // Kria K26
    "xcu250-figd2104-2L-e", // Alveo U250
    "xcvc1902-vsva2197-2MP-e-S", // Versal AI Core (VCK190)
    "xa7a35tcsg324-1I", // automotive grade
    "XC7Z020CLG400-1", // case is ignored
  ])("accepts %s silently", (part) => {
    expect(checkPartName(part)).toBeUndefined();
  });

  it.each(["xcvu9p", "xc7z020", "XCZU28DR-2FFVG1517E"])("accepts %s, a known family with no recognised package/speed grade, with a warning", (part) => {
    expect(checkPartName(part)).toBe(`--part '${part}' has a known family but no package and speed grade recognised (e.g. xcvu9p-flga2104-2-e or xc7z020clg400-1); build.tcl passes it to set_part as given`);
  });

  it.each(["foo", "xc", "xcfoo-1", "ep4ce22f17c6", "10ax115n2f45e1sg"])("refuses %s in one line naming --part and an example", (part) => {
    expect(() => checkPartName(part)).toThrow(new RegExp(`^--part '${part}' is not an AMD/Xilinx part number \\(.*e\\.g\\. xcvu9p-flga2104-2-e or xc7z020clg400-1\\)$`));
  });

  it("refuses characters a Tcl word cannot hold safely", () => {
    expect(() => checkPartName("x;rm")).toThrow(/^--part expects a part name \(letters, digits, \. _ -\), got 'x;rm'$/);
  });
});
