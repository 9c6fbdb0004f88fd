"""Anchor for `npm run bench:rounding`: a straightforward layer-wise AdaRound
in PyTorch (Nagel et al. 2020), written from the paper, on the grid fixq chose.

Usage: adaround_anchor.py FLOAT.onnx NEAREST_QDQ.onnx CALIB.npy OUT.onnx SETTINGS.json

FLOAT.onnx is the float model after fixq's float passes (bench/adaround-anchor.ts
writes it), so that its weights are the ones fixq rounds (the ViT's attention
scale, for one, is folded into its q projection); weights may be initializers
or Constant nodes.

NEAREST_QDQ.onnx is fixq's QDQ model with nearest rounding: every weight `w`
of a Conv, Gemm or MatMul is `w__quantized` (codes), `w__scale` and
`w__zero_point` read by a DequantizeLinear; the float weight is FLOAT.onnx's
initializer `w`. The grid (scales, zero points and the code range) is
kept; only the rounding changes ([qmin, qmax] from the model's `fixq.formats`
metadata, e.g. `int3[-3,3]`). The script checks that rounding the float
weight to nearest on that grid gives fixq's codes (else it stops: the grids
differ).

Per layer, in waves as fixq takes them (a layer's inputs come from the model
with every learned layer upstream already rounded, activations quantized as
the QDQ model says), inputs are captured from ONNX Runtime (optimizations off)
over the calibration samples, and then, with autograd replaying the layer:

  W_hat = s * (clamp(floor(W/s) + h(V) + z, qmin, qmax) - z)
  h(V)  = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1),  zeta 1.1, gamma -0.1
  loss  = sum over output channels, mean over input columns, of
          (layer(X, W_hat) - layer(X, W))^2  +  lam * sum(1 - |2h - 1|^beta)

V starts where h equals the fractional part; Adam; the regularizer is off for
the first `warmup` share of the iterations, then beta falls linearly from
beta_start to beta_end. Each step reads a minibatch of `batch` samples (the
calibration samples in a seeded random order, cycled). Final codes: h >= 0.5
rounds up. As fixq does, a layer whose learned codes reconstruct worse than
nearest on all the samples keeps nearest.

SETTINGS: {"iters", "lr", "lam", "warmup", "beta_start", "beta_end", "batch",
"threads", "seed"}. Prints one JSON line:
{"seconds" (capture + optimisation + writing, after the imports), "cpu_seconds"
(the same span's CPU time, every thread of the process), "layers",
"kept_nearest", "loss_before", "loss_after", "torch"}.
"""
import json
import re
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

ZETA, GAMMA = 1.1, -0.1


def code_ranges(model):
    """[qmin, qmax] of every integer weight, from fixq's `fixq.formats` metadata (`int4`, `uint8`, `int3[-3,3]`)."""
    meta = {p.key: p.value for p in model.metadata_props}
    if "fixq.formats" not in meta:
        raise SystemExit("anchor: the model has no fixq.formats metadata")
    out = {}
    for f in json.loads(meta["fixq.formats"]):
        m = re.fullmatch(r"(u?)int(\d+)(?:\[(-?\d+),(-?\d+)\])?", f["format"])
        if f["role"] != "weight" or not m:
            continue
        bits = int(m.group(2))
        lo, hi = (0, 2**bits - 1) if m.group(1) else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        out[f["tensor"]] = {"qmin": int(m.group(3)) if m.group(3) else lo, "qmax": int(m.group(4)) if m.group(4) else hi}
    return out


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def expand(param, shape, axis, block):
    """A scale or zero point broadcast to the weight's shape (per tensor, per channel on axis, or blocked on axis)."""
    p = np.asarray(param)
    if p.ndim == 0 or p.size == 1:
        return np.full(shape, p.reshape(-1)[0])
    axis = axis % len(shape)
    if block:
        return np.repeat(p, block, axis=axis)[tuple(slice(0, d) for d in shape)]
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return np.broadcast_to(p.reshape(view), shape)


class Layer:
    def __init__(self, node, dq, inits, floats, spec):
        self.node = node
        self.name = node.name or node.output[0]
        self.input = node.input[0]
        self.codes_name = dq.input[0]
        wname = self.codes_name[: -len("__quantized")]
        if wname not in floats:
            raise SystemExit(f"anchor: float weight '{wname}' not in the float model")
        self.w = floats[wname].astype(np.float64)
        shape = self.w.shape
        axis, block = attr(dq, "axis", 1), attr(dq, "block_size", 0)
        self.s = expand(numpy_helper.to_array(inits[dq.input[1]]).astype(np.float64), shape, axis, block)
        self.z = expand(numpy_helper.to_array(inits[dq.input[2]]).astype(np.float64), shape, axis, block)
        self.qmin, self.qmax = spec["qmin"], spec["qmax"]
        self.codes_init = inits[self.codes_name]
        self.codes = np.asarray(numpy_helper.to_array(self.codes_init)).astype(np.int64)
        near = np.clip(np.floor(self.w / self.s + 0.5) + self.z, self.qmin, self.qmax).astype(np.int64)
        mismatch = float(np.mean(near != self.codes))
        if mismatch > 0.001:
            raise SystemExit(f"anchor: {self.name}: nearest rounding on the model's grid differs from fixq's codes on {mismatch:.2%} of the weights")
        self.op = node.op_type
        self.trans_b = attr(node, "transB", 0) == 1 if self.op == "Gemm" else False
        if self.op == "Gemm" and attr(node, "transA", 0) == 1:
            raise SystemExit(f"anchor: {self.name}: Gemm with transA")

    def forward(self, x, w):
        n = self.node
        if self.op == "Conv":
            if attr(n, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise SystemExit(f"anchor: {self.name}: auto_pad is not handled")
            k = len(w.shape) - 2
            pads = list(attr(n, "pads", [0] * (2 * k)))
            if pads[:k] != pads[k:]:
                raise SystemExit(f"anchor: {self.name}: asymmetric pads")
            conv = F.conv2d if k == 2 else F.conv1d
            return conv(x, w, None, list(attr(n, "strides", [1] * k)), pads[:k], list(attr(n, "dilations", [1] * k)), attr(n, "group", 1))
        wm = w.t() if self.trans_b else w
        return x @ wm

    def columns_loss(self, diff):
        """Sum over output channels, mean over input columns (positions and rows)."""
        if self.op == "Conv":
            return diff.pow(2).sum(1).mean()
        return diff.pow(2).sum(-1).mean()


def waves(graph, layer_nodes):
    """Wave of each learned layer: how many learned layers lie upstream of it, at most, along one path."""
    depth = {}
    out = {}
    for n in graph.node:
        d = max((depth.get(i, 0) for i in n.input if i), default=0)
        if n.output[0] in layer_nodes:
            dd = depth.get(n.input[0], 0)
            out[n.output[0]] = dd
            d = max(d, dd + 1)
        for o in n.output:
            depth[o] = d
    return out


def capture(model, names, calib, threads, batch=128):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for name in names:
        if name not in have:
            m.graph.output.append(helper.make_empty_tensor_value_info(name))
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feed = sess.get_inputs()[0].name
    parts = {n: [] for n in names}
    for b in range(0, len(calib), batch):
        outs = sess.run(list(names), {feed: calib[b : b + batch]})
        for n, o in zip(names, outs):
            parts[n].append(o)
    return {n: np.concatenate(p) for n, p in parts.items()}


def adaround_layer(layer, x_all, cfg, gen):
    w = torch.tensor(layer.w, dtype=torch.float32)
    s = torch.tensor(layer.s, dtype=torch.float32)
    z = torch.tensor(layer.z, dtype=torch.float32)
    floor = torch.floor(w / s)
    frac = (w / s - floor).clamp(0, 1)
    sig = ((frac - GAMMA) / (ZETA - GAMMA)).clamp(1e-6, 1 - 1e-6)
    v = torch.log(sig / (1 - sig)).requires_grad_(True)
    opt = torch.optim.Adam([v], lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8)

    def weights(h):
        return s * (torch.clamp(floor + h + z, layer.qmin, layer.qmax) - z)

    def rect(v):
        return torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0, 1)

    x_all = torch.from_numpy(x_all)
    n = x_all.shape[0]
    order = torch.randperm(n, generator=gen)
    at = 0
    iters = cfg["iters"]
    start = cfg["warmup"] * iters
    for t in range(iters):
        if at + cfg["batch"] > n:
            order = torch.randperm(n, generator=gen)
            at = 0
        x = x_all[order[at : at + cfg["batch"]]]
        at += cfg["batch"]
        with torch.no_grad():
            target = layer.forward(x, w)
        h = rect(v)
        loss = layer.columns_loss(layer.forward(x, weights(h)) - target)
        if t >= start:
            beta = cfg["beta_end"] + (cfg["beta_start"] - cfg["beta_end"]) * (1 - (t - start) / max(1, iters - start))
            loss = loss + cfg["lam"] * (1 - (2 * h - 1).abs().pow(beta)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        learned = torch.clamp(floor + (rect(v) >= 0.5).float() + z, layer.qmin, layer.qmax)
        nearest = torch.tensor(layer.codes, dtype=torch.float32)

        def full_loss(codes):
            total, count = 0.0, 0
            for b in range(0, n, 64):
                x = x_all[b : b + 64]
                d = layer.forward(x, s * (codes - z)) - layer.forward(x, w)
                cols = d.numel() // d.shape[1 if layer.op == "Conv" else -1]
                total += float(layer.columns_loss(d)) * cols
                count += cols
            return total / max(1, count)

        lb, la = full_loss(nearest), full_loss(learned)
    if la <= lb:
        return learned.numpy().astype(np.int64), lb, la, False
    return layer.codes, lb, lb, True


def main():
    float_path, qdq_path, calib_path, out_path, settings_path = sys.argv[1:6]
    with open(settings_path) as f:
        cfg = json.load(f)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    model = onnx.load(qdq_path)
    float_graph = onnx.load(float_path).graph
    floats = {t.name: numpy_helper.to_array(t) for t in float_graph.initializer}
    for n in float_graph.node:
        if n.op_type == "Constant" and attr(n, "value", None) is not None:
            floats[n.output[0]] = numpy_helper.to_array(attr(n, "value", None))
    inits = {t.name: t for t in model.graph.initializer}
    dq_by_out = {n.output[0]: n for n in model.graph.node if n.op_type == "DequantizeLinear"}
    calib = np.load(calib_path).astype(np.float32)
    ranges = code_ranges(model)
    layers = {}
    for n in model.graph.node:
        if n.op_type in ("Conv", "Gemm", "MatMul") and len(n.input) > 1 and n.input[1] in dq_by_out:
            dq = dq_by_out[n.input[1]]
            if dq.input[0] in inits and dq.input[0].endswith("__quantized") and dq.input[0][: -len("__quantized")] in ranges:
                layers[n.output[0]] = Layer(n, dq, inits, floats, ranges[dq.input[0][: -len("__quantized")]])
    wave_of = waves(model.graph, layers)
    lb_total = la_total = 0.0
    kept = 0
    for wave in sorted(set(wave_of.values())):
        todo = [l for o, l in layers.items() if wave_of[o] == wave]
        xs = capture(model, sorted({l.input for l in todo}), calib, cfg["threads"])
        for layer in todo:
            codes, lb, la, keep = adaround_layer(layer, xs[layer.input], cfg, gen)
            lb_total += lb
            la_total += la
            kept += keep
            t = layer.codes_init
            new = helper.make_tensor(t.name, t.data_type, list(t.dims), codes.reshape(-1).tolist())
            t.CopyFrom(new)
        del xs
    onnx.save(model, out_path)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - cpu0, "layers": len(layers), "kept_nearest": kept, "loss_before": lb_total, "loss_after": la_total, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
