"""Export torch nn.TransformerEncoderLayer the way a newcomer does, for the integer-lowering tests.

  test/fixtures/torch-encoder/seq-first.fixed.onnx   batch_first=False, x [5, 3, 32] (seq, batch, d), fixed batch 3
  test/fixtures/torch-encoder/seq-first.onnx         batch_first=False, x [5, batch, 32], dynamic_axes on the batch
  test/fixtures/torch-encoder/batch-first.onnx       batch_first=True,  x [batch, 5, 32]
  test/fixtures/torch-encoder/norm-first.onnx        batch_first=False, norm_first=True, x [5, batch, 32]
  test/fixtures/torch-encoder/norm-first.batch-first.onnx  batch_first=True, norm_first=True, x [batch, 5, 32]:
      the norm's output passes a Transpose before the in-projection
  test/fixtures/torch-encoder/seq-first.dynseq.onnx  batch_first=False, x [seq, batch, 32]: dynamic sequence too
  test/fixtures/torch-encoder/padmask.onnx           batch_first=False, x [5, batch, 32] and mask [batch, 5] (bool,
                                                     True = padding) passed as src_key_padding_mask, dynamic batch

Each is nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
dropout=0) in eval mode under an nn.Sequential (so node names read /l/...),
with every parameter (LayerNorm gamma and beta, biases included) drawn from a
seeded generator: the default zero biases and unit gammas would let the
exporter merge them into one initializer and hide mistakes. torch.onnx.export
with the TorchScript exporter, opset 17, constant folding on: the graphs hold
what users' exports hold, torch's attention head split (Reshape [seq, batch*heads,
head_dim], Transpose to [batch*heads, seq, head_dim]) and, with dynamic axes,
its shape arithmetic (Shape, Gather, Slice, Mod, Div, Concat, Unsqueeze, and
the attention scale computed as Sqrt(1 / Sqrt(Cast(head_dim)))). The sequence
length 5 and the fixed batch 3 are chosen so that no two of seq, batch,
heads and batch*heads are equal. The script checks that ONNX Runtime
reproduces torch's output on a batch of 2 (dynamic) or 3 (fixed).

Run: python scripts/make_torch_encoder_fixtures.py  (torch, onnx, onnxruntime, numpy)
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "test", "fixtures", "torch-encoder")
SEQ, FIXED_BATCH, D = 5, 3, 32


def layer(batch_first: bool, norm_first: bool, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    enc = nn.TransformerEncoderLayer(d_model=D, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    with torch.no_grad():
        for name, p in enc.named_parameters():
            if name.endswith("weight") and p.dim() == 1:
                p.copy_(1 + 0.2 * torch.randn_like(p))  # LayerNorm gamma
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))  # biases, LayerNorm beta
    model = nn.Sequential()
    model.add_module("l", enc)
    return model.eval()


def export(name: str, batch_first: bool, norm_first: bool, dynamic: bool, seed: int, dynamic_seq: bool = False) -> None:
    model = layer(batch_first, norm_first, seed)
    batch = 2 if dynamic else FIXED_BATCH
    shape = (batch, SEQ, D) if batch_first else (SEQ, batch, D)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed + 100))
    axis = 0 if batch_first else 1
    path = os.path.join(OUT, name)
    torch.onnx.export(
        model, (x,), path, input_names=["x"], output_names=["y"],
        dynamic_axes={k: {axis: "batch", **({1 - axis: "seq"} if dynamic_seq else {})} for k in ("x", "y")} if dynamic else None,
        opset_version=17, do_constant_folding=True, dynamo=False,
    )  # fmt: skip
    m = onnx.load(path)
    m.doc_string = f"nn.TransformerEncoderLayer(32, 4, 64, dropout=0, batch_first={batch_first}, norm_first={norm_first}), {'dynamic' if dynamic else 'fixed'} batch; scripts/make_torch_encoder_fixtures.py"
    onnx.save(m, path)
    onnx.checker.check_model(m)
    with torch.no_grad():
        want = model(x).numpy()
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    err = float(np.abs(got - want).max())
    assert err < 1e-5, f"{name}: ONNX Runtime differs from torch by {err}"
    print(f"{name}: {os.path.getsize(path)} bytes, max |ORT - torch| {err:.2e}")


class Masked(nn.Module):
    """The layer called with a key padding mask, as a model over padded batches is."""

    def __init__(self, enc: nn.Module) -> None:
        super().__init__()
        self.l = enc.l

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.l(x, src_key_padding_mask=mask)


def export_padmask(name: str, seed: int) -> None:
    """Seq-first, dynamic batch, with src_key_padding_mask: the export adds Where(mask, -inf, 0), reshaped and expanded over the heads, to the scores."""
    model = Masked(layer(False, False, seed)).eval()
    x = torch.randn(SEQ, 3, D, generator=torch.Generator().manual_seed(seed + 100))
    mask = torch.tensor([[False] * SEQ, [False, False, False, True, True], [False, True, False, False, True]])
    path = os.path.join(OUT, name)
    torch.onnx.export(
        model, (x, mask), path, input_names=["x", "mask"], output_names=["y"],
        dynamic_axes={"x": {1: "batch"}, "mask": {0: "batch"}, "y": {1: "batch"}},
        opset_version=17, do_constant_folding=True, dynamo=False,
    )  # fmt: skip
    m = onnx.load(path)
    m.doc_string = "nn.TransformerEncoderLayer(32, 4, 64, dropout=0) called with src_key_padding_mask (bool [batch, 5], True = padding), x [5, batch, 32]; scripts/make_torch_encoder_fixtures.py"
    onnx.save(m, path)
    onnx.checker.check_model(m)
    with torch.no_grad():
        want = model(x, mask).numpy()
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy(), "mask": mask.numpy()})[0]
    keep = ~mask.numpy().T  # [seq, batch]: torch's fast path may zero the padded positions, so only unpadded ones are compared
    err = float(np.abs(got - want)[keep].max())
    assert err < 1e-5, f"{name}: ONNX Runtime differs from torch by {err}"
    print(f"{name}: {os.path.getsize(path)} bytes, max |ORT - torch| {err:.2e} on unpadded positions")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    export("seq-first.fixed.onnx", batch_first=False, norm_first=False, dynamic=False, seed=1)
    export("seq-first.onnx", batch_first=False, norm_first=False, dynamic=True, seed=2)
    export("batch-first.onnx", batch_first=True, norm_first=False, dynamic=True, seed=3)
    export("norm-first.onnx", batch_first=False, norm_first=True, dynamic=True, seed=4)
    export("seq-first.dynseq.onnx", batch_first=False, norm_first=False, dynamic=True, seed=5, dynamic_seq=True)
    export_padmask("padmask.onnx", seed=6)
    export("norm-first.batch-first.onnx", batch_first=True, norm_first=True, dynamic=True, seed=7)


if __name__ == "__main__":
    main()
