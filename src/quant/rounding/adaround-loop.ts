/**
 * AdaRound's whole optimisation as one ONNX Runtime call: an ONNX Loop whose
 * body is one Adam step of adaround.ts, on every weight of a group at once,
 * in float32 (as PyTorch's AdaRound computes). Per iteration t:
 *
 *   s = σ(V);  r = s·(ζ − γ) + γ;  h = clip(r, 0, 1);  E = lo + h·span − W
 *   G = E·H                                           (MatMul)
 *   β = β_end + (β_start − β_end)·(1 − (t − t₀)/max(1, T − t₀)),  on = [t ≥ t₀],  t₀ = warmup·T
 *   u = 2r − 1;  ∂/∂h = (2/N)·G·span − on·2λβ·sign(u)·|u|^(β−1)
 *   g = ∂/∂h · (ζ − γ)·s·(1 − s) · [0 < r < 1]
 *   m₁ ← β₁m₁ + (1 − β₁)g;  m₂ ← β₂m₂ + (1 − β₂)g²
 *   V ← V − (lr/(1 − β₁^(t+1)))·m₁ / (√m₂/√(1 − β₂^(t+1)) + ε)
 *
 * With chunks (stochastic Gram, chunk-grams.ts) H is instead H_c/N_c of
 * the chunk c = I[t] of the step's schedule, gathered from the [M, K, K]
 * input HS, and the scale is 2 (a minibatch of one chunk's samples); with
 * minibatches of pool columns (adaround-batch.ts) G comes from the step's
 * columns instead of H, at scale 2/b (LoopGradient).
 *
 * The same arithmetic as the JS loop in adaround.ts (which does it in
 * float64); here the elementwise part runs in ORT's vectorised kernels and
 * no value crosses into JS between iterations. Weights with span 0 (outside
 * the grid) get g = 0, so V and the moments stay put, as in JS. The session
 * has symbolic R and K, so one session serves every group of every layer.
 */
import { DataType } from "../../ir/dtype.js";
import type { Attribute, Graph, Model, Node, ValueInfo } from "../../ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../ir/tensor.js";
import { typeProtoOf } from "../../ir/types.js";
import { type HostTensor, OrtSession } from "../../runtime/ort-session.js";
import type { AdaroundOptions } from "./adaround.js";

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
export type LoopGradient = "gram" | "chunks" | "columns" | "post";

/** The Loop body: one Adam step (inputs it, cond, V, M1, M2; outer-scope LO, SPAN, W, the gradient's inputs and the scalars). */
function body(kind: LoopGradient): Graph {
  const b = new Ops("b");
  const mul = (x: string, y: string) => b.op("Mul", [x, y]);
  const add = (x: string, y: string) => b.op("Add", [x, y]);
  const sub = (x: string, y: string) => b.op("Sub", [x, y]);
  const s = b.op("Sigmoid", ["V"]);
  const r = add(mul(s, "c_zg"), "c_gamma");
  const h = b.op("Clip", [r, "c_0", "c_1"]);
  const wHat = add("LO", mul(h, "SPAN"));
  const e = sub(wHat, "W");
  let g: string;
  if (kind === "gram") g = b.op("MatMul", [e, "H"]);
  else if (kind === "chunks") g = b.op("MatMul", [e, b.op("Gather", ["HS", b.op("Gather", ["I", "it"])])]);
  else {
    const idx = b.op("Gather", ["IDX", "it"]);
    const xb = b.op("Gather", ["POOL", idx]);
    const xbT = b.op("Transpose", [xb]);
    let d: string;
    if (kind === "columns") d = b.op("MatMul", [e, xbT]);
    else {
      const z = add(b.op("MatMul", [wHat, xbT]), "BIAS");
      const open = b.op("Cast", [b.op("And", [b.op("Greater", [z, "ALO"]), b.op("Less", [z, "AHI"])])], toFloat);
      d = mul(sub(z, b.op("Gather", ["TGT", idx], [{ name: "axis", type: 2, i: 1 }])), open);
    }
    g = b.op("MatMul", [d, xb]);
  }
  const t = b.op("Cast", ["it"], toFloat);
  const on = b.op("Cast", [b.op("GreaterOrEqual", [t, "START"])], toFloat);
  const rel = b.op("Div", [sub(t, "START"), "DEN"]);
  const beta = add("BEND", mul("BSPAN", sub("c_1", rel)));
  const u = sub(mul("c_2", r), "c_1");
  const reg = mul(mul(b.op("Sign", [u]), b.op("Pow", [b.op("Abs", [u]), sub(beta, "c_1")])), mul(mul("LAM2", beta), on));
  const dh = sub(mul(mul("SCALE", g), "SPAN"), reg);
  const inside = b.op("Cast", [b.op("And", [b.op("Greater", [r, "c_0"]), b.op("Less", [r, "c_1"])])], toFloat);
  const grad = mul(mul(mul(dh, "c_zg"), mul(s, sub("c_1", s))), inside);
  const m1 = b.op("Add", [mul("c_b1", "M1"), mul("c_1b1", grad)], [], "M1_next");
  const m2 = b.op("Add", [mul("c_b2", "M2"), mul("c_1b2", mul(grad, grad))], [], "M2_next");
  const t1 = add(t, "c_1");
  const b1t = sub("c_1", b.op("Pow", ["c_b1", t1]));
  const b2t = sub("c_1", b.op("Pow", ["c_b2", t1]));
  const step = b.op("Div", [mul(b.op("Div", ["LR", b1t]), m1), add(b.op("Div", [b.op("Sqrt", [m2]), b.op("Sqrt", [b2t])]), "c_eps")]);
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
  columns: [vi("POOL", DataType.FLOAT, ["n", "k"]), vi("IDX", DataType.INT64, ["t", "b"])],
  post: [vi("POOL", DataType.FLOAT, ["n", "k"]), vi("IDX", DataType.INT64, ["t", "b"]), vi("BIAS", DataType.FLOAT, ["r", 1]), vi("TGT", DataType.FLOAT, ["r", "n"]), vi("ALO", DataType.FLOAT, []), vi("AHI", DataType.FLOAT, [])],
};

/** The model: V = Loop(T, V0, 0, 0). */
function loopModel(kind: LoopGradient): Model {
  const consts: Tensor[] = [
    makeFloatTensor("c_0", [], [0]),
    makeFloatTensor("c_1", [], [1]),
    makeFloatTensor("c_2", [], [2]),
    makeFloatTensor("c_zg", [], [ZETA - GAMMA]),
    makeFloatTensor("c_gamma", [], [GAMMA]),
    makeFloatTensor("c_b1", [], [ADAM_B1]),
    makeFloatTensor("c_1b1", [], [1 - ADAM_B1]),
    makeFloatTensor("c_b2", [], [ADAM_B2]),
    makeFloatTensor("c_1b2", [], [1 - ADAM_B2]),
    makeFloatTensor("c_eps", [], [ADAM_EPS]),
  ];
  const rk = ["r", "k"];
  const scalars = ["SCALE", "LAM2", "LR", "START", "DEN", "BEND", "BSPAN"];
  return {
    irVersion: 8,
    opsets: [{ domain: "", version: 17 }],
    graph: {
      name: "adaround",
      nodes: [
        { opType: "Sub", inputs: ["V0", "V0"], outputs: ["Z"], attributes: [] },
        { opType: "Loop", inputs: ["T", "", "V0", "Z", "Z"], outputs: ["V", "M1_out", "M2_out"], attributes: [{ name: "body", type: 5, g: body(kind) }] },
      ],
      inputs: [vi("T", DataType.INT64, []), vi("V0", DataType.FLOAT, rk), vi("LO", DataType.FLOAT, rk), vi("SPAN", DataType.FLOAT, rk), vi("W", DataType.FLOAT, rk), ...GRADIENT_INPUTS[kind], ...scalars.map((n) => vi(n, DataType.FLOAT, []))],
      outputs: [vi("V", DataType.FLOAT, rk)],
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
  private readonly sessions = new Map<LoopGradient, Promise<OrtSession>>();
  private constructor(private readonly threads?: number) {}

  static async create(threads?: number): Promise<AdaroundLoop> {
    return new AdaroundLoop(threads);
  }

  /** The session of one gradient kind, created on first use. */
  private session(kind: LoopGradient): Promise<OrtSession> {
    let s = this.sessions.get(kind);
    if (!s) {
      s = OrtSession.create(loopModel(kind), { threads: this.threads, optimization: "all" });
      this.sessions.set(kind, s);
    }
    return s;
  }

  /** V after `o.iters` Adam steps from v0. */
  async run(p: AdaroundLoopInput, o: AdaroundOptions): Promise<Float32Array> {
    const rk = [p.rows, p.cols];
    const f = (data: Float64Array, dims: number[]) => ({ dtype: DataType.FLOAT, dims, data: Float32Array.from(data) });
    const s = (v: number) => ({ dtype: DataType.FLOAT, dims: [], data: Float32Array.of(v) });
    const i64 = (data: Int32Array, dims: number[]) => ({ dtype: DataType.INT64, dims, data: BigInt64Array.from(data, (x) => BigInt(x)) });
    const start = o.warmup * o.iters;
    const { chunks: c, batch: mb } = p;
    let kind: LoopGradient = "gram";
    let gradient: Record<string, HostTensor> = { H: f(p.h, [p.cols, p.cols]) };
    let scale = 2 / Math.max(1, p.columns);
    if (c) {
      kind = "chunks";
      gradient = { HS: { dtype: DataType.FLOAT, dims: [c.count, p.cols, p.cols], data: c.h }, I: i64(c.schedule, [c.schedule.length]) };
      scale = 2;
    } else if (mb) {
      kind = mb.post ? "post" : "columns";
      gradient = { POOL: { dtype: DataType.FLOAT, dims: [mb.n, p.cols], data: mb.pool.subarray(0, mb.n * p.cols) }, IDX: i64(mb.picks, [o.iters, mb.batch]) };
      if (mb.post) {
        gradient = { ...gradient, BIAS: f(mb.post.bias, [p.rows, 1]), TGT: f(mb.post.targets, [p.rows, mb.n]), ALO: s(mb.post.lo), AHI: s(mb.post.hi) };
      }
      scale = 2 / mb.batch;
    }
    const session = await this.session(kind);
    const out = await session.run(
      {
        T: { dtype: DataType.INT64, dims: [], data: BigInt64Array.of(BigInt(o.iters)) },
        V0: f(p.v0, rk),
        LO: f(p.lo, rk),
        SPAN: f(p.span, rk),
        W: f(p.w, rk),
        ...gradient,
        SCALE: s(scale),
        LAM2: s(2 * o.lambda),
        LR: s(o.lr),
        START: s(start),
        DEN: s(Math.max(1, o.iters - start)),
        BEND: s(o.betaEnd),
        BSPAN: s(o.betaStart - o.betaEnd),
      },
      ["V"],
    );
    return out["V"]!.data as Float32Array;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
