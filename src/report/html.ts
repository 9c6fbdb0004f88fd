/**
 * HTML building blocks of the report page: escaping, ids, sortable tables.
 * Everything is a string; every name that comes from a model or a JSON
 * document goes through `esc` (text) or `anchor` (ids), so a layer called
 * `<script>` shows as text and links still work.
 */

/** Text or attribute value with &, <, >, " and ' escaped. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An id for `name` inside the page: `prefix-` then the name with every
 * character outside [A-Za-z0-9_-] written as `.` plus its code point in hex,
 * so distinct names give distinct ids and ids never need escaping.
 */
export function anchor(prefix: string, name: string): string {
  let out = "";
  for (const ch of name) out += /[A-Za-z0-9_-]/.test(ch) ? ch : `.${ch.codePointAt(0)!.toString(16)}`;
  return `${prefix}-${out}`;
}

/** A number for a table cell: 4 significant digits, "inf" / "n/a" for the rest. */
export function num(x: unknown, digits = 4): string {
  if (x === "inf" || x === Number.POSITIVE_INFINITY) return "∞";
  if (x === "-inf" || x === Number.NEGATIVE_INFINITY) return "−∞";
  if (typeof x !== "number" || Number.isNaN(x)) return "n/a";
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? x.toExponential(digits - 1) : x.toPrecision(digits);
}

/** A JSON number as a number: "inf" strings (fixq writes non-finite values so) become ±Infinity, anything else NaN. */
export function toNumber(x: unknown): number {
  if (typeof x === "number") return x;
  if (x === "inf") return Number.POSITIVE_INFINITY;
  if (x === "-inf") return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

/** One table cell: its HTML, and the key the column sorts by (numbers sort numerically). */
export interface Cell {
  readonly html: string;
  readonly sort?: number | string;
}

export interface TableSpec {
  readonly caption: string;
  /** numeric: right-aligned, never wrapped; keep: short text, never wrapped. */
  readonly columns: readonly { readonly label: string; readonly numeric?: boolean; readonly keep?: boolean }[];
  readonly rows: readonly { readonly id?: string; readonly cells: readonly (Cell | string)[] }[];
}

const cell = (c: Cell | string): Cell => (typeof c === "string" ? { html: esc(c) } : c);

/** A numeric cell: the formatted number, sorted by its value (non-finite values sort at the ends). */
export function numCell(x: unknown, digits = 4): Cell {
  const v = toNumber(x);
  return { html: num(typeof x === "string" ? v : x, digits), sort: Number.isNaN(v) ? "" : v };
}

/** A table the page's script can sort by clicking a header (`data-sort` holds each cell's key). */
export function table(t: TableSpec): string {
  const head = t.columns.map((c, i) => `<th scope="col"${c.numeric ? ' class="n"' : ""}><button type="button" data-col="${i}">${esc(c.label)}</button></th>`).join("");
  const body = t.rows
    .map((r) => {
      const tds = r.cells.map((c0, i) => {
        const c = cell(c0);
        const key = c.sort === undefined ? "" : ` data-sort="${esc(c.sort === Number.POSITIVE_INFINITY ? "1e308" : c.sort === Number.NEGATIVE_INFINITY ? "-1e308" : c.sort)}"`;
        const col = t.columns[i];
        return `<td${col?.numeric ? ' class="n"' : col?.keep ? ' class="k"' : ""}${key}>${c.html}</td>`;
      });
      return `<tr${r.id ? ` id="${r.id}"` : ""}>${tds.join("")}</tr>`;
    })
    .join("\n");
  return `<table class="sortable"><caption>${esc(t.caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
