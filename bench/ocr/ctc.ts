/**
 * Greedy CTC decoding of PaddleOCR's recognizer output, and the character
 * error rate.
 *
 * The recognizer outputs [N, T, C] class probabilities per time step. Class 0
 * is the CTC blank; classes 1..D are the lines of the dictionary
 * (ppocr_keys_v1.txt, D = 6623); class D + 1 is the space (PaddleOCR's
 * use_space_char), so C = D + 2 = 6625. Greedy decoding takes the arg-max
 * class at each step, merges runs of the same class, then drops blanks:
 *     k_t = argmax_c p[t, c],  text = map(k_t for t where k_t ≠ 0 and k_t ≠ k_{t−1}).
 *
 * CER = Σ edit distance(hypothesis, reference) / Σ |reference| over the set,
 * counting Unicode code points; the edit distance is Levenshtein's
 * (insertions, deletions and substitutions cost 1).
 */
import { readFileSync } from "node:fs";

/** The class table: index 0 the blank (""), then the dictionary lines, then " ". */
export function loadCtcClasses(dictFile: string): string[] {
  const lines = readFileSync(dictFile, "utf8").split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines.at(-1) === "") lines.pop();
  return ["", ...lines, " "];
}

/**
 * Greedy-decodes sample `n` of probabilities `probs` [N, T, C] (C must equal
 * classes.length).
 */
export function ctcGreedyDecode(probs: Float32Array, n: number, steps: number, classes: readonly string[]): string {
  const c = classes.length;
  let out = "";
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    const base = (n * steps + t) * c;
    let best = 0;
    let bestP = probs[base]!;
    for (let k = 1; k < c; k++) {
      const p = probs[base + k]!;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best !== 0 && best !== prev) out += classes[best];
    prev = best;
  }
  return out;
}

/** Levenshtein distance between two strings, by code point. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[y.length]!;
}

/** Character error rate of `hyps` against `refs`: Σ edits / Σ reference length (a fraction, not %). */
export function characterErrorRate(hyps: readonly string[], refs: readonly string[]): { cer: number; edits: number; chars: number; exact: number } {
  let edits = 0;
  let chars = 0;
  let exact = 0;
  refs.forEach((r, i) => {
    const d = editDistance(hyps[i]!, r);
    edits += d;
    chars += [...r].length;
    if (d === 0) exact++;
  });
  return { cer: edits / chars, edits, chars, exact };
}
