/**
 * Cross-links between sections. A layer (keyed by its node name, or its
 * tensor name when no node is known) can appear in several sections: the
 * per-layer SQNR table, the range histograms, the lowering table. Each
 * section asks for a row id (`row`) and a name cell (`nameCell`); the name
 * cell ends in a placeholder that `resolve` replaces, once every section is
 * built, by links to that layer's row in every other section.
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
  private readonly keys: string[] = [];
  private readonly used = new Set<string>();

  /** Registers `key`'s row in the section with anchor `section` (links to it read `label`) and returns the row's id. */
  row(key: string, section: string, label: string): string {
    const base = anchor(section, key);
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}~${n}`; // a second row of the layer in one section: its own id, not linked
    this.used.add(id);
    const list = this.rows.get(key) ?? [];
    if (!list.some((r) => r.section === section)) list.push({ id, section, label });
    this.rows.set(key, list);
    return id;
  }

  /** The layer's name (escaped) and, after `resolve`, links to its rows in the sections other than `section`. */
  nameCell(key: string, name: string, section: string): string {
    let i = this.keys.indexOf(key);
    if (i < 0) i = this.keys.push(key) - 1;
    return `<span class="layer">${esc(name)}</span><!--xref:${i}:${section}-->`;
  }

  /** Replaces every placeholder in `html` by the links (none when the layer appears in one section only). */
  resolve(html: string): string {
    return html.replace(/<!--xref:(\d+):([^>]*?)-->/g, (_m, i: string, from: string) => {
      const key = this.keys[Number(i)];
      const others = (key === undefined ? [] : (this.rows.get(key) ?? [])).filter((r) => r.section !== from);
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
