#!/usr/bin/env python3
"""Train, export and verify fixq's bundled Fashion-MNIST models.

Writes (relative to the repository root):
  models/<name>.onnx            exported models (opset 17, dynamic batch "batch")
  models/data/calib.npy         first 512 training images, preprocessed, float32 [512,1,28,28]
  models/data/eval.npy          first 2000 test images, preprocessed, float32 [2000,1,28,28]
  models/data/eval_labels.npy   their labels, int64 [2000]
  models/manifest.json          what each file is, how to feed it and how accurate it is

Run `python3 scripts/train_models.py --help` for options; scripts/README.md has the commands.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

# Sleep rather than spin in OpenMP barriers: on a shared 2-core machine spinning
# threads starve each other (must be set before torch loads libgomp).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fmnist_data as data  # noqa: E402
import fmnist_models as zoo  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
CALIB_COUNT = 512
EVAL_COUNT = 2000
SEED = 20240601


@dataclass
class Spec:
    name: str
    build: Callable[[], nn.Module]
    description: str
    epochs: int
    lr: float
    weight_decay: float
    batch_size: int = 128
    channels_last: bool = False
    bn_variant: bool = False  # also export <name>.bn.onnx with BatchNormalization kept
    plain_variant: bool = True  # export <name>.onnx (BN folded by the exporter); False: only <name>.bn.onnx
    extra: dict = field(default_factory=dict)


SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec(
            "mlp",
            lambda: zoo.MLP(),
            "Multilayer perceptron: Flatten -> Gemm(784x256) -> Relu -> Gemm(256x128) -> Relu -> Gemm(128x10).",
            epochs=8,
            lr=2e-3,
            weight_decay=1e-4,
        ),
        Spec(
            "cnn",
            lambda: zoo.SmallCNN(),
            "Small CNN: 3x [Conv 3x3 pad 1 -> Relu -> MaxPool 2x2] (16, 32, 64 channels) -> Flatten -> "
            "Gemm(576x128) -> Relu -> Gemm(128x10).",
            epochs=5,
            lr=2e-3,
            weight_decay=1e-4,
        ),
        Spec(
            "resnet",
            lambda: zoo.SmallResNet(),
            "ResNet-style: stride-2 Conv/BN/Relu stem, three BasicBlocks (16, 32, 64 channels; two 3x3 Conv+BN, "
            "1x1 Conv+BN projection shortcut on downsampling, residual Add, Relu) -> GlobalAveragePool -> "
            "Flatten -> Gemm(64x10).",
            epochs=5,
            lr=3e-3,
            weight_decay=5e-4,
            channels_last=True,
            bn_variant=True,
        ),
        Spec(
            "mobilenetv2",
            lambda: zoo.SmallMobileNetV2(),
            "MobileNetV2-style: stride-2 Conv/BN/ReLU6 stem, 7 inverted residual blocks (1x1 expand x4 + BN + "
            "ReLU6, 3x3 depthwise Conv group=channels + BN + ReLU6, 1x1 linear projection + BN, residual Add "
            "when shapes match; channels 16-24-32-48), 1x1 Conv head (128) + BN + ReLU6 -> GlobalAveragePool -> "
            "Flatten -> Gemm(128x10). ReLU6 exports as Clip(0, 6).",
            epochs=3,
            lr=4e-3,
            weight_decay=1e-4,
            channels_last=True,
            bn_variant=True,
        ),
        Spec(
            "mobilenetv2.nowd",
            lambda: zoo.SmallMobileNetV2(),
            "MobileNetV2-style, the mobilenetv2 architecture trained without weight decay and with a 5x larger "
            "learning rate (2 epochs), BatchNormalization kept. A few expansion channels die under ReLU6; the "
            "depthwise channel reading one then has a near-zero BN variance, and without weight decay its unused "
            "weights keep their size, so folding the BN (x gamma/sqrt(var+eps)) makes that channel's range "
            "hundreds of times wider than the others': per-tensor INT8 collapses, as MobileNetV2 does on "
            "ImageNet. ReLU6 exports as Clip(0, 6).",
            epochs=2,
            lr=2e-2,
            weight_decay=0.0,
            channels_last=True,
            bn_variant=True,
            plain_variant=False,
        ),
        Spec(
            "vit",
            lambda: zoo.TinyViT(dim=64, depth=4, heads=4, patch=7, mlp_ratio=2),
            "Tiny ViT: 7x7 stride-7 patch-embedding Conv (16 tokens, width 64) + learned position embedding, "
            "4 pre-norm transformer blocks (LayerNormalization, 4-head softmax self-attention via MatMul, "
            "MLP 64-128-64 with exact GELU exported as Erf, residual Adds), final LayerNormalization, mean over "
            "tokens (ReduceMean), Gemm(64x10).",
            epochs=8,
            lr=2e-3,
            weight_decay=0.05,
        ),
    ]
}


# --------------------------------------------------------------------------- training


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip of half the batch (Fashion-MNIST is left/right symmetric)."""
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def train(spec: Spec, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor):
    torch.manual_seed(SEED)
    model = spec.build()
    gen = torch.Generator().manual_seed(SEED + 1)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    decay, no_decay = [], []
    for pname, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or "pos_embed" in pname else decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=spec.lr,
    )
    n = x_train.shape[0]
    steps_per_epoch = math.ceil(n / spec.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=spec.lr, total_steps=spec.epochs * steps_per_epoch, pct_start=0.2
    )
    start = time.time()
    for epoch in range(spec.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total_loss = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * spec.batch_size : (i + 1) * spec.batch_size]
            xb = augment(x_train[idx], gen)
            if spec.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(xb), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * idx.numel()
        acc = torch_accuracy(model, x_test[:EVAL_COUNT], y_test[:EVAL_COUNT])
        print(
            f"  [{spec.name}] epoch {epoch + 1}/{spec.epochs} loss {total_loss / n:.4f} "
            f"eval2000 acc {acc:.4f} ({time.time() - start:.0f}s)",
            flush=True,
        )
    model = model.to(memory_format=torch.contiguous_format).eval()
    return model, time.time() - start


@torch.no_grad()
def torch_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], 1000):
        correct += (model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum().item()
    return correct / x.shape[0]


# --------------------------------------------------------------------------- export


def export(model: nn.Module, path: str, keep_bn: bool, doc: str) -> None:
    model.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    kwargs = dict(
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    if keep_bn:
        kwargs.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    else:
        kwargs.update(training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)
    torch.onnx.export(model, (dummy,), path, **kwargs)
    m = onnx.load(path)
    m.doc_string = doc
    onnx.helper.set_model_props(m, {"fixq.preprocessing": data.PREPROCESSING, "fixq.dataset": "Fashion-MNIST"})
    onnx.save(m, path)


def op_histogram(m: onnx.ModelProto) -> dict[str, int]:
    return dict(sorted(collections.Counter(n.op_type for n in m.graph.node).items()))


def check_exported(path: str, keep_bn: bool) -> onnx.ModelProto:
    onnx.checker.check_model(path, full_check=True)
    m = onnx.load(path)
    assert m.graph.input[0].name == INPUT_NAME and m.graph.output[0].name == OUTPUT_NAME
    in_dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
    assert in_dims == ["batch", 1, 28, 28], in_dims
    assert out_dims == ["batch", 10], out_dims
    bns = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    if keep_bn:
        assert bns, f"{path}: expected BatchNormalization nodes"
        for n in bns:
            assert len(n.output) == 1, f"{path}: BatchNormalization {n.name} has {len(n.output)} outputs"
            mode = [a.i for a in n.attribute if a.name == "training_mode"]
            assert mode in ([], [0]), f"{path}: BatchNormalization {n.name} training_mode={mode}"
    else:
        assert not bns, f"{path}: BatchNormalization should have been folded"
    return m


def ort_logits(path: str, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    outs = [sess.run([OUTPUT_NAME], {INPUT_NAME: x[i : i + 1000]})[0] for i in range(0, x.shape[0], 1000)]
    return np.concatenate(outs)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()


def initializer_elements(m: onnx.ModelProto) -> int:
    total = 0
    for t in m.graph.initializer:
        total += int(np.prod(t.dims)) if len(t.dims) else 1
    return total


# --------------------------------------------------------------------------- main


def save_npy(path: str, arr: np.ndarray) -> None:
    # np.save writes format version 1.0 whenever the header fits (it always does here).
    np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
    with open(path, "rb") as fh:
        head = fh.read(8)
    assert head == b"\x93NUMPY\x01\x00", f"{path}: unexpected npy header {head!r}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(SPECS), help="comma-separated subset of: " + ", ".join(SPECS))
    ap.add_argument("--data-dir", default=data.DEBIAN_DIR, help="directory holding the Fashion-MNIST IDX files")
    ap.add_argument("--out", default=os.path.join(REPO, "models"), help="output directory")
    ap.add_argument(
        "--checkpoints",
        default=os.path.join(REPO, "out", "fmnist-checkpoints"),
        help="where trained state dicts are cached (git-ignored)",
    )
    ap.add_argument("--reuse", action="store_true", help="load cached state dicts instead of training when present")
    ap.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every epoch count (smoke tests)")
    ap.add_argument("--train-limit", type=int, default=0, help="train on only the first N images (smoke tests)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for n in names:
        if n not in SPECS:
            ap.error(f"unknown model {n!r}")

    os.makedirs(os.path.join(args.out, "data"), exist_ok=True)
    os.makedirs(args.checkpoints, exist_ok=True)

    train_u8, train_lbl = data.load_split("train", args.data_dir)
    test_u8, test_lbl = data.load_split("test", args.data_dir)
    print(f"loaded {train_u8.shape[0]} train / {test_u8.shape[0]} test images from {args.data_dir}")
    x_train_np = data.preprocess(train_u8)
    x_test_np = data.preprocess(test_u8)
    y_test_np = test_lbl.astype(np.int64)

    # Bundled data files.
    calib = x_train_np[:CALIB_COUNT]
    eval_x = x_test_np[:EVAL_COUNT]
    eval_y = y_test_np[:EVAL_COUNT]
    save_npy(os.path.join(args.out, "data", "calib.npy"), calib)
    save_npy(os.path.join(args.out, "data", "eval.npy"), eval_x)
    save_npy(os.path.join(args.out, "data", "eval_labels.npy"), eval_y)

    if args.train_limit > 0:
        x_train_np, train_lbl = x_train_np[: args.train_limit], train_lbl[: args.train_limit]
    x_train = torch.from_numpy(x_train_np)
    y_train = torch.from_numpy(train_lbl.astype(np.int64))
    x_test = torch.from_numpy(x_test_np)
    y_test = torch.from_numpy(y_test_np)

    manifest_path = os.path.join(args.out, "manifest.json")
    previous: dict = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as fh:
            previous = json.load(fh).get("models", {})

    data_files = {"calibration": "data/calib.npy", "eval": "data/eval.npy", "eval_labels": "data/eval_labels.npy"}
    entries: dict[str, dict] = {}
    timings: dict[str, float] = {}
    for name in names:
        spec = SPECS[name]
        epochs = max(1, round(spec.epochs * args.epochs_scale))
        spec.epochs = epochs
        ckpt = os.path.join(args.checkpoints, f"{name}.pt")
        if args.reuse and os.path.exists(ckpt):
            torch.manual_seed(SEED)
            model = spec.build()
            model.load_state_dict(torch.load(ckpt))
            model.eval()
            print(f"[{name}] reusing {ckpt}")
            timings[name] = 0.0
        else:
            print(f"[{name}] training {epochs} epochs, {zoo.count_params(spec.build())} parameters", flush=True)
            model, seconds = train(spec, x_train, y_train, x_test, y_test)
            timings[name] = seconds
            torch.save(model.state_dict(), ckpt)
        torch_acc = torch_accuracy(model, x_test, y_test)
        with torch.no_grad():
            torch_eval_logits = model(torch.from_numpy(eval_x)).numpy()

        variants = ([(name, False)] if spec.plain_variant else []) + ([(name + ".bn", True)] if spec.bn_variant else [])
        has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        for vname, keep_bn in variants:
            fname = vname + ".onnx"
            path = os.path.join(args.out, fname)
            export(model, path, keep_bn, spec.description)
            m = check_exported(path, keep_bn)
            logits = ort_logits(path, x_test_np)
            acc10k = float((logits.argmax(1) == y_test_np).mean())
            acc2k = float((logits[:EVAL_COUNT].argmax(1) == eval_y).mean())
            max_diff = float(np.abs(logits[:EVAL_COUNT] - torch_eval_logits).max())
            hist = op_histogram(m)
            size = os.path.getsize(path)
            print(
                f"[{vname}] onnxruntime accuracy: test10k {acc10k:.4f}, eval2000 {acc2k:.4f} "
                f"(torch {torch_acc:.4f}, max |ort - torch| logit diff {max_diff:.2e}); {size} bytes",
                flush=True,
            )
            print(f"[{vname}] ops: {hist}", flush=True)
            assert max_diff < 1e-3, f"{vname}: onnxruntime disagrees with torch ({max_diff})"
            if has_bn:
                folded = "BN folded into the preceding Conv weights by the exporter"
                kept = "BatchNormalization nodes kept (inference mode, training_mode=0, single output)"
                bn_note = kept if keep_bn else folded
            else:
                bn_note = "model has no BatchNorm"
            entries[vname] = {
                "file": fname,
                "description": spec.description,
                "variant_of": name if keep_bn and spec.plain_variant else None,
                "opset": OPSET,
                "input": {
                    "name": INPUT_NAME,
                    "shape": ["batch", 1, 28, 28],
                    "dtype": "float32",
                    "layout": "NCHW",
                    "range": [0.0, 1.0],
                },
                "output": {"name": OUTPUT_NAME, "shape": ["batch", 10], "dtype": "float32", "meaning": "logits"},
                "preprocessing": data.PREPROCESSING,
                "accuracy": {
                    "test10k": round(acc10k, 4),
                    "eval2000": round(acc2k, 4),
                    "measured_with": f"onnxruntime {ort.__version__} (Python, CPUExecutionProvider), top-1",
                },
                "parameters": zoo.count_params(model),
                "initializer_elements": initializer_elements(m),
                "has_batchnorm": has_bn,
                "bn_folded": has_bn and not keep_bn,
                "batchnorm": bn_note,
                "op_histogram": hist,
                "file_bytes": size,
                "sha256": sha256(path),
                "data": data_files,
                "training": {
                    "epochs": spec.epochs,
                    "batch_size": spec.batch_size,
                    "optimizer": f"AdamW (lr {spec.lr}, weight decay {spec.weight_decay}), one-cycle schedule",
                    "augmentation": "random horizontal flip",
                    "seed": SEED,
                    "torch": torch.__version__,
                },
            }

    models = {**previous, **entries}
    order = [v for s in SPECS for v in (s, s + ".bn")]
    models = {k: models[k] for k in order if k in models}
    manifest = {
        "format_version": 1,
        "generator": "scripts/train_models.py",
        "dataset": {
            "name": "Fashion-MNIST",
            "license": "MIT (Expat), Copyright 2017 Zalando SE",
            "classes": data.CLASS_NAMES,
            "debian_package": data.DEBIAN_PACKAGE,
            "debian_dir": data.DEBIAN_DIR,
            "files": {
                "test_images": f"{data.DEBIAN_DIR}/t10k-images-idx3-ubyte.gz",
                "test_labels": f"{data.DEBIAN_DIR}/t10k-labels-idx1-ubyte.gz",
                "train_images": f"{data.DEBIAN_DIR}/train-images-idx3-ubyte.gz",
                "train_labels": f"{data.DEBIAN_DIR}/train-labels-idx1-ubyte.gz",
            },
            "test_count": int(test_u8.shape[0]),
            "train_count": int(train_u8.shape[0]),
        },
        "data": {
            "preprocessing": data.PREPROCESSING,
            "npy_format": "NumPy .npy format version 1.0, little-endian, C order",
            "files": {
                "data/calib.npy": {
                    "role": "calibration",
                    "dtype": "float32",
                    "shape": list(calib.shape),
                    "source": f"training images 0..{CALIB_COUNT - 1} (first {CALIB_COUNT}, in file order), "
                    "preprocessed",
                    "sha256": sha256(os.path.join(args.out, "data", "calib.npy")),
                },
                "data/eval.npy": {
                    "role": "evaluation inputs",
                    "dtype": "float32",
                    "shape": list(eval_x.shape),
                    "source": f"test images 0..{EVAL_COUNT - 1} (first {EVAL_COUNT}, in file order), preprocessed",
                    "sha256": sha256(os.path.join(args.out, "data", "eval.npy")),
                },
                "data/eval_labels.npy": {
                    "role": "evaluation labels",
                    "dtype": "int64",
                    "shape": list(eval_y.shape),
                    "source": f"test labels 0..{EVAL_COUNT - 1}, class indices 0..9",
                    "sha256": sha256(os.path.join(args.out, "data", "eval_labels.npy")),
                },
            },
            "full_test_set": {
                "debian_package": data.DEBIAN_PACKAGE,
                "images": f"{data.DEBIAN_DIR}/t10k-images-idx3-ubyte.gz",
                "labels": f"{data.DEBIAN_DIR}/t10k-labels-idx1-ubyte.gz",
                "format": "gzip-compressed IDX (images magic 0x00000803, labels magic 0x00000801), 10000 items",
                "loader": "src/data/fashion-mnist.ts (loadFashionMnistTest), same preprocessing as the .npy files",
            },
        },
        "models": models,
    }
    with open(manifest_path, "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    print(f"wrote {manifest_path}")
    for k, v in timings.items():
        print(f"training time {k}: {v:.0f}s")
    print(f"total training time: {sum(timings.values()):.0f}s")


if __name__ == "__main__":
    main()
