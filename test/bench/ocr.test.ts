/**
 * The OCR bench's harness (bench/ocr/): PaddleOCR preprocessing, greedy CTC
 * decoding and the CER on hand-computed cases, then the float models on the
 * set's 10 clean lines, whose transcriptions are known by construction
 * (scripts/make_ocr_testset.py rendered them): if the preprocessing or the
 * decoding were wrong, the float recognizer could not read them.
 */
import { describe, expect, it } from "vitest";
import { characterErrorRate, ctcGreedyDecode, editDistance, loadCtcClasses } from "../../bench/ocr/ctc.js";
import { type GreyImage, loadTextLines, orientationSet, paddleBatch, resizeBilinear, rotate180 } from "../../bench/ocr/lines.js";
import { CLS_MODEL, classifyOrientation, REC_DICT, REC_MODEL, recognize } from "../../bench/ocr/run.js";
import { loadModel } from "../../src/ir/onnx/load.js";

/** Probabilities [1, T, C] with all mass on the given class per step. */
function oneHot(steps: number[], c: number): Float32Array {
  const p = new Float32Array(steps.length * c);
  steps.forEach((k, t) => {
    p[t * c + k] = 1;
  });
  return p;
}

describe("greedy CTC decoding and CER", () => {
  const classes = ["", "a", "b", " "];

  it("merges repeats, then drops blanks (a blank separates a doubled letter)", () => {
    // a a · a b b ␠ · · b  →  runs a, ·, a, b, ␠, ·, b  →  "aab b"
    const steps = [1, 1, 0, 1, 2, 2, 3, 0, 0, 2];
    expect(ctcGreedyDecode(oneHot(steps, 4), 0, steps.length, classes)).toBe("aab b");
    expect(ctcGreedyDecode(oneHot([0, 0, 0], 4), 0, 3, classes)).toBe("");
  });

  it("decodes the n-th sample of a batch by arg-max", () => {
    const c = 4;
    const p = new Float32Array(2 * 2 * c);
    p.set([0.1, 0.2, 0.6, 0.1, 0.5, 0.2, 0.2, 0.1], 0); // sample 0: b, blank
    p.set([0.1, 0.7, 0.1, 0.1, 0.2, 0.1, 0.3, 0.4], 2 * c); // sample 1: a, space
    expect(ctcGreedyDecode(p, 0, 2, classes)).toBe("b");
    expect(ctcGreedyDecode(p, 1, 2, classes)).toBe("a ");
  });

  it("edit distance and CER", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("日本", "日")).toBe(1);
    // 1 edit in "abcd" (4 chars) + 2 edits in "xy" (2 chars): 3/6.
    expect(characterErrorRate(["abed", ""], ["abcd", "xy"])).toEqual({ cer: 0.5, edits: 3, chars: 6, exact: 0 });
  });

  it("PaddleOCR's class table: blank, the 6623 dictionary lines, the space", () => {
    const t = loadCtcClasses(REC_DICT);
    expect(t.length).toBe(6625);
    expect(t[0]).toBe("");
    expect(t.at(-1)).toBe(" ");
    expect(t.filter((x) => x.length === 0).length).toBe(1);
  });
});

describe("preprocessing", () => {
  it("bilinear resize maps pixel centres as OpenCV's INTER_LINEAR does", () => {
    // Source [0, 100] to width 4: s = (d + 0.5)/2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    const img: GreyImage = { height: 1, width: 2, data: Uint8Array.from([0, 100]) };
    expect(Array.from(resizeBilinear(img, 1, 4))).toEqual([0, 25, 75, 100]);
    // Halving [0, 40, 80, 120] samples s = 0.5 and 2.5: the mean of each pair.
    const row: GreyImage = { height: 1, width: 4, data: Uint8Array.from([0, 40, 80, 120]) };
    expect(Array.from(resizeBilinear(row, 1, 2))).toEqual([20, 100]);
  });

  it("rotation by 180° reverses rows and columns", () => {
    const img: GreyImage = { height: 2, width: 3, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(rotate180(img).data)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  it("a batch: height 48, width by aspect ratio, pixel/127.5 − 1 in 3 channels, zero padding", () => {
    const white: GreyImage = { height: 24, width: 48, data: new Uint8Array(24 * 48).fill(255) };
    const black: GreyImage = { height: 12, width: 200, data: new Uint8Array(12 * 200) };
    const t = paddleBatch([white, black], 320);
    expect(t.dims).toEqual([2, 3, 48, 320]);
    const x = t.data as Float32Array;
    const at = (n: number, c: number, y: number, w: number) => x[((n * 3 + c) * 48 + y) * 320 + w];
    for (const c of [0, 1, 2]) {
      // white: 48·48/24 = 96 columns of +1, then 0
      expect(at(0, c, 10, 0)).toBe(1);
      expect(at(0, c, 47, 95)).toBe(1);
      expect(at(0, c, 10, 96)).toBe(0);
      // black: ⌈48·200/12⌉ = 800 > 320, squeezed to all 320 columns of −1
      expect(at(1, c, 0, 319)).toBe(-1);
    }
  });
});

describe("the float models on the clean lines", () => {
  const clean = loadTextLines().filter((l) => l.split === "clean");

  it("the set holds its 10 clean lines", () => {
    expect(clean.length).toBe(10);
  });

  it("the recognizer reads at least 9 of the 10 exactly", async () => {
    const texts = await recognize(loadModel(REC_MODEL), clean.map((l) => l.image), loadCtcClasses(REC_DICT));
    const exact = texts.filter((t, i) => t === clean[i]!.text).length;
    expect(exact, JSON.stringify(texts)).toBeGreaterThanOrEqual(9);
  });

  it("the classifier tells 0° from 180° on at least 19 of the 20 images", async () => {
    const set = orientationSet(clean);
    const preds = await classifyOrientation(loadModel(CLS_MODEL), set.images);
    const right = preds.filter((p, i) => p === set.labels[i]).length;
    expect(right).toBeGreaterThanOrEqual(19);
  });
});
