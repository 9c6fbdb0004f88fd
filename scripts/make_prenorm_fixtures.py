"""Exports two tiny pre-norm transformer encoder layers for the --smooth tests,
and a Llama-style RMSNorm block for the RMSNorm fusion test.

torch.nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32,
norm_first=True, dropout=0), random weights (seed 0), exported with the
TorchScript exporter at opset 17, torch's fused fast path off:

- prenorm-encoder.onnx           batch_first=True, input x [N, 5, 16]: the
  attention's norm output passes through Transpose(perm [1, 0, 2]) before the
  in-projection MatMul (and is read by Shape nodes);
- prenorm-encoder-seqfirst.onnx  batch_first=False, input x [5, N, 16]: the
  norm output feeds the MatMul directly, plus Shape nodes.

Each norm's γ gets two outlier channels (|γ| about 20) so its output has the
few large channels SmoothQuant is about; β is random and small. γ and β
differ between the two norms (torch's exporter would otherwise share one
initializer through an Identity).

- llama-rmsnorm.onnx  Linear(8, 16) → Hugging Face LlamaRMSNorm (written out
  as transformers has it: .to(float32), pow(2).mean(-1), rsqrt, γ·.to(dtype))
  → Linear(16, 4), input x [N, 5, 8], opset 13 (ReduceMean axes as attribute).

    /path/to/python scripts/make_prenorm_fixtures.py    (torch, onnx)
"""
import os

import onnx
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "transformer")


class Call(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x, src_mask=None, is_causal=False)


def make(batch_first, name):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, norm_first=True, batch_first=batch_first)
    with torch.no_grad():
        for k, norm in enumerate((layer.norm1, layer.norm2)):
            norm.weight.copy_(1 + 0.2 * torch.randn(16))
            norm.weight[3 + k] = 20.0
            norm.weight[11 - k] = -18.0
            norm.bias.copy_(0.1 * torch.randn(16))
    layer.eval()
    torch.backends.mha.set_fastpath_enabled(False)
    x = torch.randn(3, 5, 16) if batch_first else torch.randn(5, 3, 16)
    path = os.path.join(OUT, name)
    batch_axis = 0 if batch_first else 1
    torch.onnx.export(Call(layer), (x,), path, opset_version=17, input_names=["x"], output_names=["y"], dynamic_axes={"x": {batch_axis: "N"}, "y": {batch_axis: "N"}}, dynamo=False)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    print(path, os.path.getsize(path), "bytes")


class LlamaRMSNorm(torch.nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(1 + 0.3 * torch.randn(d))
        self.eps = eps

    def forward(self, h):
        dtype = h.dtype
        h = h.to(torch.float32)
        variance = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + self.eps)
        return self.weight * h.to(dtype)


class RmsBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(8, 16)
        self.norm = LlamaRMSNorm(16)
        self.down = torch.nn.Linear(16, 4)

    def forward(self, x):
        return self.down(self.norm(self.up(x)))


def make_rms(name):
    torch.manual_seed(1)
    block = RmsBlock().eval()
    path = os.path.join(OUT, name)
    torch.onnx.export(block, (torch.randn(2, 5, 8),), path, opset_version=13, input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, dynamo=False)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    print(path, os.path.getsize(path), "bytes")


os.makedirs(OUT, exist_ok=True)
make(True, "prenorm-encoder.onnx")
make(False, "prenorm-encoder-seqfirst.onnx")
make_rms("llama-rmsnorm.onnx")
