/**
 * Format names in quantization annotations: fixq's canonical integer names,
 * the qonnx names that are exact for them, the fixed-point case, and the
 * reader's parse of both.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { type AffineQuant, intFormat } from "../../src/ir/quant.js";
import {
  codesAnnotation,
  finnIntName,
  fixedPointAnnotation,
  formatOfFinnName,
  intFormatName,
  parseIntFormatName,
} from "../../src/quant/format-annotation.js";
import { readIntFormat } from "../../src/quant/qdq-read-formats.js";
import { qonnxDatatypeProblem } from "../helpers/qonnx-datatype.js";

const int8 = intFormat("int8");
const defaultWeights = { ...intFormat("int8", { valueBits: 7, symmetric: true }), qmin: -64, qmax: 64 };
const int3In4 = intFormat("int4", { valueBits: 3 }); // [-4, 3] stored as INT4
const int3Sym = intFormat("int4", { valueBits: 3, symmetric: true }); // [-3, 3]
const int7Sym = intFormat("int8", { valueBits: 7, symmetric: true }); // [-63, 63]
const int32 = { dtype: DataType.INT32, bits: 32, signed: true, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 };

const affine = (format = int8, scale = [0.25], zeroPoint = [0]): AffineQuant => ({
  kind: "affine",
  format,
  scale: Float32Array.from(scale),
  zeroPoint: Int32Array.from(zeroPoint),
  ...(scale.length > 1 ? { axis: 0 } : {}),
});

describe("fixq_format names", () => {
  it("name the narrowest type, then the range when it is not all of the type", () => {
    expect(intFormatName(int8)).toBe("int8");
    expect(intFormatName(defaultWeights)).toBe("int8[-64,64]");
    expect(intFormatName(int3In4)).toBe("int3");
    expect(intFormatName(int3Sym)).toBe("int3[-3,3]");
    expect(intFormatName(int7Sym)).toBe("int7[-63,63]");
    expect(intFormatName(intFormat("uint4"))).toBe("uint4");
    expect(intFormatName(intFormat("uint16"))).toBe("uint16");
    expect(intFormatName(int32)).toBe("int32");
  });

  it("parse back to the same range for the tensor's storage type", () => {
    for (const f of [int8, defaultWeights, int3In4, int3Sym, int7Sym, intFormat("uint4"), int32]) {
      const back = parseIntFormatName(intFormatName(f), f.dtype);
      expect(back).toMatchObject({ dtype: f.dtype, signed: f.signed, qmin: f.qmin, qmax: f.qmax });
    }
  });

  it("refuse names that do not fit the storage type or are not canonical", () => {
    expect(parseIntFormatName("int8", DataType.INT4)).toMatch(/does not fit/);
    expect(parseIntFormatName("uint4", DataType.INT8)).toMatch(/does not fit/);
    expect(parseIntFormatName("int8[-3,3]", DataType.INT8)).toMatch(/not canonical/);
    expect(parseIntFormatName("int3[-5,3]", DataType.INT8)).toMatch(/not inside int3/);
    expect(parseIntFormatName("int1", DataType.INT8)).toMatch(/2…32 bits/);
    expect(parseIntFormatName("fp8e4m3fn", DataType.INT8)).toMatch(/not an integer format name/);
    expect(parseIntFormatName("int8", DataType.FLOAT)).toMatch(/not stored as an integer/);
  });
});

describe("finn_datatype names", () => {
  it("name the narrowest qonnx INT/UINT type covering the range", () => {
    expect(finnIntName(defaultWeights)).toBe("INT8");
    expect(finnIntName(int3In4)).toBe("INT3");
    expect(finnIntName(int3Sym)).toBe("INT3");
    expect(finnIntName(int7Sym)).toBe("INT7");
    expect(finnIntName(intFormat("uint8"))).toBe("UINT8");
    expect(finnIntName({ ...intFormat("uint4"), qmax: 1 })).toBe("BINARY");
    expect(finnIntName(int32)).toBe("INT32");
  });

  it("every name the writer can give parses under qonnx's grammar", () => {
    for (const f of [int8, defaultWeights, int3In4, int3Sym, int7Sym, intFormat("uint4"), intFormat("uint16"), int32]) {
      expect(qonnxDatatypeProblem(finnIntName(f))).toBeUndefined();
      expect(qonnxDatatypeProblem(codesAnnotation(affine(f))!.get("finn_datatype")!)).toBeUndefined();
    }
  });

  it("read back as the full range of the qonnx type", () => {
    expect(formatOfFinnName("INT3", DataType.INT4)).toMatchObject({ qmin: -4, qmax: 3, signed: true });
    expect(formatOfFinnName("UINT5", DataType.UINT8)).toMatchObject({ qmin: 0, qmax: 31, signed: false });
    expect(formatOfFinnName("BIPOLAR", DataType.INT8)).toMatchObject({ qmin: -1, qmax: 1 });
    expect(formatOfFinnName("INT16", DataType.INT8)).toMatch(/does not fit/);
    expect(formatOfFinnName("FIXED<8,2>", DataType.INT8)).toBeUndefined();
  });
});

describe("fixed point on the dequantized tensor", () => {
  it("is FIXED<W,I> for a signed, zero-point-0 format with one scale 2^(I−W) < 1", () => {
    // int8 codes at scale 2^-4: W = 8, I − W = −4, I = 4
    const a = fixedPointAnnotation(affine(int8, [2 ** -4]))!;
    expect(a.get("finn_datatype")).toBe("FIXED<8,4>");
    expect(a.get("fixq_format")).toBe("fixed<8,4,AP_RND_CONV,AP_SAT>");
    expect(qonnxDatatypeProblem(a.get("finn_datatype")!)).toBeUndefined();
    // the same scale on every channel; a narrowed range keeps its range in codes
    const b = fixedPointAnnotation(affine(defaultWeights, [2 ** -10, 2 ** -10], [0, 0]))!;
    expect(b.get("finn_datatype")).toBe("FIXED<8,-2>");
    expect(b.get("fixq_format")).toBe("fixed<8,-2,AP_RND_CONV,AP_SAT>[-64,64]");
  });

  it("is absent otherwise", () => {
    expect(fixedPointAnnotation(affine(int8, [0.3]))).toBeUndefined(); // not a power of two
    expect(fixedPointAnnotation(affine(int8, [1]))).toBeUndefined(); // I = W
    expect(fixedPointAnnotation(affine(int8, [2 ** -3], [1]))).toBeUndefined(); // zero point
    expect(fixedPointAnnotation(affine(intFormat("uint8"), [2 ** -3]))).toBeUndefined(); // unsigned
    expect(fixedPointAnnotation(affine(int8, [2 ** -3, 2 ** -4], [0, 0]))).toBeUndefined(); // two scales
  });
});

describe("readIntFormat", () => {
  const codes = (values: number[]) => ({ values, zeroPoints: [0] });
  it("takes fixq_format, then an integer finn_datatype, then infers from the codes with a note", () => {
    expect(readIntFormat("w", DataType.INT4, new Map([["fixq_format", "int3[-3,3]"]]), codes([-3, 3]))).toEqual({
      format: { dtype: DataType.INT4, bits: 3, signed: true, qmin: -3, qmax: 3 },
    });
    expect(readIntFormat("w", DataType.INT8, new Map([["finn_datatype", "INT7"]]), codes([-3, 3])).format).toMatchObject({ qmin: -64, qmax: 63 });
    const inferred = readIntFormat("w", DataType.INT8, undefined, codes([-4, 3]));
    expect(inferred.format).toMatchObject({ bits: 3, qmin: -4, qmax: 3 });
    expect(inferred.note).toMatch(/weight 'w' \(int8 codes in \[-4, 3\]\) has no format annotation; read as int3/);
    // the storage type itself: nothing to say; activations and int32 biases keep the storage range
    expect(readIntFormat("w", DataType.INT8, undefined, codes([-128, 3]))).toEqual({ format: { dtype: DataType.INT8, bits: 8, signed: true, qmin: -128, qmax: 127 } });
    expect(readIntFormat("a", DataType.UINT8, undefined).format).toMatchObject({ qmin: 0, qmax: 255 });
    expect(readIntFormat("b", DataType.INT32, undefined, codes([1, 2])).format).toMatchObject({ bits: 32 });
  });

  it("reads MXINT8 elements (fixq_format 'mxint8') at their storage type, and refuses an unknown name", () => {
    expect(readIntFormat("w", DataType.INT8, new Map([["fixq_format", "mxint8"]]), codes([-128, 127])).format).toMatchObject({ qmin: -128, qmax: 127 });
    expect(() => readIntFormat("w", DataType.INT8, new Map([["fixq_format", "int8x"]]), codes([0]))).toThrow(/tensor 'w': quantization_annotation fixq_format: 'int8x' is not an integer format name/);
  });
});
