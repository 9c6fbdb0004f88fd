/**
 * The certificate as `fixq compile --report` prints it: one line per layer
 * with its weight type (conv, dense), its certified range, the least width that holds it, the storage width
 * and the headroom between (storage − width), the requant product width
 * against the 63-bit limit, then the problems. `certificateJson` is the same
 * content as plain JSON-able objects.
 */
import type { Certificate, CertRow } from "./certify.js";

function widthName(r: CertRow): string {
  return `${r.signed ? "int" : "uint"}${r.width}`;
}

function cells(r: CertRow): string[] {
  const product = r.product ? `${r.product.accWidth}+${r.product.mulBits}=${r.product.width}/${r.product.limit}` : "";
  const zero = r.zeroChannels?.length ? ` (${r.zeroChannels.length} zero ch)` : "";
  return [
    r.source,
    r.kind,
    r.weightType ?? "",
    `[${r.range.lo}, ${r.range.hi}]`,
    widthName(r),
    `${r.storage}`,
    `${r.headroom}`,
    product,
    `${r.channels ? `${r.channels.lo.length} ch` : ""}${zero}`,
  ];
}

const HEAD = ["layer", "op", "weights", "range", "width", "storage", "headroom", "requant product", "channels"];
const LEFT = new Set([0, 1, 2, 4, 7, 8]);

export function formatCertificate(cert: Certificate): string {
  const table = [HEAD, ...cert.rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (LEFT.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [`accumulator certificate (multipliers ${cert.multiplierBits} bits; headroom = storage − width)`, ...table.map(line)];
  const errors = cert.problems.filter((q) => q.level === "error").length;
  out.push(cert.problems.length === 0 ? "no problems" : `${errors} error(s), ${cert.problems.length - errors} warning(s):`);
  for (const q of cert.problems) out.push(`  ${q.level}: ${q.source}: ${q.message}`);
  return out.join("\n");
}

export interface CertificateJson {
  readonly ok: boolean;
  readonly multiplierBits: number;
  readonly ranges: Record<string, { lo: number; hi: number }>;
  readonly rows: readonly CertRow[];
  readonly problems: Certificate["problems"];
}

/** Plain objects only (rows already hold arrays), for `JSON.stringify`. */
export function certificateJson(cert: Certificate): CertificateJson {
  return {
    ok: cert.ok,
    multiplierBits: cert.multiplierBits,
    ranges: Object.fromEntries([...cert.ranges].map(([k, r]) => [k, { lo: r.lo, hi: r.hi }])),
    rows: cert.rows,
    problems: cert.problems,
  };
}
