/**
 * `--budget KIND=VALUE`: a limit on the chosen formats' total cost.
 *
 *   size=5.2MB | 800KB | 1.5MiB | 123456 (bytes) | 75%   model weight storage
 *   bops=3.2G  | 1e9 | 60%                              MACs × weight bits × activation bits
 *   latency=2.5ms | 800us | 90%                         from --latency-table
 *
 * Decimal suffixes are powers of 1000 (KB, MB, GB; K, M, G, T for BOPs), binary
 * ones powers of 1024 (KiB, MiB, GiB). A percentage is of the all-highest cost:
 * every group at its dearest candidate. Size limits are held in bits (bytes × 8),
 * the unit of `sizeBits`.
 */
import { FixqError } from "../../ir/errors.js";
import { BUDGET_KINDS, type Budget, type BudgetKind, budgetRange, type Group } from "./problem.js";

export interface BudgetSpec {
  readonly kind: BudgetKind;
  /** An absolute limit in the problem's units (bits, BOPs, ms), or a percentage of the all-highest cost. */
  readonly value: number;
  readonly percent: boolean;
  /** As written, for messages. */
  readonly text: string;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const BOPS_UNITS: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const LATENCY_UNITS: Record<string, number> = { "": 1, ms: 1, us: 1e-3, s: 1e3 };
const UNITS: Record<BudgetKind, Record<string, number>> = { size: SIZE_UNITS, bops: BOPS_UNITS, latency: LATENCY_UNITS };

/** Parses one `KIND=VALUE`; a usage error names the flag and what is accepted. */
export function parseBudget(text: string, where = "--budget"): BudgetSpec {
  const m = /^\s*([a-z]+)\s*=\s*([0-9.]+(?:e[+-]?\d+)?)\s*([a-z%]*)\s*$/i.exec(text);
  const kind = m?.[1]?.toLowerCase() as BudgetKind | undefined;
  if (!m || !kind || !BUDGET_KINDS.includes(kind)) {
    throw new FixqError("usage", `${where} '${text}': expected KIND=VALUE with KIND one of ${BUDGET_KINDS.join(", ")} (e.g. size=5.2MB, bops=75%, latency=2.5ms)`);
  }
  const value = Number(m[2]);
  const unit = m[3]!.toLowerCase();
  if (!Number.isFinite(value) || value <= 0) throw new FixqError("usage", `${where} '${text}': the value must be a positive number`);
  if (unit === "%") return { kind, value, percent: true, text };
  const scale = UNITS[kind][unit];
  if (scale === undefined) throw new FixqError("usage", `${where} '${text}': unknown unit '${m[3]}' for ${kind}; use ${Object.keys(UNITS[kind]).filter(Boolean).join(", ")} or %`);
  return { kind, value: value * scale * (kind === "size" ? 8 : 1), percent: false, text };
}

/** Parses several budgets; a kind given twice is a usage error. */
export function parseBudgets(texts: readonly string[], where = "--budget"): BudgetSpec[] {
  const specs = texts.map((t) => parseBudget(t, where));
  const seen = new Set<BudgetKind>();
  for (const s of specs) {
    if (seen.has(s.kind)) throw new FixqError("usage", `${where}: ${s.kind} is given twice`);
    seen.add(s.kind);
  }
  return specs;
}

/** The limit of each budget in the problem's units (percentages taken of the all-highest cost). */
export function resolveBudgets(specs: readonly BudgetSpec[], groups: readonly Group[]): Budget[] {
  return specs.map((s) => ({ kind: s.kind, limit: s.percent ? (s.value / 100) * budgetRange(groups, s.kind).max : s.value }));
}

/** A budget's figure as a person reads it: bytes for size, BOPs with a G/M suffix, ms for latency. */
export function formatBudgetValue(kind: BudgetKind, v: number): string {
  if (kind === "size") {
    const bytes = v / 8;
    if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(3)} MB`;
    if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(3)} KB`;
    return `${bytes.toFixed(1)} B`;
  }
  if (kind === "bops") return v >= 1e9 ? `${(v / 1e9).toFixed(4)} G` : v >= 1e6 ? `${(v / 1e6).toFixed(4)} M` : `${v}`;
  return `${v.toFixed(4)} ms`;
}
