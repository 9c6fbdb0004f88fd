/**
 * The report page of every bundled model in a real browser (Debian's
 * chromium, driven by puppeteer-core): no console error, no failed or
 * outgoing request, every section present with non-empty charts, tables
 * sortable, charts kept for print, and a screenshot that is not blank.
 * Skipped with a notice when chromium is absent; required (an error) with
 * FIXQ_REQUIRE_DATA=1, as CI sets it.
 *
 * Lean: each model is quantized on 8 calibration samples with --html, and
 * compiled where it lowers to integers; the CNN also gets an eval page.
 * FIXQ_REPORT_SCREENSHOTS=DIR keeps the screenshots for a person to look at.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundledModels } from "../../src/data/manifest.js";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { fixqMain } from "../helpers/fixq-main.js";
import { dataAvailable } from "../helpers/require-data.js";

const CHROMIUM = "/usr/bin/chromium";
const present = dataAvailable(CHROMIUM, "chromium (Debian package chromium)");
const SHOTS = process.env["FIXQ_REPORT_SCREENSHOTS"];
/** Models whose QDQ form has an integer-only program (compile succeeds); the others (ViT) have no lowering section. */
const LOWERS = (key: string) => key !== "vit";

/** What the browser saw of one page. */
interface Seen {
  errors: string[];
  requests: string[];
  sections: { key: string; charts: number; drawn: number; empty: number }[];
  width: number;
  height: number;
}

async function visit(browser: Browser, file: string): Promise<{ page: Page; seen: Seen }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warn") errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${String(e)}`));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  page.on("request", (r) => {
    if (r.url() !== `file://${file}`) requests.push(r.url());
  });
  await page.setViewport({ width: 1200, height: 900 });
  await page.goto(`file://${file}`, { waitUntil: "networkidle0" });
  const { sections, width, height } = (await page.evaluate(IN_PAGE.survey)) as Pick<Seen, "sections" | "width" | "height">;
  return { page, seen: { errors, requests, sections, width, height } };
}

/**
 * Code run inside the browser, as source text (the test is compiled without
 * the DOM's types). `survey`: each section's charts (drawn = an SVG at least
 * 50×50 px with marks in it) and empty tables, and the page's size.
 * `pixels(b64)`: share of non-white pixels and distinct colours of a PNG.
 */
const IN_PAGE = {
  survey: `(() => {
    const sections = [...document.querySelectorAll("section.report-section")].map((s) => {
      const svgs = [...s.querySelectorAll("figure.chart svg")];
      const big = (g) => { const b = g.getBoundingClientRect(); return b.width > 50 && b.height > 50; };
      return {
        key: s.getAttribute("data-section") || "",
        charts: svgs.length,
        drawn: svgs.filter((g) => big(g) && g.querySelectorAll("path, line").length > 5).length,
        empty: [...s.querySelectorAll("table")].filter((t) => t.querySelectorAll("tbody tr").length === 0).length,
      };
    });
    return { sections, width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight };
  })()`,
  pixels: (b64: string) => `(async () => {
    const img = new Image();
    img.src = "data:image/png;base64,${b64}";
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, img.width, img.height).data;
    let inked = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) inked++;
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    }
    return { inked: inked / (d.length / 4), colours: colours.size, w: img.width, h: img.height };
  })()`,
  sortColumn: `[...document.querySelectorAll("section[data-section=per-layer] table:first-of-type tbody tr td:nth-child(4)")].map((td) => Number(td.dataset.sort))`,
  printed: `(() => {
    const svgs = [...document.querySelectorAll("figure.chart svg")];
    return { all: svgs.length, visible: svgs.filter((s) => s.getBoundingClientRect().height > 0 && getComputedStyle(s).display !== "none").length };
  })()`,
};

/** Share of non-white pixels and distinct colours of a PNG, counted in a blank page's canvas. */
async function pixelStats(browser: Browser, png: Uint8Array): Promise<{ inked: number; colours: number; w: number; h: number }> {
  const blank = await browser.newPage();
  try {
    return (await blank.evaluate(IN_PAGE.pixels(Buffer.from(png).toString("base64")))) as { inked: number; colours: number; w: number; h: number };
  } finally {
    await blank.close();
  }
}

describe.skipIf(!present)("the HTML report in headless Chromium", () => {
  const tmp = mkdtempSync(join(tmpdir(), "fixq-browser-"));
  const pages = new Map<string, { file: string; expected: string[] }>();
  let browser: Browser;
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });

  beforeAll(async () => {
    for (const m of bundledModels()) {
      const q = join(tmp, `${m.key}.q.onnx`);
      const r = await fixqMain("quantize", join("models", m.file), "-o", q, "--calib-samples", "8", "--json", join(tmp, `${m.key}.q.json`), "--html", join(tmp, `${m.key}.q.html`));
      expect(r.status, `${m.key}: ${r.stderr}`).toBe(0);
      const expected = ["activation-ranges", "weight-ranges"];
      const jsons = [join(tmp, `${m.key}.q.json`)];
      if (LOWERS(m.key)) {
        const c = await fixqMain("compile", q, "--report", "--json", join(tmp, `${m.key}.c.json`));
        expect(c.status, `${m.key}: ${c.stderr}`).toBe(0);
        jsons.push(join(tmp, `${m.key}.c.json`));
        expected.push("lowering");
      }
      const file = join(tmp, `${m.key}.html`);
      const rep = await fixqMain("report", ...jsons, "-o", file);
      expect(rep.status, rep.stderr).toBe(0);
      pages.set(m.key, { file, expected });
    }
    const data = readNpy("models/data/eval.npy");
    const per = data.shape.slice(1).reduce((a, b) => a * b, 1);
    writeNpy(join(tmp, "eval64.npy"), { ...data, shape: [64, ...data.shape.slice(1)], data: (data.data as Float32Array).slice(0, 64 * per) });
    const e = await fixqMain("eval", "models/cnn.onnx", join(tmp, "cnn.q.onnx"), "--data", join(tmp, "eval64.npy"), "--per-layer", "--html", join(tmp, "cnn.e.html"));
    expect(e.status, e.stderr).toBe(0);
    pages.set("cnn eval", { file: join(tmp, "cnn.e.html"), expected: ["per-layer"] });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("every page loads cleanly, with every expected section drawn, and a screenshot that is not blank", async () => {
    expect([...pages.keys()].length).toBe(bundledModels().length + 1);
    for (const [key, { file, expected }] of pages) {
      const { page, seen } = await visit(browser, file);
      try {
        expect(seen.errors, key).toEqual([]);
        expect(seen.requests, key).toEqual([]);
        expect(seen.sections.map((s) => s.key), key).toEqual(expected);
        for (const s of seen.sections) {
          expect(s.charts, `${key} ${s.key}`).toBeGreaterThan(0);
          expect(s.drawn, `${key} ${s.key}`).toBe(s.charts);
          expect(s.empty, `${key} ${s.key}`).toBe(0);
        }
        expect(seen.width, key).toBeLessThanOrEqual(1200); // nothing overflows the viewport sideways
        const png = await page.screenshot({ type: "png" });
        const stats = await pixelStats(browser, png);
        expect([stats.w, stats.h], key).toEqual([1200, 900]);
        expect(stats.inked, key).toBeGreaterThan(0.02);
        expect(stats.colours, key).toBeGreaterThan(8);
        if (SHOTS) await page.screenshot({ path: join(SHOTS, `${key.replace(/ /g, "-")}.png`) as `${string}.png`, fullPage: true });
      } finally {
        await page.close();
      }
    }
  }, 300_000);

  it("sorts a table by a numeric column on click, and back", async () => {
    const { page } = await visit(browser, pages.get("cnn eval")!.file);
    try {
      const column = async () => (await page.evaluate(IN_PAGE.sortColumn)) as number[];
      const header = "section[data-section=per-layer] table:first-of-type th:nth-child(4) button";
      await page.click(header);
      const up = await column();
      expect(up).toEqual([...up].sort((a, b) => a - b));
      await page.click(header);
      const down = await column();
      expect(down).toEqual([...up].reverse());
    } finally {
      await page.close();
    }
  }, 60_000);

  it("keeps every chart when printed", async () => {
    const { page } = await visit(browser, pages.get("cnn")!.file);
    try {
      await page.emulateMediaType("print");
      const { all, visible } = (await page.evaluate(IN_PAGE.printed)) as { all: number; visible: number };
      expect(all).toBeGreaterThan(0);
      expect(visible).toBe(all);
      const pdf = await page.pdf({ format: "A4" });
      expect(pdf.length).toBeGreaterThan(10_000);
    } finally {
      await page.close();
    }
  }, 60_000);
});
