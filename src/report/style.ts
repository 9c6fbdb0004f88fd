/** The page's inline stylesheet and its one small script (table sorting), kept apart from the builder. */

export const CSS = `
:root{--fg:#1a1a1a;--muted:#555;--line:#d0d0d0;--pass:#009E73;--fail:#D55E00;--link:#0072B2}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0 auto;max-width:1100px;padding:1rem 1.5rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem}
small{color:var(--muted);font-weight:normal}a{color:var(--link)}
nav ul{columns:2;padding-left:1.2rem;margin:.3rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.facts th{text-align:left;padding-right:1rem;color:var(--muted);font-weight:600;vertical-align:top}
.badge{display:inline-block;font-size:.75rem;font-weight:700;padding:0 .4rem;border-radius:3px;color:#fff}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}
.verdict{font-weight:600}.checks{list-style:none;padding-left:0}
figure.chart{margin:.8rem 0;overflow-x:auto}figure.chart svg{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.85rem}
table.sortable{border-collapse:collapse;margin:.8rem 0;font-size:.85rem;width:100%}
table.sortable caption{text-align:left;font-weight:600;padding:.2rem 0}
table.sortable th,table.sortable td{border-bottom:1px solid var(--line);padding:.15rem .5rem;text-align:left;vertical-align:top}
table.sortable td.n,table.sortable th.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th button{all:unset;cursor:pointer;font-weight:600}
table.sortable th button:focus-visible{outline:2px solid var(--link)}
th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
tr:target{background:#fff3c4}.layer{word-break:break-all}table.sortable td{overflow-wrap:anywhere}table.sortable td.n,table.sortable td.k{white-space:nowrap;overflow-wrap:normal}.xref a{font-size:.75rem;margin-left:.3rem}
.grid{display:flex;flex-wrap:wrap;gap:.5rem}.grid figure{flex:1 1 320px;max-width:520px}
.hook{border-left:3px solid var(--line);padding-left:.6rem}
.note{color:var(--muted)}.legend .key{margin-right:.8rem;white-space:nowrap}
@media print{body{max-width:none;padding:0}nav,.xref{display:none}section,figure.chart,.card{break-inside:avoid}
figure.chart{overflow:visible}table.sortable th button::after{content:""}a{color:inherit;text-decoration:none}}
`;

/** Click a header to sort its table by that column (numbers by value); click again to reverse. */
export const SORT_SCRIPT = `
document.querySelectorAll("table.sortable th button").forEach(function (b) {
  b.addEventListener("click", function () {
    var th = b.parentElement, table = th.closest("table"), body = table.tBodies[0], col = Number(b.dataset.col);
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var key = function (tr) { var td = tr.cells[col]; if (!td) return ""; var s = td.dataset.sort; return s === undefined ? td.textContent : s; };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, c) {
      var x = key(a), y = key(c), nx = Number(x), ny = Number(y);
      var cmp = x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny) ? nx - ny : String(x).localeCompare(String(y));
      return dir * cmp;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
`;
