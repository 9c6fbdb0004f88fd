"""Export a tiny BERT-style classifier with torch's dynamo exporter, as a newcomer does, for the --input-shape tests.

  test/fixtures/dynamo/bert-tiny.onnx   input_ids, token_type_ids, attention_mask int64 [batch, sequence]
                                        → logits [batch, 3]; opset 18, torch.onnx.export(dynamo=True)
  test/fixtures/dynamo/bert-tiny.npz    8 samples of those three inputs, sequence 6

The model: word, position and token-type embeddings, LayerNorm, one post-norm
encoder layer (four 4-wide heads, the additive mask (1 − mask)·−10000, erf
GELU), a tanh pooler on the first token and a 3-way classifier, widths 16/32,
vocabulary 40, every parameter drawn from a seeded generator. The dynamo
exporter declares a value_info for every intermediate value with the symbolic
dims of the inputs (position ids Range → Unsqueeze are [1, sequence]), which
is what the test exercises; the TorchScript exporter declares none. The model
is saved in one file (the exporter writes external data by default).
The script checks that ONNX Runtime reproduces torch's output.

Run: python scripts/make_dynamo_bert_fixture.py  (torch, onnx, onnxruntime, numpy, onnxscript)
"""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn
from torch.export import Dim

V, D, H, F, S, N = 40, 16, 4, 32, 6, 8
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "dynamo")


class Bert(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.we, self.pe, self.te = nn.Embedding(V, D), nn.Embedding(16, D), nn.Embedding(2, D)
        self.ln0, self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.f1, self.f2, self.pool, self.cls = nn.Linear(D, F), nn.Linear(F, D), nn.Linear(D, D), nn.Linear(D, 3)

    def forward(self, input_ids, token_type_ids, attention_mask):
        b, t = input_ids.shape
        pos = torch.arange(t, dtype=torch.long).unsqueeze(0)
        x = self.ln0(self.we(input_ids) + self.pe(pos) + self.te(token_type_ids))
        heads = lambda y: y.view(b, t, H, D // H).transpose(1, 2)
        a = heads(self.q(x)) @ heads(self.k(x)).transpose(-1, -2) / math.sqrt(D // H)
        a = (a + (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0).softmax(-1)
        x = self.ln1(x + self.o((a @ heads(self.v(x))).transpose(1, 2).reshape(b, t, D)))
        x = self.ln2(x + self.f2(nn.functional.gelu(self.f1(x))))
        return self.cls(torch.tanh(self.pool(x[:, 0])))


def main() -> None:
    g = torch.Generator().manual_seed(10)
    model = Bert().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    rng = np.random.default_rng(10)
    feeds = {
        "input_ids": rng.integers(0, V, (N, S)).astype(np.int64),
        "token_type_ids": (np.arange(S)[None, :] >= S // 2).repeat(N, 0).astype(np.int64),
        "attention_mask": np.ones((N, S), np.int64),
    }
    feeds["attention_mask"][::3, -2:] = 0
    args = tuple(torch.from_numpy(feeds[k][:2]) for k in feeds)
    batch, seq = Dim("batch"), Dim("sequence", min=2, max=16)
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        exported = os.path.join(tmp, "bert.onnx")
        torch.onnx.export(model, args, exported, input_names=list(feeds), output_names=["logits"], opset_version=18, dynamo=True,
                          dynamic_shapes=({0: batch, 1: seq},) * 3)
        m = onnx.load(exported)
    path = os.path.join(OUT, "bert-tiny.onnx")
    onnx.save_model(m, path, save_as_external_data=False)
    np.savez(os.path.join(OUT, "bert-tiny.npz"), **feeds)
    want = model(*(torch.from_numpy(v) for v in feeds.values())).detach().numpy()
    got = ort.InferenceSession(path).run(None, feeds)[0]
    assert np.allclose(got, want, atol=1e-4), np.abs(got - want).max()
    assert any(v.name == "unsqueeze" for v in m.graph.value_info), "the dynamo exporter no longer declares value_info"
    print(f"wrote {path} ({os.path.getsize(path)} bytes), max |ORT − torch| {np.abs(got - want).max():.2e}")


if __name__ == "__main__":
    main()
