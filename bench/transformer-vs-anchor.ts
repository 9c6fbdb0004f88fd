/**
 * bench:transformer's int4 goal, checked row by row: each fixq MatMulNBits
 * "MatMuls only" row (ORT's format: the patch Conv and the head Gemm float)
 * against the best ONNX Runtime MatMulNBitsQuantizer anchor at the same block
 * size (the anchor with the highest top-1), on the same images:
 *   gain = top-1(fixq) − top-1(anchor), with the paired SE (bench/paired.ts)
 *   KL ratio = KL(float ‖ fixq) / KL(float ‖ anchor)   (< 1: fixq closer to float)
 * Symmetric rows (int4) are compared with the symmetric anchors, asymmetric
 * ones (uint4, zero point per block) with the asymmetric anchor.
 */
import { pairedDrop } from "./paired.js";

interface ComparedRow {
  readonly name: string;
  readonly preds?: Int32Array;
  readonly kl?: number;
}

const top1 = (p: Int32Array, labels: ArrayLike<number>) => {
  let right = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === labels[i]) right++;
  return right / p.length;
};

/** Prints, per block size and symmetry, each fixq row's paired gain and KL ratio over the best anchor. */
export function printAnchorComparison(rows: readonly ComparedRow[], labels: ArrayLike<number>): void {
  const lines: string[] = [];
  for (const b of [32, 128]) {
    for (const asym of [false, true]) {
      const isAsym = (name: string) => name.includes("uint4") || name.includes("asymmetric");
      const anchors = rows.filter((r) => r.preds && r.name.startsWith(`anchor ORT MatMulNBits int4 b${b} `) && isAsym(r.name) === asym);
      if (anchors.length === 0) continue;
      const best = anchors.reduce((a, r) => (top1(r.preds!, labels) > top1(a.preds!, labels) ? r : a));
      for (const r of rows) {
        if (!r.preds || !r.name.startsWith("fixq MatMulNBits") || !r.name.includes(` b${b} `) || !r.name.includes("MatMuls only") || isAsym(r.name) !== asym) continue;
        const d = pairedDrop(best.preds!, r.preds, labels);
        const ratio = r.kl !== undefined && best.kl ? (r.kl / best.kl).toFixed(2) : "-";
        lines.push(`  ${r.name.padEnd(58)} vs ${best.name.replace("anchor ORT MatMulNBits ", "ORT ").padEnd(34)} gain ${(-100 * d.drop).toFixed(2).padStart(6)} ± ${(100 * d.se).toFixed(2)}, KL ratio ${ratio}`);
      }
    }
  }
  if (lines.length) console.log(`\nfixq int4 (MatMuls only) against the best ORT MatMulNBits anchor at the same block size (top-1 gain, paired SE; KL ratio < 1: closer to float):\n${lines.join("\n")}`);
}
