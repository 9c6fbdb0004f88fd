/**
 * Cross-links between sections. A layer can appear in several sections:
 * the per-layer SQNR table, the range histograms, the lowering table. Rows
 * are keyed by a tensor name (an activation, a weight) and may also be
 * registered under the node computing or reading it (`also`), so a CLE row
 * keyed by a Conv's name meets that Conv's weight row. Each section asks for
 * a row id (`row`) and a name cell (`nameCell`); the name cell ends in a
 * placeholder that `resolve` replaces, once every section is built, by links
 * to that layer's row in every other section.
 */
import type { RunDoc } from "./doc.js";
import { anchor, esc } from "./html.js";

interface Row {
  readonly id: string;
  /** The section's anchor, and the short label its links show ("SQNR", "range r2"). */
  readonly section: string;
  readonly label: string;
}

export class ReportContext {
  private readonly rows = new Map<string, Row[]>();
  /** Key groups of name cells, by placeholder index. */
  private readonly keys: string[][] = [];
  private readonly used = new Set<string>();

  /**
   * Registers `key`'s row in the section with anchor `section` (links to it
   * read `label`), and under every key of `also`; returns the row's id.
   */
  row(key: string, section: string, label: string, also: readonly (string | null | undefined)[] = []): string {
    const base = anchor(section, key);
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}~${n}`; // a second row of the layer in one section: its own id, not linked
    this.used.add(id);
    for (const k of [key, ...also]) {
      if (!k) continue;
      const list = this.rows.get(k) ?? [];
      if (!list.some((r) => r.section === section)) list.push({ id, section, label });
      this.rows.set(k, list);
    }
    return id;
  }

  /** The layer's name (escaped) and, after `resolve`, links to the rows of `key` (and of `also`) in the sections other than `section`. */
  nameCell(key: string, name: string, section: string, also: readonly (string | null | undefined)[] = []): string {
    const i = this.keys.push([key, ...also.filter((k): k is string => !!k)]) - 1;
    return `<span class="layer">${esc(name)}</span><!--xref:${i}:${section}-->`;
  }

  /** Replaces every placeholder in `html` by the links (none when the layer appears in one section only). */
  resolve(html: string): string {
    return html.replace(/<!--xref:(\d+):([^>]*?)-->/g, (_m, i: string, from: string) => {
      const seen = new Set<string>();
      const others = (this.keys[Number(i)] ?? []).flatMap((k) => this.rows.get(k) ?? []).filter((r) => r.section !== from && !seen.has(r.id) && seen.add(r.id));
      if (others.length === 0) return "";
      return ` <span class="xref">${others.map((r) => `<a href="#${r.id}">${esc(r.label)}</a>`).join(" ")}</span>`;
    });
  }
}

/** What a section builder gets: the run, the page's cross-links, and the anchor and label suffix of its section. */
export interface SectionInput {
  readonly run: RunDoc;
  readonly ctx: ReportContext;
  /** The section's anchor (unique on the page). */
  readonly id: string;
  /** "" for a single run, else " r1", " r2", … (added to link labels). */
  readonly tag: string;
}

/** Builds a section's inner HTML, or null when the run lacks its data (the section is then left out). */
export type SectionBuilder = (input: SectionInput) => Promise<string | null>;
