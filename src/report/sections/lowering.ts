/**
 * Integer lowering (`fixq compile --json`): per accumulator, the width its
 * exact worst-case range needs (the certificate's proof,
 * width = bits of the signed range [lo, hi]) against the type that holds it
 * (storage) and the headroom = storage − width; per requantization, the
 * dyadic multipliers M ≈ m·2^−s (integer m, shift s) and the real scales
 * they stand for.
 */
import { chartFigure, pairedBars } from "../chart.js";
import type { SectionBuilder } from "../context.js";
import { arr, at, type Json, objs, str } from "../doc.js";
import { esc, numCell, table } from "../html.js";

/** The activation a program value stands for: its name without the `_q` / `_acc` suffix the lowering adds. */
export const activationOf = (value: string) => value.replace(/_(q|acc)$/, "");
/** The node name in an op's source ("Conv '/layer1/conv1/Conv'" → "/layer1/conv1/Conv"). */
export const nodeOf = (source: unknown) => (typeof source === "string" ? /'(.*)'$/.exec(source)?.[1] : undefined);

export const loweringSection: SectionBuilder = async ({ run, ctx, id, tag }) => {
  const rows = objs(at(run.doc, "certificate", "rows"));
  const requant = objs(run.doc["requant"]);
  if (rows.length === 0 && requant.length === 0) return null;
  // An accumulator is named by the activation its requant writes (Conv acc → Relu output), so links meet the other sections.
  const writes = new Map(requant.map((r) => [str(r["input"]), activationOf(str(r["output"]) ?? "")]));
  const keyOf = (row: Json) => writes.get(str(row["value"])) ?? activationOf(str(row["value"]) ?? "?");
  const accs = rows.filter((r) => r["accumulator"] === true);
  const parts: string[] = [];
  const problems = objs(at(run.doc, "certificate", "problems"));
  if (problems.length) parts.push(`<ul class="checks">${problems.map((p) => `<li><span class="badge ${p["level"] === "error" ? "fail" : "pass"}">${esc(p["level"])}</span> ${esc(p["source"])}: ${esc(p["message"])}</li>`).join("")}</ul>`);
  if (accs.length) {
    const spec = pairedBars({
      title: "Accumulator width per layer: proven by the certificate vs the type used",
      rows: accs,
      layer: (r) => str(r["source"]) ?? "?",
      fields: ["width", "storage"],
      series: ["proven width", "storage type"],
      yTitle: "layer (program order)",
      xTitle: "bits",
    });
    parts.push(await chartFigure(spec as never, "bar chart of proven accumulator width and storage width per layer"));
  }
  if (rows.length) {
    parts.push(
      table({
        caption: "Accumulator certificate: exact range, proven width, type and headroom per value",
        columns: [{ label: "op" }, { label: "value" }, { label: "lo", numeric: true }, { label: "hi", numeric: true }, { label: "width", numeric: true }, { label: "storage", numeric: true }, { label: "headroom bits", numeric: true }],
        rows: rows.map((r) => {
          const k = keyOf(r);
          const v = str(r["value"]) ?? "?";
          const node = nodeOf(r["source"]);
          return { id: ctx.row(k, id, `lowering${tag}`, [node]), cells: [{ html: ctx.nameCell(k, str(r["source"]) ?? "?", id, [node]), sort: str(r["source"]) ?? "" }, v, numCell(at(r, "range", "lo")), numCell(at(r, "range", "hi")), numCell(r["width"]), numCell(r["storage"]), numCell(r["headroom"])] };
        }),
      }),
    );
  }
  if (requant.length) {
    parts.push(
      table({
        caption: "Requantization: dyadic multipliers m·2^−s per layer (min … max over channels or inputs)",
        columns: [{ label: "op" }, { label: "kind", keep: true }, { label: "output" }, { label: "multipliers", numeric: true }, { label: "m", numeric: true }, { label: "shift s", numeric: true }, { label: "scale m·2^−s", numeric: true }, { label: "clamp", keep: true }],
        rows: requant.map((r) => {
          const k = activationOf(str(r["output"]) ?? "?");
          const clamp = arr(r["clamp"]);
          const span = (lo: string, hi: string) => ({ html: r[lo] === r[hi] ? numCell(r[lo]).html : `${numCell(r[lo]).html} … ${numCell(r[hi]).html}`, sort: numCell(r[lo]).sort });
          return {
            id: ctx.row(k, `${id}-rq`, `requant${tag}`),
            cells: [{ html: ctx.nameCell(k, str(r["source"]) ?? "?", `${id}-rq`), sort: str(r["source"]) ?? "" }, str(r["kind"]) ?? "", str(r["output"]) ?? "", numCell(r["count"]), span("minMultiplier", "maxMultiplier"), span("minShift", "maxShift"), span("minScale", "maxScale"), `[${clamp.join(", ")}]`],
          };
        }),
      }),
    );
  }
  return parts.join("\n");
};
