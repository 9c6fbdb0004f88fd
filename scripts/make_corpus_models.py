"""Export the two models of the real-model corpus that fixq builds itself.

  test/fixtures/corpus/bert-tiny.onnx   BERT-style encoder, random weights
  test/fixtures/corpus/vit-export.onnx  the bundled ViT's weights, exported the way users' exports look

Both go through torch.onnx.export (TorchScript exporter, opset 17, dynamic batch
and, for BERT, dynamic sequence length), so their graphs hold what Hugging Face /
optimum-style exports hold and hand-built fixtures do not: int64 inputs, shape
arithmetic (Shape -> Gather -> Unsqueeze -> Concat feeding Reshape/Expand),
Range for position ids, ConstantOfShape, Gather embeddings, LayerNormalization,
exact GELU as Erf, Softmax attention.

vit-export.onnx computes exactly the function of models/vit.onnx: its weights
are read back from that file (torch cannot retrain them identically), and the
script checks that ONNX Runtime gives the same logits for both files. The
bundled ViT has no CLS token (it mean-pools its tokens), so the batch broadcast
that a CLS token gets in users' ViTs is exercised by the position embedding
instead: `pos_embed.expand(batch, -1, -1)`, an Expand on an int64 shape built
in the graph, the same nodes a CLS-token broadcast exports to.

Run: python scripts/make_corpus_models.py  (torch, onnx, onnxruntime, numpy)
"""

from __future__ import annotations

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_models as zoo  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "test", "fixtures", "corpus")
OPSET = 17


def export_onnx(model: nn.Module, args: tuple, path: str, dynamic_axes: dict, doc: str) -> None:
    """torch.onnx.export as users call it (TorchScript exporter, constant folding on), inputs and outputs named by `dynamic_axes`."""
    names = list(dynamic_axes)
    torch.onnx.export(
        model, args, path, input_names=names[:-1], output_names=names[-1:], dynamic_axes=dynamic_axes,
        opset_version=OPSET, do_constant_folding=True, dynamo=False,
    )  # fmt: skip
    m = onnx.load(path)
    m.doc_string = doc
    onnx.save(m, path)


# --------------------------------------------------------------------------- BERT-style encoder


class BertEmbeddings(nn.Module):
    def __init__(self, vocab: int, dim: int, max_pos: int) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(max_pos, dim)
        self.token_type = nn.Embedding(2, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        seq = input_ids.shape[1]
        positions = torch.arange(seq, dtype=torch.long).unsqueeze(0)  # Shape -> Gather -> Range -> Unsqueeze
        types = torch.zeros_like(input_ids)
        x = self.word(input_ids) + self.position(positions) + self.token_type(types)
        return self.norm(x)


class BertLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ff: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-12)
        self.ff1 = nn.Linear(dim, ff)
        self.ff2 = nn.Linear(ff, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-12)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[1]  # reshape targets computed in the graph
        return x.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / (self.head_dim**0.5) + mask_bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2)
        ctx = ctx.reshape(ctx.shape[0], ctx.shape[1], -1)
        x = self.norm1(x + self.out(ctx))
        return self.norm2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class TinyBert(nn.Module):
    """Embeddings (word, position, token type) -> 2 post-norm encoder layers -> tanh pooler on token 0 -> 2 logits."""

    def __init__(self, vocab: int = 3000, dim: int = 64, layers: int = 2, heads: int = 4, ff: int = 128, max_pos: int = 128) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(vocab, dim, max_pos)
        self.layers = nn.ModuleList([BertLayer(dim, heads, ff) for _ in range(layers)])
        self.pooler = nn.Linear(dim, dim)
        self.classifier = nn.Linear(dim, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(input_ids)
        # The extended attention mask of BERT exports: (1 - mask) * large negative, broadcast over heads and queries.
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))


def export_bert(path: str) -> None:
    torch.manual_seed(13)
    model = TinyBert().eval()
    ids = torch.randint(0, 3000, (2, 16), dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}
    export_onnx(model, (ids, mask), path, axes, "BERT-style encoder with random weights (scripts/make_corpus_models.py): structure only")
    sess = ort.InferenceSession(path)
    want = model(ids, mask).detach().numpy()
    got = sess.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    assert np.allclose(want, got, atol=1e-4), "ORT and torch disagree on bert-tiny.onnx"


# --------------------------------------------------------------------------- ViT, exported as users export


class ExportAttention(zoo.Attention):
    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[1]
        return x.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self._heads(self.q(x) * self.scale)
        k = self._heads(self.k(x))
        v = self._heads(self.v(x))
        attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)), dim=-1)
        y = torch.matmul(attn, v).transpose(1, 2)
        return self.proj(y.reshape(y.shape[0], y.shape[1], -1))


class ExportViT(zoo.TinyViT):
    def __init__(self) -> None:
        super().__init__(dim=64, depth=4, heads=4, patch=7, mlp_ratio=2)
        for blk in self.blocks:
            old = blk.attn
            blk.attn = ExportAttention(old.dim, old.heads, old.tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        x = self.patch_embed(x)
        x = x.reshape(b, x.shape[1], -1).transpose(1, 2)
        x = self.blocks(x + self.pos_embed.expand(b, -1, -1))
        x = self.norm(x).mean(dim=1)
        return self.fc(x)


def load_vit_weights(model: ExportViT, path: str) -> None:
    """Reads the bundled ViT's weights back: named initializers by name, MatMul weights in execution order."""
    m = onnx.load(path)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    state = model.state_dict()
    for name in state:
        if name in inits:
            state[name] = torch.from_numpy(inits[name].copy())
    matmul_weights = [inits[n.input[1]] for n in m.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    linears = [mod for blk in model.blocks for mod in (blk.attn.q, blk.attn.k, blk.attn.v, blk.attn.proj, blk.fc1, blk.fc2)]
    assert len(matmul_weights) == len(linears), (len(matmul_weights), len(linears))
    for lin, w in zip(linears, matmul_weights):
        name = next(k for k, v in model.named_parameters() if v is lin.weight)
        state[name] = torch.from_numpy(w.T.copy())
    model.load_state_dict(state)


def export_vit(path: str) -> None:
    bundled = os.path.join(ROOT, "models", "vit.onnx")
    model = ExportViT().eval()
    load_vit_weights(model, bundled)
    doc = "models/vit.onnx re-exported with in-graph reshape targets and an Expand broadcast (scripts/make_corpus_models.py)"
    export_onnx(model, (torch.zeros(2, 1, 28, 28),), path, {"input": {0: "batch"}, "logits": {0: "batch"}}, doc)
    x = np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32)
    a = ort.InferenceSession(bundled).run(None, {"input": x})[0]
    b = ort.InferenceSession(path).run(None, {"input": x})[0]
    assert np.allclose(a, b, atol=1e-4), f"vit-export.onnx differs from models/vit.onnx by {np.abs(a - b).max()}"


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for name, export in (("bert-tiny.onnx", export_bert), ("vit-export.onnx", export_vit)):
        path = os.path.join(OUT, name)
        export(path)
        ops = sorted({n.op_type for n in onnx.load(path).graph.node})
        print(f"{path}: {os.path.getsize(path)} bytes; ops {' '.join(ops)}")


if __name__ == "__main__":
    main()
