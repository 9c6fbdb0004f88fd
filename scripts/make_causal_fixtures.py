"""Tiny torch exports of two transformer patterns the integer lowering folds (test/fixtures/causal/).

  gpt2-tiny.onnx  GPT-2-style decoder: token + position embeddings, 2 pre-LN blocks whose attention masks the
                  scores with the causal buffer (tril, sliced to the sequence length, masked_fill → Equal, Where
                  with −inf), tanh GELU, tied lm_head; input_ids int64 [batch, sequence], dynamic both
  vit-tiny.onnx   ViT-style: 4x4 patch Conv over 3x8x8, the cls token expanded over the batch and concatenated in
                  front of the 4 patch tokens, 1 block, head on the cls row; pixel_values [batch, 3, 8, 8]

D = 16, 2 heads, vocabulary 40, random weights (seeded). TorchScript exporter, opset 17. The script checks
that ONNX Runtime reproduces torch on a batch of 2.

Run: python scripts/make_causal_fixtures.py  (torch, onnx, onnxruntime, numpy)
"""

import math
import os

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "test", "fixtures", "causal")
V, D, H, F, SEQ = 40, 16, 2, 32, 8


class Attention(nn.Module):
    def __init__(self, causal: bool):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.causal = causal
        self.register_buffer("bias", torch.tril(torch.ones(32, 32)).view(1, 1, 32, 32))

    def forward(self, x):
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, H, D // H).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = q @ k.transpose(-1, -2) / math.sqrt(D // H)
        if self.causal:
            a = a.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        return self.o((a.softmax(-1) @ v).transpose(1, 2).contiguous().view(b, t, D))


class Block(nn.Module):
    def __init__(self, causal: bool):
        super().__init__()
        self.ln1, self.att, self.ln2, self.fc, self.proj = nn.LayerNorm(D), Attention(causal), nn.LayerNorm(D), nn.Linear(D, F), nn.Linear(F, D)

    def forward(self, x):
        x = x + self.att(self.ln1(x))
        return x + self.proj(nn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(32, D)
        self.h = nn.ModuleList([Block(True) for _ in range(2)])
        self.lnf = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, V, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, input_ids):
        x = self.wte(input_ids) + self.wpe(torch.arange(input_ids.shape[1]).unsqueeze(0))
        for b in self.h:
            x = b(x)
        return self.lm_head(self.lnf(x))


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, D, 4, 4)
        self.cls_tok = nn.Parameter(torch.randn(1, 1, D) * 0.5)
        self.pos = nn.Parameter(torch.randn(1, 5, D) * 0.1)
        self.block, self.ln, self.head = Block(False), nn.LayerNorm(D), nn.Linear(D, 10)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_tok.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.ln(self.block(x))[:, 0])


def export(model, x, name, axes):
    model.eval()
    path = os.path.join(OUT, name)
    torch.onnx.export(model, (x,), path, input_names=[axes[0]], output_names=["out"], dynamic_axes={axes[0]: axes[1], "out": axes[2]}, opset_version=17, dynamo=False)
    y = ort.InferenceSession(path).run(None, {axes[0]: x.numpy()})[0]
    with torch.no_grad():
        assert np.allclose(y, model(x).numpy(), atol=1e-4), name
    print("wrote", path, os.path.getsize(path), "bytes")


os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
export(GPT2(), torch.randint(0, V, (2, SEQ)), "gpt2-tiny.onnx", ("input_ids", {0: "batch", 1: "sequence"}, {0: "batch", 1: "sequence"}))
torch.manual_seed(1)
export(ViT(), torch.randn(2, 3, 8, 8), "vit-tiny.onnx", ("pixel_values", {0: "batch"}, {0: "batch"}))
