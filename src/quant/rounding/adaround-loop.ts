/**
 * AdaRound's whole optimisation as one ONNX Runtime call: an ONNX Loop whose
 * body is one Adam step of adaround.ts, on every weight of a group at once,
 * in float32 (as PyTorch's AdaRound computes). Per iteration t, with
 * c = ζ − γ, LW = LO − W and the constant factors folded into G's input:
 *
 *   s = σ(V);  h = HardSigmoid(s; c, γ) = clip(c·s + γ, 0, 1);  E = h·SPAN + LW
 *   G = E·H'                  H' = H·c·2/N             (MatMul)
 *   β = β_end + (β_start − β_end)·(1 − (t − t₀)/max(1, T − t₀)),  on = [t ≥ t₀],  t₀ = warmup·T
 *   u = 2h − 1;  g = [|u| < 1] · (G·SPAN − 2λβc·on · u·|u|^(β−2)) · s·(1 − s)
 *   m₁ ← β₁m₁ + g;  m₂ ← β₂m₂ + g²        (Adam's moments without their (1 − β) factors)
 *   V ← V − m₁ / (A_t·√m₂ + B_t),  A_t = √((1 − β₂)/(1 − β₂^(t+1)))·(1 − β₁^(t+1))/(lr·(1 − β₁)),  B_t = ε·(1 − β₁^(t+1))/(lr·(1 − β₁))
 *
 * which is Adam's V ← V − lr·m̂₁/(√m̂₂ + ε) on the gradient
 * ∂/∂V = (2/N·(E·H)·SPAN − 2λβ·sign(u)·|u|^(β−1))·c·s·(1 − s)·[0 < r < 1]
 * with r = c·s + γ unclipped: 0 < r < 1 exactly where |2h − 1| < 1, and there
 * u = 2r − 1. Written this way a step takes 27 elementwise nodes over R×K
 * (the direct form took 39; they are most of a step's time where K is small
 * against R·K, and the MLP's 784-input layer spent half of each step there).
 *
 * With chunks (stochastic Gram, chunk-grams.ts) H' is instead H_c/N_c·2c of
 * the chunk c = I[t] of the step's schedule, gathered from the [M, K, K]
 * input HS; with minibatches of pool columns (adaround-batch.ts) G comes
 * from the step's columns instead of H, the product E·X_bᵀ scaled by 2c/b
 * (LoopGradient); with H's rank-q plus diagonal approximation
 * (low-rank-gram.ts, wide layers) G = (E·U')·LU + E·DG with U' = Uᵀ·2c/N,
 * LU = Λ·U and DG = d·2c/N.
 *
 * The optimisation runs as one or more Loop calls ("phases": warm-up steps,
 * whose body leaves out the regularizer's nodes since its term is exactly 0
 * while it is off; then the rest; minibatch steps then an exact tail on H),
 * each continuing the step counter from T0 and carrying V, M1 and M2, so the
 * steps are those of one call.
 *
 * The same arithmetic as the JS loop in adaround.ts (which does it in
 * float64, in the direct form); here the elementwise part runs in ORT's
 * vectorised kernels and no value crosses into JS between iterations.
 * Weights with span 0 (outside the grid) have h·SPAN = 0 and G·SPAN = 0, and
 * |u| = 1 unless h is strictly inside (0, 1): their g is 0 whenever h is
 * clipped, as in JS, and otherwise only the regularizer moves them, which
 * changes no code (both grid points are one). The session has symbolic R
 * and K, so one session serves every group of every layer.
 */
import { DataType } from "../../ir/dtype.js";
import type { Attribute, Graph, Model, Node, ValueInfo } from "../../ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../ir/tensor.js";
import { typeProtoOf } from "../../ir/types.js";
import { type HostTensor, OrtSession } from "../../runtime/ort-session.js";
import { type AdaroundOptions, exactFrom } from "./adaround.js";
import type { LowRankGram } from "./low-rank-gram.js";

const ZETA = 1.1;
const GAMMA = -0.1;
const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-8;

/** Nodes of one graph, each with a fresh output name. */
class Ops {
  readonly nodes: Node[] = [];
  private n = 0;
  constructor(private readonly prefix: string) {}
  op(opType: string, inputs: string[], attributes: Attribute[] = [], out?: string): string {
    const y = out ?? `${this.prefix}${this.n++}_${opType}`;
    this.nodes.push({ opType, inputs, outputs: [y], attributes });
    return y;
  }
}

const vi = (name: string, dtype: number, shape?: (string | number)[]): ValueInfo => ({ name, type: typeProtoOf({ dtype, shape }) }) as unknown as ValueInfo;
const toFloat: Attribute[] = [{ name: "to", type: 2, i: DataType.FLOAT }];

/**
 * Where a step's reconstruction gradient G comes from: the Gram matrix H
 * (G = E·H), a chunk's (G = E·HS[I[t]]), or a minibatch of pool columns
 * X_b = POOL[IDX[t]] (adaround-batch.ts): pre G = (E·X_bᵀ)·X_b; post
 * G = ((Ẑ − T_b)·[lo < Ẑ < hi])·X_b with Ẑ = Ŵ·X_bᵀ + BIAS, T_b = TGT[:, IDX[t]].
 */
export type LoopGradient = "gram" | "chunks" | "columns" | "post" | "lowrank";

/** The Loop body: one Adam step (inputs it, cond, V, M1, M2; outer-scope SPAN, LW, the gradient's inputs and the scalars). */
function body(kind: LoopGradient, warm: boolean): Graph {
  const b = new Ops("b");
  const mul = (x: string, y: string) => b.op("Mul", [x, y]);
  const add = (x: string, y: string) => b.op("Add", [x, y]);
  const sub = (x: string, y: string) => b.op("Sub", [x, y]);
  const s = b.op("Sigmoid", ["V"]);
  const h = b.op("HardSigmoid", [s], [
    { name: "alpha", type: 1, f: ZETA - GAMMA },
    { name: "beta", type: 1, f: GAMMA },
  ]);
  const e = add(mul(h, "SPAN"), "LW");
  let g: string;
  // The schedule's row of this step: the Loop's counter plus the phase's first step.
  const row = () => b.op("Add", ["it", "T0I"]);
  if (kind === "gram") g = b.op("MatMul", [e, "H"]);
  else if (kind === "chunks") g = b.op("MatMul", [e, b.op("Gather", ["HS", b.op("Gather", ["I", row()])])]);
  else if (kind === "lowrank") g = add(b.op("MatMul", [b.op("MatMul", [e, "UT"]), "LU"]), mul(e, "DG"));
  else {
    const idx = b.op("Gather", ["IDX", row()]);
    const xb = b.op("Gather", ["POOL", idx]);
    const xbT = b.op("Transpose", [xb]);
    let d: string;
    if (kind === "columns") d = b.op("MatMul", [e, xbT]);
    else {
      const z = add(b.op("MatMul", [add(e, "W"), xbT]), "BIAS");
      const open = b.op("Cast", [b.op("And", [b.op("Greater", [z, "ALO"]), b.op("Less", [z, "AHI"])])], toFloat);
      d = mul(sub(z, b.op("Gather", ["TGT", idx], [{ name: "axis", type: 2, i: 1 }])), open);
    }
    // The R×b product is scaled, not the R×K gradient.
    g = b.op("MatMul", [mul(d, "SCALE"), xb]);
  }
  // Scalars of step t.
  const t = add(b.op("Cast", ["it"], toFloat), "T0");
  const on = b.op("Cast", [b.op("GreaterOrEqual", [t, "START"])], toFloat);
  const beta = add("BEND", mul("BSPAN", sub("c_1", b.op("Div", [sub(t, "START"), "DEN"]))));
  const regScale = mul(mul("LAM2C", beta), on);
  const t1 = add(t, "c_1");
  const b1t = sub("c_1", b.op("Pow", ["c_b1", t1]));
  const b2t = sub("c_1", b.op("Pow", ["c_b2", t1]));
  const stepScale = b.op("Div", [b1t, "LR1"]);
  const rootScale = mul(b.op("Sqrt", [b.op("Div", ["c_1b2", b2t])]), stepScale);
  const epsScale = mul("c_eps", stepScale);
  // Elementwise over R×K.
  const u = sub(mul(h, "c_2"), "c_1");
  const au = b.op("Abs", [u]);
  // u·|u|^(β−2)·regScale = u·exp((β−2)·ln|u| + ln regScale): ORT's Pow is scalar std::pow, Exp and Log are vectorised (β > 2 at every step; ln 0 = −∞ gives 0).
  // In the warm-up the regularizer is off (regScale = 0, so the term is exactly 0): its nodes are left out.
  const dh = warm ? mul(g, "SPAN") : sub(mul(g, "SPAN"), mul(u, b.op("Exp", [add(mul(b.op("Log", [au]), sub(beta, "c_2")), b.op("Log", [regScale]))])));
  const grad = b.op("Where", [b.op("Less", [au, "c_1"]), mul(dh, mul(s, sub("c_1", s))), "c_0"]);
  const m1 = b.op("Add", [mul("c_b1", "M1"), grad], [], "M1_next");
  const m2 = b.op("Add", [mul("c_b2", "M2"), mul(grad, grad)], [], "M2_next");
  const step = b.op("Div", [m1, add(mul(b.op("Sqrt", [m2]), rootScale), epsScale)]);
  b.op("Sub", ["V", step], [], "V_next");
  b.op("Identity", ["cond"], [], "cond_next");
  return {
    name: "adam_step",
    nodes: b.nodes,
    inputs: [vi("it", DataType.INT64, []), vi("cond", DataType.BOOL, []), vi("V", DataType.FLOAT), vi("M1", DataType.FLOAT), vi("M2", DataType.FLOAT)],
    outputs: [vi("cond_next", DataType.BOOL, []), vi("V_next", DataType.FLOAT), vi("M1_next", DataType.FLOAT), vi("M2_next", DataType.FLOAT)],
    valueInfo: [],
    initializers: [],
  } as unknown as Graph;
}

/** The inputs each gradient reads. */
const GRADIENT_INPUTS: Record<LoopGradient, ValueInfo[]> = {
  gram: [vi("H", DataType.FLOAT, ["k", "k"])],
  chunks: [vi("HS", DataType.FLOAT, ["m", "k", "k"]), vi("I", DataType.INT64, ["t"])],
  lowrank: [vi("UT", DataType.FLOAT, ["k", "q"]), vi("LU", DataType.FLOAT, ["q", "k"]), vi("DG", DataType.FLOAT, ["k"])],
  columns: [vi("POOL", DataType.FLOAT, ["n", "k"]), vi("IDX", DataType.INT64, ["t", "b"]), vi("SCALE", DataType.FLOAT, [])],
  post: [vi("SCALE", DataType.FLOAT, []), vi("POOL", DataType.FLOAT, ["n", "k"]), vi("IDX", DataType.INT64, ["t", "b"]), vi("W", DataType.FLOAT, ["r", "k"]), vi("BIAS", DataType.FLOAT, ["r", 1]), vi("TGT", DataType.FLOAT, ["r", "n"]), vi("ALO", DataType.FLOAT, []), vi("AHI", DataType.FLOAT, [])],
};

/** The model: V = Loop(T, V0, 0, 0). */
function loopModel(kind: LoopGradient, warm: boolean): Model {
  const consts: Tensor[] = [
    makeFloatTensor("c_0", [], [0]),
    makeFloatTensor("c_1", [], [1]),
    makeFloatTensor("c_2", [], [2]),
    makeFloatTensor("c_b1", [], [ADAM_B1]),
    makeFloatTensor("c_b2", [], [ADAM_B2]),
    makeFloatTensor("c_1b2", [], [1 - ADAM_B2]),
    makeFloatTensor("c_eps", [], [ADAM_EPS]),
  ];
  const rk = ["r", "k"];
  const scalars = ["T0", "LAM2C", "LR1", "START", "DEN", "BEND", "BSPAN"];
  return {
    irVersion: 8,
    opsets: [{ domain: "", version: 17 }],
    graph: {
      name: "adaround",
      nodes: [
        { opType: "Loop", inputs: ["T", "", "V0", "M1_0", "M2_0"], outputs: ["V", "M1_out", "M2_out"], attributes: [{ name: "body", type: 5, g: body(kind, warm) }] },
      ],
      inputs: [vi("T", DataType.INT64, []), vi("T0I", DataType.INT64, []), vi("V0", DataType.FLOAT, rk), vi("M1_0", DataType.FLOAT, rk), vi("M2_0", DataType.FLOAT, rk), vi("LW", DataType.FLOAT, rk), vi("SPAN", DataType.FLOAT, rk), ...GRADIENT_INPUTS[kind], ...scalars.map((n) => vi(n, DataType.FLOAT, []))],
      outputs: [vi("V", DataType.FLOAT, rk), vi("M1_out", DataType.FLOAT, rk), vi("M2_out", DataType.FLOAT, rk)],
      valueInfo: [],
      initializers: consts,
    },
    functions: [],
  } as unknown as Model;
}

/** The inputs of one group's optimisation (float64, R×K row-major; H K×K). */
export interface AdaroundLoopInput {
  readonly rows: number;
  readonly cols: number;
  readonly v0: Float64Array;
  readonly lo: Float64Array;
  readonly span: Float64Array;
  readonly w: Float64Array;
  readonly h: Float64Array;
  /** Input columns H was accumulated over. */
  readonly columns: number;
  /** Set for stochastic-Gram steps: the chunks' H_c/N_c and the chunk of each step. */
  readonly chunks?: { readonly h: Float32Array; readonly count: number; readonly schedule: Int32Array };
  /** Set for low-rank steps (low-rank-gram.ts): H's approximation for the steps before the exact tail. */
  readonly lowRank?: LowRankGram;
  /** Set for minibatch steps: the pool [n, K], the `batch` pool columns of each step (iters·batch), and for the post loss the activation and targets [R, n]. */
  readonly batch?: {
    readonly pool: Float32Array;
    readonly n: number;
    readonly batch: number;
    readonly picks: Int32Array;
    readonly post?: { readonly lo: number; readonly hi: number; readonly bias: Float64Array; readonly targets: Float64Array };
  };
}

export class AdaroundLoop {
  private readonly sessions = new Map<string, Promise<OrtSession>>();
  private constructor(private readonly threads?: number) {}

  static async create(threads?: number): Promise<AdaroundLoop> {
    return new AdaroundLoop(threads);
  }

  /** The session of one gradient kind, created on first use. */
  private session(kind: LoopGradient, warm: boolean): Promise<OrtSession> {
    const key = `${kind}${warm ? ":warm" : ""}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = OrtSession.create(loopModel(kind, warm), { threads: this.threads, optimization: "all" });
      this.sessions.set(key, s);
    }
    return s;
  }

  /**
   * V after `o.iters` Adam steps from v0. Minibatch steps with the pre loss
   * and `o.exactTail` > 0 run as two Loop calls carrying V and Adam's
   * moments: the minibatch steps, then the tail's on the whole H (the
   * step counter continues through T0, so β and Adam's bias corrections are
   * those of one run).
   */
  async run(p: AdaroundLoopInput, o: AdaroundOptions): Promise<Float32Array> {
    const rk = [p.rows, p.cols];
    const f = (data: Float64Array, dims: number[]) => ({ dtype: DataType.FLOAT, dims, data: Float32Array.from(data) });
    const s = (v: number) => ({ dtype: DataType.FLOAT, dims: [], data: Float32Array.of(v) });
    const i64 = (data: Int32Array, dims: number[]) => ({ dtype: DataType.INT64, dims, data: BigInt64Array.from(data, (x) => BigInt(x)) });
    const start = o.warmup * o.iters;
    const c = ZETA - GAMMA;
    const { chunks: ch, batch: mb } = p;
    // 2c/N folded into H (float64, then rounded once to float32).
    const hScale = (2 * c) / Math.max(1, p.columns);
    const gram = (): Record<string, HostTensor> => ({ H: { dtype: DataType.FLOAT, dims: [p.cols, p.cols], data: Float32Array.from(p.h, (x) => x * hScale) } });
    const phases: { kind: LoopGradient; from: number; to: number; gradient: () => Record<string, HostTensor> }[] = [];
    if (ch) {
      phases.push({ kind: "chunks", from: 0, to: o.iters, gradient: () => ({ HS: { dtype: DataType.FLOAT, dims: [ch.count, p.cols, p.cols], data: Float32Array.from(ch.h, (x) => x * 2 * c) }, I: i64(ch.schedule, [ch.schedule.length]) }) });
    } else if (mb) {
      const to = mb.post ? o.iters : exactFrom(o, o.exactTail);
      const columns = () => ({ POOL: { dtype: DataType.FLOAT, dims: [mb.n, p.cols], data: mb.pool.subarray(0, mb.n * p.cols) }, IDX: i64(mb.picks.subarray(0, Math.max(1, to) * mb.batch), [Math.max(1, to), mb.batch]), SCALE: s((2 * c) / mb.batch) });
      const post = mb.post;
      if (post) phases.push({ kind: "post", from: 0, to, gradient: () => ({ ...columns(), W: f(p.w, rk), BIAS: f(post.bias, [p.rows, 1]), TGT: f(post.targets, [p.rows, mb.n]), ALO: s(post.lo), AHI: s(post.hi) }) });
      else if (to > 0) phases.push({ kind: "columns", from: 0, to, gradient: columns });
      if (to < o.iters) phases.push({ kind: "gram", from: to, to: o.iters, gradient: gram });
    } else if (p.lowRank) {
      const lr = p.lowRank;
      const to = exactFrom(o, o.exactTail);
      const [q, k] = [lr.rank, p.cols];
      const ut = new Float32Array(k * q);
      for (let i = 0; i < q; i++) for (let c = 0; c < k; c++) ut[c * q + i] = lr.u[i * k + c]! * hScale;
      const lu = Float32Array.from(lr.u, (x, at) => x * lr.lambda[Math.floor(at / k)]!);
      if (to > 0) phases.push({ kind: "lowrank", from: 0, to, gradient: () => ({ UT: { dtype: DataType.FLOAT, dims: [k, q], data: ut }, LU: { dtype: DataType.FLOAT, dims: [q, k], data: lu }, DG: { dtype: DataType.FLOAT, dims: [k], data: Float32Array.from(lr.d, (x) => x * hScale) } }) });
      if (to < o.iters) phases.push({ kind: "gram", from: to, to: o.iters, gradient: gram });
    } else phases.push({ kind: "gram", from: 0, to: o.iters, gradient: gram });
    const common: Record<string, HostTensor> = {
      LW: f(Float64Array.from(p.lo, (x, k) => x - p.w[k]!), rk),
      SPAN: f(p.span, rk),
      LAM2C: s(2 * o.lambda * c),
      LR1: s(o.lr * (1 - ADAM_B1)),
      START: s(start),
      DEN: s(Math.max(1, o.iters - start)),
      BEND: s(o.betaEnd),
      BSPAN: s(o.betaStart - o.betaEnd),
    };
    const n = p.rows * p.cols;
    let v: Float32Array = Float32Array.from(p.v0);
    let m1: Float32Array = new Float32Array(n);
    let m2: Float32Array = new Float32Array(n);
    // Steps before the regularizer starts (t < START in float32) take the warm-up body.
    const warmEnd = Math.ceil(Math.fround(start));
    const runs = phases.flatMap((ph) => [
      { ...ph, to: Math.min(ph.to, warmEnd), warm: true },
      { ...ph, from: Math.max(ph.from, warmEnd), warm: false },
    ]).filter((r) => r.to > r.from);
    for (const ph of runs) {
      const session = await this.session(ph.kind, ph.warm);
      const out = await session.run(
        {
          ...common,
          ...ph.gradient(),
          T: { dtype: DataType.INT64, dims: [], data: BigInt64Array.of(BigInt(ph.to - ph.from)) },
          T0: s(ph.from),
          T0I: { dtype: DataType.INT64, dims: [], data: BigInt64Array.of(BigInt(ph.from)) },
          V0: { dtype: DataType.FLOAT, dims: rk, data: v },
          M1_0: { dtype: DataType.FLOAT, dims: rk, data: m1 },
          M2_0: { dtype: DataType.FLOAT, dims: rk, data: m2 },
        },
        ["V", "M1_out", "M2_out"],
      );
      v = out["V"]!.data as Float32Array;
      m1 = out["M1_out"]!.data as Float32Array;
      m2 = out["M2_out"]!.data as Float32Array;
    }
    return v;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
