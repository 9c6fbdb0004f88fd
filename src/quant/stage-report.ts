/** Text and JSON forms of the stages' reports (float passes, bias correction, data-free ranges; stage.ts), for `fixq quantize`. */
import type { PassStageRun, StageRunReport } from "./stage.js";

/** Reasons with value names elided, so that the same reason groups together. */
function grouped(items: readonly { reason: string }[]): string {
  const counts = new Map<string, number>();
  for (const { reason } of items) {
    const key = reason.replace(/'[^']*'/g, "a value");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([r, n]) => `${n}× ${r}`).join("; ");
}

const fmt = (x: number) => (x >= 100 ? x.toExponential(2) : x.toFixed(2));

/** Human-readable lines (without trailing newlines). */
export function passesText(runs: readonly PassStageRun[]): string[] {
  const lines: string[] = [];
  for (const { report: r, ms } of runs) {
    const time = `(${ms.toFixed(0)} ms)`;
    switch (r.pass) {
      case "fold-constants":
        lines.push(`constant folding  ${r.folded.length} layout ops on constants folded into initializers (${[...new Set(r.folded.map((f) => f.op))].join(", ")}) ${time}`);
        break;
      case "fuse-layernorm":
        lines.push(`LayerNorm fusion  ${r.fused.length} decomposed LayerNorm/RMSNorm chains → LayerNormalization/RMSNormalization, ${r.kept.length} kept ${time}`);
        for (const k of r.kept) lines.push(`  kept  ${k.node}: ${k.reason}`);
        break;
      case "fold-batchnorm":
        if (r.folded.length + r.unfolded.length === 0) break;
        lines.push(`BN folding  ${r.folded.length} folded, ${r.unfolded.length} kept ${time}`);
        for (const u of r.unfolded) lines.push(`  kept  ${u.bn}: ${u.reason}`);
        break;
      case "fold-affine":
        if (r.folded.length === 0) break;
        lines.push(`affine folding  ${r.folded.length} Mul/Div/Add by constants folded into the layer next to them ${time}`);
        break;
      case "relu6-to-relu":
        lines.push(`ReLU6 → ReLU  ${r.replaced.length} replaced${r.kept.length ? `, ${r.kept.length} Clip(0, 6) kept (not a layer's activation, e.g. inside hard-swish)` : ""} ${time}`);
        break;
      case "equalize":
        lines.push(`CLE  ${r.chains.length} chains equalized in ${r.iterations} sweeps${r.converged ? "" : " (not converged)"}, ${r.skipped.length} layers start no chain ${time}`);
        if (r.skipped.length) lines.push(`  skipped  ${grouped(r.skipped)}`);
        if (r.layers.length) lines.push("  weight-range spread (max/min over output channels of max|w|), before → after:");
        for (const l of r.layers) lines.push(`    ${fmt(l.before).padStart(9)} → ${fmt(l.after).padEnd(9)} ${l.layer}`);
        break;
      case "absorb-bias":
        lines.push(`high-bias absorption  ${r.absorbed.length} chains ${time}`);
        for (const a of r.absorbed) lines.push(`  ${a.first} → ${a.second}: ${a.channels} channels, shift up to ${a.maxShift.toPrecision(3)}`);
        if (r.skipped.length) lines.push(`  skipped  ${grouped(r.skipped)}`);
        break;
      case "weight-rounding":
        lines.push(`weight rounding (${r.method})  ${r.layers.length} layers in ${r.runs} runs over the calibration data ${time}`);
        if (r.layers.length) lines.push("  reconstruction loss, nearest → learned, weights moved off nearest:");
        for (const l of r.layers) {
          const why = l.keptNearest ? `  kept nearest: ${l.keptNearest}` : l.note ? `  (${l.note})` : "";
          lines.push(`    ${l.lossBefore.toExponential(2).padStart(9)} → ${l.lossAfter.toExponential(2).padEnd(9)} ${(100 * l.changedFraction).toFixed(1).padStart(5)}%  ${l.method}  ${l.node}${why}`);
        }
        if (r.skipped.length) lines.push(`  skipped  ${grouped(r.skipped)}`);
        break;
      case "bias-correction":
        lines.push(`bias correction (${r.mode})  ${r.corrected.length} layers${r.mode === "empirical" ? ` in ${r.runs} runs over the calibration data` : ", E[x] from BN statistics"} ${time}`);
        if (r.corrected.length) lines.push("  max |Δb| per layer:");
        for (const c of r.corrected) lines.push(`    ${c.maxAbsDelta.toExponential(2).padStart(9)}  ${c.layer}`);
        if (r.skipped.length) lines.push(`  skipped  ${grouped(r.skipped)}`);
        break;
      case "reader-bounds": {
        const below = r.bounded.filter((b) => b.lo !== null).length;
        lines.push(`reader bounds  ${r.bounded.length} activation range(s) stop where their readers stop telling values apart (${below} from below, e.g. x < −3 into hard-swish) ${time}`);
        break;
      }
      case "data-free-ranges": {
        const input = r.inputRange ? `input range [${r.inputRange.join(", ")}] assumed` : "no input range";
        lines.push(`data-free ranges  ${r.fromBn} tensors from BN statistics (β ± ${r.sigmas}|γ|), ${r.fromInput} from the input range, ${r.fromIntervals} by interval arithmetic; ${input} ${time}`);
        break;
      }
    }
  }
  return lines;
}

/** The reports as plain JSON, each with its pass name and time. */
export function passesJson(runs: readonly PassStageRun[]): Record<string, unknown>[] {
  return runs.map(({ ms, changed, report }) => ({ ...report, ms: Math.round(ms * 10) / 10, changed }));
}

/** Every stage in order, as the JSON summary's `stages`: name, time, whether it ran and why. */
export function stagesJson(runs: readonly StageRunReport[]): { name: string; ms: number; ran: boolean; reason: string }[] {
  return runs.map(({ name, ms, ran, reason }) => ({ name, ms: Math.round(ms * 10) / 10, ran, reason }));
}

/** One line: the stages that ran with their times, then those that did not and why. */
export function stagesText(runs: readonly StageRunReport[]): string[] {
  const ran = runs.filter((r) => r.ran).map((r) => `${r.name} ${r.ms.toFixed(0)} ms`);
  const off = runs.filter((r) => !r.ran).map((r) => `${r.name} (${r.reason})`);
  return [`stages  ${ran.join(", ")}`, ...(off.length ? [`  not run  ${off.join(", ")}`] : [])];
}
