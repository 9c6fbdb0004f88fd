/**
 * The search's objectives (search-objective.ts) on logits small enough to
 * work out by hand: softmax([0, ln 3]) = (1/4, 3/4), softmax([0, 0]) =
 * (1/2, 1/2), softmax([ln 2, 0, 0]) = (1/2, 1/4, 1/4).
 */
import { describe, expect, it } from "vitest";
import { crossEntropySum, ObjectiveSum } from "../../../src/quant/mixed/search-objective.js";

const classifier = (rows: number[][]) => ({ dtype: 1, dims: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) });
const LN3 = Math.log(3);

describe("crossEntropySum", () => {
  it("is Σ −log p(true class) over the rows, labels indexed from `first`", () => {
    // −log(3/4) − log(1/4): row 0 labelled 1, row 1 labelled 0
    expect(crossEntropySum([0, LN3, 0, LN3], [9, 1, 0], 1, 2, 2)).toBeCloseTo(-Math.log(3 / 4) - Math.log(1 / 4), 6);
    expect(crossEntropySum([Math.log(2), 0, 0], [0], 0, 1, 3)).toBeCloseTo(Math.log(2), 6);
  });

  it("refuses a label that is not one of the output's classes, naming the sample", () => {
    expect(() => crossEntropySum([0, 0, 0, 0], [1, 2], 0, 2, 2)).toThrow("label 2 of sample 1 is not a class of the model's 2-class output");
  });
});

describe("ObjectiveSum", () => {
  // reference uniform, quantized (1/4, 3/4): KL = ½ ln(½ / ¼) + ½ ln(½ / ¾) = ½ ln(4/3); label 1: CE = ln(4/3).
  const ref = classifier([[0, 0]]);
  const q = Float32Array.from([0, LN3]);
  const value = (o: "kl" | "xent" | "kl+xent") => {
    const s = new ObjectiveSum(o, [1]);
    s.add(ref, q, 0);
    return s.value();
  };

  it("kl is the float model's KL, xent the cross-entropy of the label, kl+xent their sum", () => {
    expect(value("kl")).toBeCloseTo(0.5 * Math.log(4 / 3), 6);
    expect(value("xent")).toBeCloseTo(Math.log(4 / 3), 6);
    expect(value("kl+xent")).toBeCloseTo(1.5 * Math.log(4 / 3), 6);
  });

  it("averages over every row of every batch", () => {
    const s = new ObjectiveSum("xent", [1, 0, 1]);
    s.add(classifier([[0, 0], [0, 0]]), Float32Array.from([0, LN3, 0, LN3]), 0);
    s.add(ref, q, 2);
    expect(s.value()).toBeCloseTo((2 * -Math.log(3 / 4) - Math.log(1 / 4)) / 3, 6);
  });

  it("a labelled objective needs labels and a classifier output", () => {
    expect(() => new ObjectiveSum("xent")).toThrow("the search objective xent needs class labels of the scored samples");
    const s = new ObjectiveSum("kl+xent", [0]);
    expect(() => s.add({ dtype: 1, dims: [1, 2, 2], data: new Float32Array(4) }, new Float32Array(4), 0)).toThrow("needs a classifier (first output [N, C]); this model's first output is [1, 2, 2]");
  });
});
