/**
 * The summary card of a run: what was run on which model, the recipe and
 * formats, size before → after, the accuracy figures with pass/fail against
 * the gate's thresholds, and the deployment-risk verdict (integer kernels vs
 * fake-quant, README "Deployment gate").
 */
import { type RunDoc, arr, at, type Json, numOr, obj, objs, str } from "../doc.js";
import { esc, num } from "../html.js";

const pct = (x: unknown) => (typeof x === "number" ? `${(100 * x).toFixed(2)}%` : "n/a");
const bytes = (n: number) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const badge = (passed: boolean) => `<span class="badge ${passed ? "pass" : "fail"}">${passed ? "PASS" : "FAIL"}</span>`;

/** Rows of the card: [label, value HTML]. */
type Facts = [string, string][];

function quantizeFacts(d: Json): Facts {
  const facts: Facts = [];
  const r = obj(d["recipe"]);
  if (str(at(d, "input", "path"))) facts.push(["model", esc(at(d, "input", "path"))]);
  if (str(d["output"])) facts.push(["output", esc(d["output"])]);
  if (r) facts.push(["recipe", esc(`weights ${r["weights"]} ${r["granularity"]}, activations ${r["acts"]}, calibration ${r["calibration"]}${r["cle"] ? ", CLE" : ""}${r["biasCorrection"] && r["biasCorrection"] !== "none" ? `, bias correction ${r["biasCorrection"]}` : ""}`)]);
  const formats = objs(d["formats"]);
  if (formats.length) {
    const counts = new Map<string, number>();
    for (const f of formats) counts.set(`${f["role"]} ${f["format"]}`, (counts.get(`${f["role"]} ${f["format"]}`) ?? 0) + 1);
    facts.push(["formats", esc([...counts].map(([k, n]) => `${n}× ${k}`).join(", "))]);
  }
  const before = numOr(at(d, "input", "bytes"));
  const after = numOr(d["outputBytes"]);
  if (before !== undefined && after !== undefined) facts.push(["size", `${bytes(before)} → ${bytes(after)} (${(before / after).toFixed(2)}× smaller)`]);
  if (typeof d["quantized"] === "number") facts.push(["nodes", `${d["quantized"]} quantized, ${arr(d["float"]).length} kept in float`]);
  const e = obj(d["eval"]);
  if (e) {
    facts.push(["top-1", `float ${pct(e["floatTop1"])} → ${pct(e["integerKernelTop1"])} integer kernels (${pct(e["fakeQuantTop1"])} fake-quant), drop ${num(e["top1DropPoints"], 3)} points`]);
    facts.push(["agreement", `${pct(e["agreement"])} (fake-quant ${pct(e["fakeQuantAgreement"])})`]);
    facts.push(["output SQNR", `${num(e["sqnrDb"])} dB (fake-quant ${num(e["fakeQuantSqnrDb"])} dB)`]);
  }
  return facts;
}

function evalFacts(d: Json): Facts {
  const facts: Facts = [];
  facts.push(["reference", esc(at(d, "inputs", "reference") ?? "?")], ["candidate", esc(at(d, "inputs", "candidate") ?? "?")]);
  if (at(d, "inputs", "samples") !== undefined) facts.push(["data", `${esc(at(d, "inputs", "samples"))} samples from ${esc(at(d, "inputs", "data"))}`]);
  const m = obj(d["metrics"]);
  const all = obj(at(m, "candidate", "all"));
  const dis = obj(at(m, "candidate", "disabled"));
  if (at(m, "reference", "accuracy", "top1") !== undefined) {
    facts.push(["top-1", `float ${pct(at(m, "reference", "accuracy", "top1"))} → ${pct(at(all, "accuracy", "top1"))} integer kernels (${pct(at(dis, "accuracy", "top1"))} fake-quant), drop ${num(m?.["top1DropPoints"], 3)} points`]);
  }
  if (all) {
    facts.push(["agreement", `${pct(all["agreement"])} (fake-quant ${pct(dis?.["agreement"])})`]);
    facts.push(["output SQNR", `${num(all["sqnrDb"])} dB (fake-quant ${num(dis?.["sqnrDb"])} dB)`]);
  }
  return facts;
}

function compileFacts(d: Json): Facts {
  const c = obj(d["certificate"]);
  const facts: Facts = [["model", esc(d["model"] ?? "?")], ["target", esc(d["target"] ?? "certificate only")]];
  if (typeof d["ops"] === "number") facts.push(["integer ops", String(d["ops"])]);
  if (c) facts.push(["accumulator certificate", `${badge(c["ok"] === true)} ${objs(c["problems"]).length} problems, ${num(c["multiplierBits"])}-bit multipliers`]);
  return facts;
}

/** The gate's checks (eval) or the deployment check quantize --eval ran, as [passed, text]. */
function checks(run: RunDoc): [boolean, string][] {
  const d = run.doc;
  if (run.command === "eval") return objs(d["checks"]).map((c) => [c["passed"] === true, `${str(c["requirement"]) ?? str(c["id"])}: measured ${str(c["measured"]) ?? num(c["value"])}`]);
  const e = obj(d["eval"]);
  if (run.command !== "quantize" || !e) return [];
  const risk = obj(e["deploymentRisk"]);
  if (risk) return [[false, `deployment risk: ${str(risk["message"])}`]];
  const gap = numOr(e["maxDeploymentGapPoints"]);
  const measured = typeof e["integerKernelTop1"] === "number" && typeof e["fakeQuantTop1"] === "number" ? 100 * Math.abs(e["fakeQuantTop1"] - e["integerKernelTop1"]) : undefined;
  return gap === undefined ? [] : [[true, `integer-kernel top-1 within ${gap.toFixed(2)} points of fake-quant: measured ${measured === undefined ? "n/a" : measured.toFixed(2)} points`]];
}

/** The deployment verdict, with the layer where integer kernels and fake-quant part when the gate found one. */
function verdict(run: RunDoc): string {
  const d = run.doc;
  const div = obj(run.command === "eval" ? d["divergence"] : at(d, "eval", "deploymentRisk", "divergence"));
  const all = checks(run);
  if (all.length === 0) return "";
  const deploy = run.command === "eval" ? objs(d["checks"]).find((c) => c["id"] === "max-deployment-gap") : undefined;
  const risky = run.command === "eval" ? deploy?.["passed"] === false : all.some(([ok]) => !ok);
  let text = risky ? "deployment risk: integer kernels fall behind fake-quant" : "deployable: integer kernels match fake-quant within the gate";
  if (div) text += `; first divergence at ${esc(div["tensor"])}${obj(div["node"]) ? ` (${esc(at(div, "node", "opType"))} '${esc(at(div, "node", "name"))}')` : ""}, ${num(div["rmsSteps"], 3)} quantization steps RMS`;
  return `<p class="verdict ${risky ? "fail" : "pass"}">${badge(!risky)} ${risky ? text : esc(text)}</p>`;
}

/** The card, or null for a command with nothing to summarize. */
export function summaryCard(run: RunDoc): string {
  const d = run.doc;
  const facts = run.command === "quantize" ? quantizeFacts(d) : run.command === "eval" ? evalFacts(d) : run.command === "compile" ? compileFacts(d) : [];
  const gate = checks(run);
  const passed = run.command === "eval" ? d["passed"] === true : gate.every(([ok]) => ok);
  const rows = facts.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`).join("\n");
  const gateHtml = gate.length ? `<ul class="checks">${gate.map(([ok, t]) => `<li>${badge(ok)} ${esc(t)}</li>`).join("")}</ul>` : "";
  const head = gate.length ? ` ${badge(passed)}` : "";
  return `<div class="card"><h3>fixq ${esc(run.command)}${head} <small>${esc(run.source)}</small></h3>\n<table class="facts">${rows}</table>\n${verdict(run)}${gateHtml}</div>`;
}
