/**
 * Mutation fuzzing of load → verify → save, against onnxruntime as an oracle.
 *
 * Every bundled model in models/*.onnx is mutated deterministically (seeded
 * PRNG, see mutate.ts) into a few thousand damaged models. For each one:
 * - fixq either loads, verifies and re-encodes it, or throws a FixqError whose
 *   message says where the problem is (a byte offset, a node, a tensor, a
 *   value); never a TypeError/RangeError, never a hang (> 2 s per case);
 * - if onnxruntime creates a session from it, fixq must accept it too (bar a
 *   short, commented allow-list of checks ORT does not make), and the bytes
 *   fixq writes back must give bit-identical outputs in onnxruntime;
 * - mutants that are invalid by construction (bad dims, unknown dtype, cycles...)
 *   are rejected with the matching error code;
 * - huge claimed sizes are rejected without being allocated;
 * - a sample goes through the CLI: one `error:` line, exit 1, no output file,
 *   no temp files, the input untouched.
 *
 * Environment (for development): FIXQ_FUZZ_MODELS=path1:path2 replaces the bundled
 * models, FIXQ_FUZZ_COUNT and FIXQ_FUZZ_ORT change the mutant and oracle budgets,
 * FIXQ_FUZZ_VERBOSE=1 prints what ORT said about mutants only fixq accepts.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixqError } from "../../src/ir/errors.js";
import { decodeMessage, encodeMessage, type MessageSpec, messageSpec, type ProtoMessage } from "../../src/ir/onnx/codec.js";
import { decodeModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { assertValid } from "../../src/ir/verify.js";
import { cloneProto, type Mutant, mutants, prepareSource, type Source } from "./mutate.js";
import { hashString, Rng } from "../helpers/prng.js";

ort.env.logLevel = "fatal";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MODELS_DIR = join(ROOT, "models");
const SEED = 0x5eed_f1c5;
/** Mutants over all sources together (each source gets an equal share, at least 400). FIXQ_FUZZ_COUNT overrides. */
const TOTAL_MUTANTS = Number(process.env["FIXQ_FUZZ_COUNT"] ?? 2400);
const CASE_BUDGET_MS = 2000;
/**
 * Mutants given to onnxruntime, over all sources: every rejected one and half of the accepted ones, in
 * mutant order, until this runs out. A failed session costs ~1 ms, a compared one tens of ms.
 */
const ORT_SESSIONS_BUDGET = Number(process.env["FIXQ_FUZZ_ORT"] ?? 2400);

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  logSeverityLevel: 4,
};

function sourcePaths(): string[] {
  const env = process.env["FIXQ_FUZZ_MODELS"];
  if (env) return env.split(":").filter(Boolean);
  if (!existsSync(MODELS_DIR)) return [];
  return readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith(".onnx"))
    .sort()
    .map((f) => join(MODELS_DIR, f));
}

// ------------------------------------------------------------ what a good error looks like

/** A place in the model: a byte offset or a named node, tensor, value, attribute... */
const LOCATION = /byte \d+|\b(?:tensor|node|value|input|output|initializer|attribute|function) '[^']*'|\bnode #\d+ \(|\bcycle through /;
/** Errors about the model as a whole, where there is nothing smaller to point at. */
const WHOLE_MODEL = [/^model: file is empty, not an ONNX model$/, /^model: not an ONNX model: no ir_version and no graph$/, /^model: model has no graph$/];
const CODES_FOR_INPUT = new Set(["decode", "model", "tensor", "dtype", "external-data", "unsupported"]);

/** Why an error is not an acceptable rejection, or undefined if it is. */
function badRejection(e: unknown, bytes: Uint8Array): string | undefined {
  if (!(e instanceof FixqError)) {
    const err = e as Error;
    return `threw ${err?.constructor?.name ?? typeof e} instead of FixqError: ${err?.message ?? String(e)}\n${err?.stack?.split("\n").slice(1, 4).join("\n") ?? ""}`;
  }
  if (!CODES_FOR_INPUT.has(e.code)) return `FixqError code '${e.code}' for bad model bytes: ${e.message}`;
  if (!e.where) return `FixqError without 'where': ${e.message}`;
  // One line, printable: names from the model must not bring newlines or terminal escapes along.
  if (/[\u0000-\u001f\u007f]/.test(e.message)) return `control characters in the message: ${JSON.stringify(e.message)}`;
  if (!LOCATION.test(e.message) && !WHOLE_MODEL.some((r) => r.test(e.message))) return `message names no place in the model: ${e.message}`;
  for (const m of e.message.matchAll(/byte (\d+)/g)) {
    if (Number(m[1]) > bytes.length) return `byte offset ${m[1]} is past the end of the ${bytes.length}-byte input: ${e.message}`;
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const m of e.message.matchAll(/\b(?:tensor|node|value|input|output|initializer|attribute) '([^']+)'/g)) {
    // Invalid UTF-8 in a name decodes to U+FFFD; the valid pieces around it must be in the input.
    // Control characters are shown escaped (\xNN): undo that before looking for the name.
    const name = m[1]!.replace(/\\x([0-9a-f]{2})/g, (_s, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
    const pieces = name.split("\uFFFD").filter(Boolean);
    if (pieces.some((p) => !buf.includes(Buffer.from(p, "utf8")))) return `names '${m[1]}', which is nowhere in the input: ${e.message}`;
  }
  return undefined;
}

/** Mutation kinds that always make an invalid model, and the error code fixq must give. */
const MUST_REJECT: Record<string, string> = {
  "tensor:dims-2^20x2^20": "tensor",
  "tensor:dims-int64-huge": "tensor",
  "tensor:dims-negative": "tensor",
  "tensor:dims-mismatch": "tensor",
  "tensor:dims-overflow": "tensor",
  "tensor:dtype-unknown": "dtype",
  "tensor:raw-resize": "tensor",
  "tensor:data-drop": "tensor",
  "tensor:string-count": "tensor",
  "tensor:external-missing": "external-data",
  "graph:input-dangling": "model",
  "graph:output-dup-node": "model",
  "graph:output-dup-input": "model",
  "graph:initializer-shadow": "model",
  "graph:graph-output-dangling": "model",
  "graph:name-control-chars": "model",
  "graph:cycle-self": "model",
  "graph:cycle-pair": "model",
  "model:graph-drop": "model",
};

// ------------------------------------------------------------ the oracle's allow-list

/**
 * Rejections fixq is right to make although ORT creates a session: checks ORT
 * does not do at session creation. Keyed by code and message pattern; keep it small.
 */
type Stricter = {
  code: string;
  pattern: RegExp;
  /** Confirms on the decoded mutant that the case is the one described. */
  confirm: (model: ProtoMessage, match: RegExpExecArray) => boolean;
  why: string;
};

const nodesOf = (model: ProtoMessage): ProtoMessage[] => {
  const out: ProtoMessage[] = [];
  const visit = (g: ProtoMessage | undefined) => {
    for (const n of (g?.["node"] as ProtoMessage[] | undefined) ?? []) {
      out.push(n);
      for (const a of (n["attribute"] as ProtoMessage[] | undefined) ?? []) {
        visit(a["g"] as ProtoMessage | undefined);
        for (const sg of (a["graphs"] as ProtoMessage[] | undefined) ?? []) visit(sg);
      }
    }
  };
  visit(model["graph"] as ProtoMessage | undefined);
  return out;
};
const isConstant = (n: ProtoMessage) => n["op_type"] === "Constant" && !n["domain"];
const inputsOf = (n: ProtoMessage) => ((n["input"] as string[] | undefined) ?? []).filter(Boolean);

const ALLOWED_STRICTER: readonly Stricter[] = [
  {
    // ORT 1.30 keeps one of two same-named graph inputs or initializers without complaint; onnx.checker
    // rejects both ("has been used as graph input names multiple times", "initializer name is not unique"):
    // the graph is not in SSA form and which definition a consumer sees is unspecified.
    code: "model",
    pattern: / (?:input|initializer) '([^']*)': value '\1' is defined more than once$/,
    confirm: () => true,
    why: "duplicate graph input or initializer name",
  },
  {
    // ORT turns every Constant node into an initializer when it loads the graph, before it resolves
    // edges, so the inputs of a Constant node are never looked at (even dangling ones), and two Constant
    // nodes with one output name become two same-named initializers (see above). Constant takes no
    // inputs (onnx.checker: "has input size 1 not in range [min=0, max=0]"), and a duplicate is an SSA
    // violation: fixq is right to reject these.
    code: "model",
    pattern: /cycle through |input '([^']*)' is not produced by any node|value '([^']*)' is defined more than once/,
    confirm: (model, m) => {
      const nodes = nodesOf(model);
      if (m[0].startsWith("cycle") || m[1] !== undefined) return nodes.some((n) => isConstant(n) && inputsOf(n).length > 0);
      const producers = nodes.filter((n) => ((n["output"] as string[] | undefined) ?? []).includes(m[2]!));
      return producers.length > 0 && producers.every(isConstant);
    },
    why: "Constant node with inputs, or Constant nodes with one output name",
  },
];

function allowedStricter(rej: Rejected, bytes: Uint8Array): Stricter | undefined {
  let model: ProtoMessage | undefined;
  for (const a of ALLOWED_STRICTER) {
    if (a.code !== rej.code) continue;
    const m = a.pattern.exec(rej.message);
    if (!m) continue;
    model ??= decodeMessage("ModelProto", bytes);
    if (a.confirm(model, m)) return a;
  }
  return undefined;
}

// ------------------------------------------------------------ ORT helpers

type TypedArrayCtor = new (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint };
const FEED_ARRAYS: Partial<Record<ort.Tensor.Type, TypedArrayCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array as unknown as TypedArrayCtor,
  uint64: BigUint64Array as unknown as TypedArrayCtor,
  bool: Uint8Array,
};

/** Deterministic feeds from the session's input metadata; undefined if an input cannot be made. */
function makeFeeds(session: ort.InferenceSession): Record<string, ort.Tensor> | undefined {
  const rng = new Rng(1234);
  const feeds: Record<string, ort.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) return undefined;
    const Ctor = FEED_ARRAYS[meta.type];
    if (!Ctor) return undefined;
    const dims = meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    if (n > 1 << 22) return undefined;
    const data = new Ctor(n);
    for (let i = 0; i < n; i++) {
      if (meta.type === "float32" || meta.type === "float64") data[i] = rng.float() * 2 - 1;
      else if (meta.type === "int64" || meta.type === "uint64") data[i] = BigInt(rng.int(3));
      else data[i] = rng.int(meta.type === "bool" ? 2 : 3);
    }
    feeds[meta.name] = new ort.Tensor(meta.type, data as never, dims);
  }
  return feeds;
}

/** Outputs as comparable bytes: type, dims and the raw data bits. */
async function runBits(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<string> {
  try {
    const out = await session.run(feeds);
    const parts: string[] = [];
    for (const name of session.outputNames) {
      const t = out[name] as ort.Tensor;
      const d = t.data as ArrayBufferView | string[];
      const bits = Array.isArray(d) ? JSON.stringify(d) : createHash("sha256").update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest("hex");
      parts.push(`${name}:${t.type}[${t.dims.join(",")}]=${bits}`);
      t.dispose?.();
    }
    return parts.join(" ");
  } catch (e) {
    return `run failed: ${String((e as Error).message).split("\n")[0]}`;
  }
}

/**
 * The largest data size any tensor in the model claims by its dims (Infinity for invalid dims), or
 * undefined if the bytes do not decode. onnxruntime 1.30 tries to allocate what such a tensor claims
 * (a Constant holding int64_data [-1] with dims [2^62] grew ORT past 20 GB until the OOM killer
 * stopped it), so mutants claiming more than UNSAFE_CLAIM are not given to it.
 */
function maxClaimedBytes(bytes: Uint8Array): number | undefined {
  let msg: ProtoMessage;
  try {
    msg = decodeMessage("ModelProto", bytes);
  } catch {
    return undefined;
  }
  let max = 0;
  const visit = (m: ProtoMessage, spec: MessageSpec) => {
    if (spec.name === "TensorProto" || spec.name === "SparseTensorProto") {
      let n = 8;
      for (const d of (m["dims"] as (number | bigint)[] | undefined) ?? []) n *= typeof d === "bigint" || d < 0 ? Number.POSITIVE_INFINITY : d;
      max = Math.max(max, n);
    }
    for (const f of spec.ordered) {
      if (f.kind !== "message" || m[f.name] === undefined) continue;
      for (const sub of f.repeated ? (m[f.name] as ProtoMessage[]) : [m[f.name] as ProtoMessage]) visit(sub, f.message!);
    }
  };
  visit(msg, messageSpec("ModelProto"));
  return max;
}
const UNSAFE_CLAIM = 256 << 20;

async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession | string> {
  try {
    return await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (e) {
    return String((e as Error).message ?? e).replace(/\s+/g, " ");
  }
}

// ------------------------------------------------------------ the run

interface Rejected {
  code: string;
  message: string;
}

type FixqOutcome = { ok: true; roundTrip: Uint8Array } | { ok: false; error: unknown };

function runFixq(bytes: Uint8Array, baseDir: string): FixqOutcome {
  try {
    const model = decodeModel(bytes, { baseDir });
    assertValid(model);
    return { ok: true, roundTrip: encodeModel(model) };
  } catch (e) {
    return { ok: false, error: e };
  }
}

interface CliCase {
  kind: string;
  detail: string;
  bytes: Uint8Array;
  expectOk: boolean;
}

const stats = {
  mutants: 0,
  accepted: 0,
  rejected: 0,
  byCode: new Map<string, number>(),
  byKind: new Map<string, { accepted: number; rejected: number; codes: Map<string, number> }>(),
  slowest: { ms: 0, what: "" },
  ort: { sessions: 0, bothReject: 0, ortOnlyAccepts: 0, fixqOnlyAccepts: 0, bothAccept: 0, compared: 0, notComparable: 0, skippedUnsafe: 0 },
  allowed: new Map<string, number>(),
  ortOnlyExamples: new Map<string, string>(),
  /** Mutants fixq accepts and ORT refuses (fine: fixq is a structural loader, not an operator checker). */
  fixqOnlyByKind: new Map<string, number>(),
  fixqOnlyExamples: new Map<string, string>(),
  elapsedMs: 0,
  ortMs: 0,
};
const failures = {
  sources: [] as string[],
  badErrors: [] as string[],
  slow: [] as string[],
  roundTrip: [] as string[],
  overclaim: [] as string[],
  notRejected: [] as string[],
  memory: [] as string[],
  ortAcceptsFixqRejects: [] as string[],
  outputsDiffer: [] as string[],
};
const cliCases: CliCase[] = [];
let sources: { path: string; src: Source }[] = [];

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const describeMutant = (src: Source, m: Mutant, i: number) => `${src.name} #${i} ${m.kind}: ${m.detail}`;

async function fuzzSource(path: string, src: Source, count: number, ortBudget: number): Promise<void> {
  const baseDir = dirname(path);
  const rng = new Rng(SEED ^ hashString(src.name));
  const oracleRng = new Rng(SEED ^ hashString(`${src.name}/ort`));
  const cliKinds = new Set(cliCases.map((c) => `${c.kind}/${c.expectOk}`));
  const original = runFixq(src.bytes, baseDir);
  if (!original.ok) {
    failures.sources.push(`${src.name}: ${(original.error as Error).message}`);
    return;
  }
  let sessions = 0;
  let i = 0;
  for (const m of mutants(rng, src, count)) {
    i++;
    stats.mutants++;
    const t0 = performance.now();
    const r = runFixq(m.bytes, baseDir);
    const ms = performance.now() - t0;
    const what = describeMutant(src, m, i);
    if (ms > stats.slowest.ms) stats.slowest = { ms, what };
    if (ms > CASE_BUDGET_MS) failures.slow.push(`${what}: ${ms.toFixed(0)} ms`);
    const k = stats.byKind.get(m.kind) ?? { accepted: 0, rejected: 0, codes: new Map() };
    stats.byKind.set(m.kind, k);

    const mustReject = MUST_REJECT[m.kind];
    if (mustReject && (r.ok || !(r.error instanceof FixqError) || r.error.code !== mustReject)) {
      failures.notRejected.push(`${what}: expected a '${mustReject}' error, got ${r.ok ? "success" : `[${(r.error as FixqError).code}] ${(r.error as Error).message}`}`);
    }
    let rejected: Rejected | undefined;
    if (r.ok) {
      stats.accepted++;
      k.accepted++;
      // What fixq writes must load again and re-encode to the same bytes.
      const again = runFixq(r.roundTrip, baseDir);
      // Accepted means every tensor's data matches its dims, so no tensor can claim much more than the file holds.
      const claim = maxClaimedBytes(m.bytes) ?? 0;
      if (claim > 8 * m.bytes.length + 1024) failures.overclaim.push(`${what}: accepted, but a tensor claims ${claim / 8} elements in a ${m.bytes.length}-byte model`);
      if (!again.ok) failures.roundTrip.push(`${what}: written model does not load again: ${(again.error as Error).message}`);
      else if (Buffer.compare(again.roundTrip, r.roundTrip) !== 0) failures.roundTrip.push(`${what}: second round trip changes the bytes`);
    } else {
      stats.rejected++;
      k.rejected++;
      const bad = badRejection(r.error, m.bytes);
      if (bad) failures.badErrors.push(`${what}: ${bad}`);
      const code = r.error instanceof FixqError ? r.error.code : `(${(r.error as Error)?.constructor?.name})`;
      bump(stats.byCode, code);
      bump(k.codes, code);
      rejected = { code, message: String((r.error as Error)?.message) };
    }

    // A few of each kind for the CLI test.
    const cliKey = `${m.kind}/${r.ok}`;
    if (!cliKinds.has(cliKey) && (!r.ok || cliCases.filter((c) => c.expectOk).length < 3)) {
      cliKinds.add(cliKey);
      cliCases.push({ kind: m.kind, detail: what, bytes: m.bytes, expectOk: r.ok });
    }

    // The oracle: every rejected mutant, and a share of the accepted ones, within the session budget.
    if (sessions >= ortBudget) continue;
    if (r.ok && !oracleRng.chance(0.5)) continue;
    sessions++;
    stats.ort.sessions++;
    const tOrt = performance.now();
    try {
      await oracle(m, r, rejected, what);
    } finally {
      stats.ortMs += performance.now() - tOrt;
    }
  }
}

/** Runs onnxruntime on one mutant and compares with what fixq did. */
async function oracle(m: Mutant, r: FixqOutcome, rejected: Rejected | undefined, what: string): Promise<void> {
  if ((maxClaimedBytes(m.bytes) ?? 0) > UNSAFE_CLAIM) {
    stats.ort.skippedUnsafe++;
    return;
  }
  const session = await createSession(m.bytes);
  if (typeof session === "string") {
    if (rejected) stats.ort.bothReject++;
    else {
      stats.ort.fixqOnlyAccepts++;
      bump(stats.fixqOnlyByKind, m.kind);
      if (!stats.fixqOnlyExamples.has(m.kind)) stats.fixqOnlyExamples.set(m.kind, session.slice(0, 160));
    }
    return;
  }
  try {
    if (!r.ok) {
      stats.ort.ortOnlyAccepts++;
      const rej = rejected!;
      const allowed = allowedStricter(rej, m.bytes);
      if (allowed) bump(stats.allowed, allowed.why);
      else failures.ortAcceptsFixqRejects.push(`${what}: ORT creates a session, fixq says [${rej.code}] ${rej.message}`);
      if (!stats.ortOnlyExamples.has(m.kind)) stats.ortOnlyExamples.set(m.kind, `${allowed ? "(allowed) " : ""}[${rej.code}] ${rej.message}`);
      return;
    }
    stats.ort.bothAccept++;
    const feeds = makeFeeds(session);
    if (!feeds) {
      stats.ort.notComparable++;
      return;
    }
    const expected = await runBits(session, feeds);
    const rt = await createSession(r.roundTrip);
    if (typeof rt === "string") {
      failures.outputsDiffer.push(`${what}: ORT loads the mutant but not fixq's re-encoding of it: ${rt.slice(0, 300)}`);
      return;
    }
    try {
      const got = await runBits(rt, feeds);
      stats.ort.compared++;
      if (got !== expected) failures.outputsDiffer.push(`${what}: outputs differ\n  mutant:     ${expected.slice(0, 300)}\n  round trip: ${got.slice(0, 300)}`);
    } finally {
      await rt.release();
    }
  } finally {
    await session.release();
  }
}

const report = (title: string, items: string[], max = 15) =>
  items.length === 0 ? "" : `${title} (${items.length}):\n  ${items.slice(0, max).join("\n  ")}${items.length > max ? "\n  …" : ""}`;

describe("mutated models", () => {
  const paths = sourcePaths();

  beforeAll(async () => {
    const t0 = performance.now();
    memoryProbes(paths[0]);
    sources = paths.map((path) => ({ path, src: prepareSource(relative(ROOT, resolve(path)), readFileSync(path)) }));
    const perSource = Math.max(Math.min(400, TOTAL_MUTANTS), Math.ceil(TOTAL_MUTANTS / Math.max(1, sources.length)));
    const ortPerSource = Math.ceil(ORT_SESSIONS_BUDGET / Math.max(1, sources.length));
    for (const { path, src } of sources) await fuzzSource(path, src, perSource, ortPerSource);
    stats.elapsedMs = performance.now() - t0;
  }, 240_000);

  afterAll(() => {
    const codes = [...stats.byCode].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}=${n}`);
    const kinds = [...stats.byKind]
      .sort()
      .map(([kind, s]) => `  ${kind.padEnd(30)} ok ${String(s.accepted).padStart(4)}  rejected ${String(s.rejected).padStart(4)}  ${[...s.codes].map(([c, n]) => `${c}=${n}`).join(" ")}`);
    const lines = [
      `fuzz: ${sources.length} source models, ${stats.mutants} mutants in ${(stats.elapsedMs / 1000).toFixed(1)} s; accepted ${stats.accepted}, rejected ${stats.rejected} (${codes.join(" ")})`,
      `slowest case ${stats.slowest.ms.toFixed(1)} ms: ${stats.slowest.what}`,
      `ORT oracle (${(stats.ortMs / 1000).toFixed(1)} s): ${JSON.stringify(stats.ort)}`,
      ...[...stats.allowed].map(([why, n]) => `  allowed (fixq stricter than ORT), ${n}×: ${why}`),
      ...[...stats.ortOnlyExamples].map(([k, v]) => `  ORT accepts, fixq rejects (${k}): ${v.slice(0, 200)}`),
      `fixq accepts, ORT refuses: ${[...stats.fixqOnlyByKind].map(([k, n]) => `${k}=${n}`).join(" ")}`,
      ...(process.env["FIXQ_FUZZ_VERBOSE"] ? [...stats.fixqOnlyExamples].map(([k, v]) => `  ${k}: ${v}`) : []),
      ...kinds,
    ];
    console.log(lines.join("\n"));
  });

  it("has bundled models to mutate, and loads them", () => {
    expect(paths.length, `no .onnx files in ${MODELS_DIR}`).toBeGreaterThan(0);
    expect(failures.sources, report("source models fixq rejects", failures.sources)).toEqual([]);
    expect(stats.mutants).toBeGreaterThanOrEqual(2000);
  });

  it("rejects bad models with a FixqError that says where", () => {
    const badErrors = failures.badErrors;
    expect(badErrors, report("bad rejections", badErrors)).toEqual([]);
  });

  it("never takes more than 2 s on one mutant", () => {
    const slow = failures.slow;
    expect(slow, report("slow cases", slow)).toEqual([]);
  });

  it("writes back every model it accepts, stably", () => {
    const roundTrip = failures.roundTrip;
    expect(roundTrip, report("round-trip failures", roundTrip)).toEqual([]);
  });

  it("rejects every mutant that is invalid by construction, with the right code", () => {
    const notRejected = failures.notRejected;
    expect(notRejected, report("invalid mutants not rejected as expected", notRejected)).toEqual([]);
  });

  it("accepts no tensor whose dims claim more data than it has", () => {
    const overclaim = failures.overclaim;
    expect(overclaim, report("over-claiming tensors accepted", overclaim)).toEqual([]);
  });

  it("covers the decode, model, tensor and dtype error paths", () => {
    for (const code of ["decode", "model", "tensor", "dtype"]) expect(stats.byCode.get(code) ?? 0, `no '${code}' rejections`).toBeGreaterThan(0);
  });

  it("accepts every mutant onnxruntime accepts (bar the allow-list)", () => {
    expect(stats.ort.sessions).toBeGreaterThan(100);
    const ortAcceptsFixqRejects = failures.ortAcceptsFixqRejects;
    expect(ortAcceptsFixqRejects, report("ORT accepts, fixq rejects", ortAcceptsFixqRejects)).toEqual([]);
  });

  it("round-trips accepted mutants to bit-identical onnxruntime outputs", () => {
    expect(stats.ort.compared).toBeGreaterThan(20);
    const outputsDiffer = failures.outputsDiffer;
    expect(outputsDiffer, report("output differences", outputsDiffer)).toEqual([]);
  });

  it("handles huge claimed sizes without allocating them", () => {
    const memory = failures.memory;
    expect(memory, report("memory probes", memory)).toEqual([]);
  });

  it("CLI: one error line, exit 1, no output, input untouched", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fixq-fuzz-cli-"));
    try {
      const { src } = sources[0]!;
      const cases: CliCase[] = [
        { kind: "bytes:empty", detail: "empty file", bytes: new Uint8Array(0), expectOk: false },
        { kind: "tensor:dims-2^20x2^20", detail: "huge dims, tiny raw_data", bytes: hugeDims(src), expectOk: false },
        { kind: "graph:name-control-chars", detail: "graph output named with CR, ESC and LF", bytes: controlCharName(src), expectOk: false },
        ...pickCliCases(17),
      ];
      const results = await runPool(
        cases.map((c, k) => async () => {
          const sub = join(dir, `case${k}`);
          mkdirSync(sub, { recursive: true });
          const input = join(sub, "mutant.onnx");
          const output = join(sub, "out.onnx");
          writeFileSync(input, c.bytes);
          const hash = sha(readFileSync(input));
          const res = await runCli(["convert", input, "-o", output]);
          return { c, sub, input, output, hash, res };
        }),
        3,
      );
      const problems: string[] = [];
      for (const { c, sub, input, output, hash, res } of results) {
        const what = `${c.kind} (${c.detail})`;
        if (sha(readFileSync(input)) !== hash) problems.push(`${what}: input file changed`);
        const left = readdirSync(sub).filter((f) => f !== "mutant.onnx" && f !== "out.onnx");
        if (left.length) problems.push(`${what}: left files behind: ${left.join(", ")}`);
        if (c.expectOk) {
          if (res.status !== 0) problems.push(`${what}: accepted by the library but the CLI exits ${res.status}: ${res.stderr}`);
          else if (!existsSync(output)) problems.push(`${what}: exit 0 but no output file`);
          else {
            const back = runFixq(new Uint8Array(readFileSync(output)), sub);
            if (!back.ok) problems.push(`${what}: the CLI's output does not load: ${(back.error as Error).message}`);
          }
          continue;
        }
        const lines = res.stderr.split("\n").filter((l, idx, all) => l !== "" || idx < all.length - 1);
        if (res.status !== 1) problems.push(`${what}: exit status ${res.status}, expected 1; stderr: ${res.stderr}`);
        if (lines.length !== 1 || !/^error: \S/.test(lines[0] ?? "")) problems.push(`${what}: stderr is not one 'error:' line: ${JSON.stringify(res.stderr)}`);
        else if (/[\u0000-\u001f\u007f]/.test(lines[0]!)) problems.push(`${what}: control characters on the error line: ${JSON.stringify(lines[0])}`);
        if (!res.stderr.endsWith("\n")) problems.push(`${what}: stderr does not end with a newline`);
        if (existsSync(output)) problems.push(`${what}: rejected but wrote ${output}`);
        if (res.stdout !== "") problems.push(`${what}: printed on stdout: ${JSON.stringify(res.stdout)}`);
      }
      const cli = problems;
      expect(cli, cli.join("\n")).toEqual([]);
      expect(results.filter((r) => !r.c.expectOk).length).toBeGreaterThanOrEqual(15);

      // --verbose adds the stack trace.
      const bad = results.find((r) => !r.c.expectOk)!;
      const verbose = await runCli(["convert", bad.input, "-o", bad.output, "--verbose"]);
      expect(verbose.status).toBe(1);
      expect(verbose.stderr.split("\n")[0]).toMatch(/^error: /);
      expect(verbose.stderr.trim().split("\n").length).toBeGreaterThan(1);
      expect(existsSync(bad.output)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

// ------------------------------------------------------------ small helpers

/**
 * Runs fixq on `bytes` and reports it to failures.memory if rss grows by more than `limitMb`, to
 * failures.slow if it takes over 2 s. Probes run first, before the fuzz loop has grown the heap, so that
 * rss growth means allocation.
 */
function probe(what: string, bytes: Uint8Array, baseDir: string, expectCode: string | undefined, limitMb: number): void {
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const r = runFixq(bytes, baseDir);
  const ms = performance.now() - t0;
  const grew = process.memoryUsage().rss - before;
  if (grew > limitMb * 2 ** 20) failures.memory.push(`${what}: rss grew by ${(grew / 2 ** 20).toFixed(0)} MB (${ms.toFixed(0)} ms)`);
  if (ms > CASE_BUDGET_MS) failures.slow.push(`${what}: ${ms.toFixed(0)} ms`);
  if (expectCode) {
    if (r.ok || !(r.error instanceof FixqError) || r.error.code !== expectCode) {
      failures.notRejected.push(`${what}: expected a '${expectCode}' error, got ${r.ok ? "success" : (r.error as Error).message}`);
    } else {
      const bad = badRejection(r.error, bytes);
      if (bad) failures.badErrors.push(`${what}: ${bad}`);
    }
  } else if (!r.ok) failures.notRejected.push(`${what}: valid model rejected: ${(r.error as Error).message}`);
}

function memoryProbes(firstSource: string | undefined): void {
  // A tensor that claims 2^40 floats and holds 16 bytes: rejected from the dims, nothing allocated.
  if (firstSource) {
    const src = prepareSource(relative(ROOT, resolve(firstSource)), readFileSync(firstSource));
    probe("tensor dims [2^20,2^20] with 16 bytes of raw_data", hugeDims(src), dirname(firstSource), "tensor", 200);
  }
  // A valid 96-byte model: Reshape(X, S) where graph input S is declared int64 [3e7]. Shape inference
  // must not build a rank-3e7 shape for it (at 3e7 that is ~230 MB; past 2^25 V8 makes it a dictionary
  // array and it takes several GB). onnxruntime 1.30 has the same flaw, worse: 500 MB at 3e6.
  probe("Reshape whose shape input is declared int64 [30000000]", reshapeDeclaredShape(30_000_000), ROOT, undefined, 100);
}

/** Reshape(X [2,3], S) → Y [6], with the graph input S declared as an int64 vector of `n` elements. */
function reshapeDeclaredShape(n: number): Uint8Array {
  const vi = (name: string, elem: number, dims: number[]) => ({ name, type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } });
  return encodeMessage("ModelProto", {
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    graph: {
      name: "reshape",
      node: [{ op_type: "Reshape", input: ["X", "S"], output: ["Y"] }],
      input: [vi("X", 1, [2, 3]), vi("S", 7, [n])],
      output: [vi("Y", 1, [6])],
    },
  });
}

/** The first initializer (with raw_data if any) claims [2^20, 2^20] floats and keeps 16 bytes of data. */
function hugeDims(src: Source): Uint8Array {
  const model = cloneProto(src.proto);
  const g = model["graph"] as ProtoMessage;
  const inits = (g["initializer"] as ProtoMessage[] | undefined) ?? [];
  const t = inits.find((x) => x["raw_data"]) ?? inits[0];
  if (!t) throw new Error(`${src.name} has no initializer to mutate`);
  for (const f of ["float_data", "int32_data", "int64_data", "double_data", "uint64_data"]) delete t[f];
  t["dims"] = [1 << 20, 1 << 20];
  t["data_type"] = 1;
  t["raw_data"] = new Uint8Array(16);
  return encodeMessage("ModelProto", model);
}

/** The first graph output renamed to a name with a carriage return, a terminal escape and a newline. */
function controlCharName(src: Source): Uint8Array {
  const model = cloneProto(src.proto);
  const outs = (model["graph"] as ProtoMessage)["output"] as ProtoMessage[];
  outs[0]!["name"] = "out\rerror: spoofed\u001b[2K\u001b[31m\nsecond line";
  return encodeMessage("ModelProto", model);
}

function pickCliCases(n: number): CliCase[] {
  const rejected = cliCases.filter((c) => !c.expectOk);
  const accepted = cliCases.filter((c) => c.expectOk);
  // Spread over the families: bytes, tensor, graph, model.
  const out: CliCase[] = [];
  const byFamily = new Map<string, CliCase[]>();
  for (const c of rejected) {
    const f = c.kind.split(":")[0]!;
    byFamily.set(f, [...(byFamily.get(f) ?? []), c]);
  }
  const families = [...byFamily.values()];
  for (let k = 0; out.length < n - 2 && families.some((f) => f.length > k); k++) {
    for (const f of families) if (f[k] && out.length < n - 2) out.push(f[k]!);
  }
  return [...out, ...accepted.slice(0, 2)];
}

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env["FORCE_COLOR"];
  return new Promise((done) => {
    const p = spawn(process.execPath, [join(ROOT, "bin/fixq.mjs"), ...args], { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    p.on("close", (status) => done({ status, stdout, stderr }));
  });
}

async function runPool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const k = next++;
      out[k] = await tasks[k]!();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

