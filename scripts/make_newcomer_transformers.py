"""Torch exports a newcomer makes of common transformer shapes, to reproduce what fixq does with them (not test fixtures).

Writes into the folder given as the first argument (default /tmp/fixq-newcomer):
  bert_op{14,17,18}.onnx   BERT-style encoder: word/position/token-type embeddings, 2 post-LN layers with an
                           additive attention mask, erf GELU, tanh pooler, 3 classes; int64 input_ids,
                           token_type_ids, attention_mask [batch, sequence]
  gpt2_op{14,17,18}.onnx   GPT-2-style decoder: 2 pre-LN blocks, causal mask (tril buffer, masked_fill → Where),
                           tanh GELU, lm_head tied to the token embedding; input_ids [batch, sequence]
  vit_op{14,17,18}.onnx    ViT-style: 8x8 patch Conv, cls token expanded over the batch and concatenated, 2 blocks
  tenc_bf{0,1}_nf{0,1}.onnx  nn.TransformerEncoder (2 layers) batch_first 0/1, norm_first 0/1, opset 17
  bert_ext.onnx(.data)     bert_op17 saved with save_as_external_data
  *_dynamo.onnx            the same with torch.onnx.export(dynamo=True) at opset 18 (needs onnxscript)
  bert_calib.npz, gpt2_calib.npy, vit_calib.npy, tenc_bf{0,1}.npy   32 samples each
All with dynamic batch (and sequence) axes, random weights (seeded). D=64, 4 heads, vocabulary 500.

Run: python scripts/make_newcomer_transformers.py [OUT]  (torch, onnx, onnxruntime, numpy; onnxscript for dynamo)
Then e.g.: fixq quantize OUT/bert_op17.onnx --calib OUT/bert_calib.npz -o q.onnx --eval OUT/bert_calib.npz
"""

import math, sys, os, torch, torch.nn as nn, numpy as np
torch.manual_seed(0)
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/fixq-newcomer"
os.makedirs(OUT, exist_ok=True)
V, D, H, L, S, F = 500, 64, 4, 2, 16, 128

class MHA(nn.Module):
    def __init__(s, causal=False):
        super().__init__(); s.q = nn.Linear(D, D); s.k = nn.Linear(D, D); s.v = nn.Linear(D, D); s.o = nn.Linear(D, D); s.causal = causal
        if causal: s.register_buffer("bias", torch.tril(torch.ones(64, 64)).view(1, 1, 64, 64))
    def forward(s, x, mask=None):
        B, T, _ = x.shape
        sh = lambda t: t.view(B, T, H, D // H).transpose(1, 2)
        q, k, v = sh(s.q(x)), sh(s.k(x)), sh(s.v(x))
        a = q @ k.transpose(-1, -2) / math.sqrt(D // H)
        if s.causal:
            a = a.masked_fill(s.bias[:, :, :T, :T] == 0, float("-inf"))
        if mask is not None: a = a + mask
        a = a.softmax(-1)
        return s.o((a @ v).transpose(1, 2).contiguous().view(B, T, D))

class BertLayer(nn.Module):
    def __init__(s):
        super().__init__(); s.att = MHA(); s.ln1 = nn.LayerNorm(D); s.f1 = nn.Linear(D, F); s.f2 = nn.Linear(F, D); s.ln2 = nn.LayerNorm(D)
    def forward(s, x, m):
        x = s.ln1(x + s.att(x, m)); return s.ln2(x + s.f2(nn.functional.gelu(s.f1(x))))

class Bert(nn.Module):
    def __init__(s):
        super().__init__(); s.we = nn.Embedding(V, D); s.pe = nn.Embedding(S * 4, D); s.te = nn.Embedding(2, D); s.ln = nn.LayerNorm(D)
        s.layers = nn.ModuleList([BertLayer() for _ in range(L)]); s.pool = nn.Linear(D, D); s.cls = nn.Linear(D, 3)
    def forward(s, input_ids, token_type_ids, attention_mask):
        T = input_ids.shape[1]
        pos = torch.arange(T, dtype=torch.long).unsqueeze(0)
        x = s.ln(s.we(input_ids) + s.pe(pos) + s.te(token_type_ids))
        m = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for l in s.layers: x = l(x, m)
        return s.cls(torch.tanh(s.pool(x[:, 0])))

class GPT2Block(nn.Module):
    def __init__(s):
        super().__init__(); s.ln1 = nn.LayerNorm(D); s.att = MHA(causal=True); s.ln2 = nn.LayerNorm(D); s.fc = nn.Linear(D, F); s.proj = nn.Linear(F, D)
    def forward(s, x):
        x = x + s.att(s.ln1(x)); return x + s.proj(nn.functional.gelu(s.fc(s.ln2(x)), approximate="tanh"))

class GPT2(nn.Module):
    def __init__(s):
        super().__init__(); s.wte = nn.Embedding(V, D); s.wpe = nn.Embedding(64, D); s.h = nn.ModuleList([GPT2Block() for _ in range(L)]); s.lnf = nn.LayerNorm(D)
        s.lm_head = nn.Linear(D, V, bias=False); s.lm_head.weight = s.wte.weight
    def forward(s, input_ids):
        T = input_ids.shape[1]
        x = s.wte(input_ids) + s.wpe(torch.arange(T).unsqueeze(0))
        for b in s.h: x = b(x)
        return s.lm_head(s.lnf(x))

class ViT(nn.Module):
    def __init__(s):
        super().__init__(); s.patch = nn.Conv2d(3, D, 8, 8); s.cls_tok = nn.Parameter(torch.randn(1, 1, D) * .02); s.pos = nn.Parameter(torch.randn(1, 17, D) * .02)
        s.blocks = nn.ModuleList([GPT2Block() for _ in range(L)]); [setattr(b.att, "causal", False) for b in s.blocks]; s.ln = nn.LayerNorm(D); s.head = nn.Linear(D, 10)
    def forward(s, pixel_values):
        x = s.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([s.cls_tok.expand(x.shape[0], -1, -1), x], 1) + s.pos
        for b in s.blocks: x = b(x)
        return s.head(s.ln(x)[:, 0])

class TEnc(nn.Module):
    def __init__(s, bf, nf):
        super().__init__(); s.bf = bf
        s.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, F, dropout=0.0, batch_first=bf, norm_first=nf), L, enable_nested_tensor=False)
        s.head = nn.Linear(D, 5)
        with torch.no_grad():
            for p in s.enc.parameters(): p.add_(torch.randn_like(p) * 0.05)
    def forward(s, x): return s.head(s.enc(x))

def export(m, args, names, name, dyn, opset, ext=False, dynamo=False):
    m.eval(); path = f"{OUT}/{name}.onnx"
    torch.onnx.export(m, args, path, input_names=names, output_names=["out"], dynamic_axes=dyn, opset_version=opset, dynamo=dynamo)
    if ext:
        import onnx
        mm = onnx.load(path); onnx.save_model(mm, path, save_as_external_data=True, all_tensors_to_one_file=True, location=f"{name}.onnx.data", size_threshold=1024)
    print("wrote", path)

B = 2
ids = torch.randint(0, V, (B, S)); tt = torch.zeros(B, S, dtype=torch.long); tt[:, S // 2:] = 1; am = torch.ones(B, S, dtype=torch.long); am[1, -4:] = 0
dynb = {"input_ids": {0: "batch", 1: "sequence"}, "token_type_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "out": {0: "batch"}}
bert = Bert(); gpt = GPT2(); vit = ViT()
for op in (14, 17, 18):
    export(bert, (ids, tt, am), ["input_ids", "token_type_ids", "attention_mask"], f"bert_op{op}", dynb, op)
    export(gpt, (ids,), ["input_ids"], f"gpt2_op{op}", {"input_ids": {0: "batch", 1: "sequence"}, "out": {0: "batch", 1: "sequence"}}, op)
    export(vit, (torch.randn(B, 3, 32, 32),), ["pixel_values"], f"vit_op{op}", {"pixel_values": {0: "batch"}, "out": {0: "batch"}}, op)
for bf in (True, False):
    for nf in (True, False):
        x = torch.randn(B, S, D) if bf else torch.randn(S, B, D)
        dyn = {"x": {0: "batch", 1: "seq"} if bf else {0: "seq", 1: "batch"}, "out": {0: "batch", 1: "seq"} if bf else {0: "seq", 1: "batch"}}
        export(TEnc(bf, nf), (x,), ["x"], f"tenc_bf{int(bf)}_nf{int(nf)}", dyn, 17)
export(bert, (ids, tt, am), ["input_ids", "token_type_ids", "attention_mask"], "bert_ext", dynb, 17, ext=True)

# data
rng = np.random.default_rng(1)
N = 32
ids = rng.integers(0, V, (N, S)).astype(np.int64); tt = np.zeros((N, S), np.int64); tt[:, S // 2:] = 1
am = np.ones((N, S), np.int64); am[::3, -5:] = 0
np.savez(f"{OUT}/bert_calib.npz", input_ids=ids, token_type_ids=tt, attention_mask=am)
np.save(f"{OUT}/gpt2_calib.npy", ids)
np.save(f"{OUT}/vit_calib.npy", rng.standard_normal((N, 3, 32, 32)).astype(np.float32))
np.save(f"{OUT}/tenc_bf1.npy", rng.standard_normal((N, S, D)).astype(np.float32))
np.save(f"{OUT}/tenc_bf0.npy", rng.standard_normal((S, N, D)).astype(np.float32))


# the dynamo exporter (torch.onnx.export(dynamo=True)); skipped when onnxscript is missing
try:
    import onnxscript  # noqa: F401
except ImportError:
    print("onnxscript not installed: dynamo exports skipped")
    sys.exit(0)
from torch.export import Dim
ids = torch.randint(0, V, (B, S)); tt = torch.zeros(B, S, dtype=torch.long); tt[:, S // 2:] = 1; am = torch.ones(B, S, dtype=torch.long); am[1, -4:] = 0
torch.manual_seed(0)
bert = Bert(); gpt = GPT2(); vit = ViT()
def ex(m, args, names, name, dyn, opset=18):
    m.eval()
    try:
        torch.onnx.export(m, args, f"{OUT}/{name}.onnx", input_names=names, output_names=["out"], dynamic_shapes=dyn, opset_version=opset, dynamo=True)
        print("wrote", name)
    except Exception as e: print("FAIL", name, type(e).__name__, str(e)[:300])
b, s = Dim("batch"), Dim("sequence", min=2, max=64)
ex(bert, (ids, tt, am), ["input_ids", "token_type_ids", "attention_mask"], "bert_dynamo", ({0: b, 1: s}, {0: b, 1: s}, {0: b, 1: s}))
ex(gpt, (ids,), ["input_ids"], "gpt2_dynamo", ({0: b, 1: s},))
ex(vit, (torch.randn(B, 3, 32, 32),), ["pixel_values"], "vit_dynamo", ({0: b},))
ex(TEnc(True, True), (torch.randn(B, S, D),), ["x"], "tenc_bf1_nf1_dynamo", ({0: b, 1: s},))
