#!/usr/bin/env python3
"""Golden vectors for fixq's block formats (test/fixtures/numerics/block-*.npz).

An independent reference, written in numpy from the specification texts, not
from fixq's TypeScript:

MX (OCP Microscaling Formats v1.0, section 6.3), blocks of 32 along an axis:
    X   = 2 ** clip(floor(log2(max|V|)) - emax_elem, -127, 127)   (E8M0 scale)
    P_i = element(V_i / X), element cast: clip to +-max_elem, then
          round to nearest, ties to even (ml_dtypes' cast; np.rint for INT8)
  with the project's documented choices: a block of zeros gets code 0
  (2**-127); a block holding NaN or Inf gets the NaN scale 0xFF and element
  codes 0; MXINT8 is q * 2**-6 with q clipped to [-127, 127].
  floor(log2(.)) comes from np.frexp, which is exact.

NVFP4 (NVIDIA's two-level scaling), blocks of 16, every step in float32:
    s_t = f32(amax_tensor / 2688), or 1 when that is 0   (amax over finite values)
    s_b = E4M3(clip(f32(f32(amax_b / 6) / s_t), -448, 448))
    d_b = f32(f32(s_b) * s_t)
    q_i = E2M1(clip(f32(x_i / d_b), -6, 6)),   0 where d_b == 0
    x^_i = f32(f32(q_i) * d_b)

Independently of both, ONNX's reference DequantizeLinear
(onnx.reference.ReferenceEvaluator) decodes the stored forms fixq exports:
    MXFP8/MXINT8  DequantizeLinear-21(FP8 or INT8 elements, float32 scales 2**e (2**(e-6) for INT8), axis, block_size=32)
    MXFP4         DequantizeLinear-23(FLOAT4E2M1 elements, float32 scales, ...) and
                  DequantizeLinear-24(..., FLOAT8E8M0 scales, output_dtype=FLOAT)
    NVFP4         DequantizeLinear(E4M3 block scales, s_t) -> DequantizeLinear-23(FP4 elements, that, block_size=16)
(MXFP6 has no DequantizeLinear in any opset, so it has no `onnx_dq`.)

Writes test/fixtures/numerics/block-<format>.npz with, per case C:
    C_x (float32), C_dims (int32), C_axis (int32 [1]),
    C_scales (uint8: E8M0 codes, or E4M3 codes for NVFP4, laid out as ONNX's
              blocked scale: dims with dims[axis] -> ceil(D/B)),
    C_elements (uint8 element codes, unpacked), C_dequant (float32),
    C_onnx_dq (float32, where ONNX has the representation),
    C_tensor_scale (float32 [1], NVFP4 only)

Usage: python3 scripts/make_block_format_vectors.py [OUT_DIR]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

SEED = 20240817

# name -> (ml_dtypes element type or "int8", emax_elem, element max, ONNX element type or None)
MX = {
    "mxfp8e4m3": (ml_dtypes.float8_e4m3fn, 8, 448.0, TensorProto.FLOAT8E4M3FN),
    "mxfp8e5m2": (ml_dtypes.float8_e5m2, 15, 57344.0, TensorProto.FLOAT8E5M2),
    "mxfp6e2m3": (ml_dtypes.float6_e2m3fn, 2, 7.5, None),
    "mxfp6e3m2": (ml_dtypes.float6_e3m2fn, 4, 28.0, None),
    "mxfp4": (ml_dtypes.float4_e2m1fn, 2, 6.0, TensorProto.FLOAT4E2M1),
    "mxint8": ("int8", 0, 127 / 64, TensorProto.INT8),
}


def to_blocks(x: np.ndarray, dims, axis: int, size: int):
    """(..., nb, size) view of x with `axis` moved last and zero-padded."""
    a = np.moveaxis(x.reshape(dims), axis, -1)
    d = a.shape[-1]
    nb = -(-d // size)
    pad = nb * size - d
    a = np.concatenate([a, np.zeros(a.shape[:-1] + (pad,), a.dtype)], axis=-1)
    return a.reshape(a.shape[:-1] + (nb, size)), d


def from_blocks(b: np.ndarray, d: int, axis: int) -> np.ndarray:
    a = b.reshape(b.shape[:-2] + (-1,))[..., :d]
    return np.moveaxis(a, -1, axis)


def scale_layout(s: np.ndarray, axis: int) -> np.ndarray:
    """Per-block values (..., nb) back into ONNX's scale layout (nb at `axis`)."""
    return np.moveaxis(s, -1, axis)


def mx_reference(name: str, x: np.ndarray, dims, axis: int):
    elem, emax, emax_val, _ = MX[name]
    blocks, d = to_blocks(x.astype(np.float64), dims, axis, 32)
    with np.errstate(invalid="ignore"):
        amax = np.max(np.abs(blocks), axis=-1)  # NaN propagates
    bad = ~np.isfinite(amax)
    _, ex = np.frexp(np.where(bad | (amax == 0), 1.0, amax))  # amax = m * 2**ex, m in [0.5, 1)
    shared = np.clip(ex - 1 - emax, -127, 127)
    shared = np.where(amax == 0, -127, shared)
    codes = np.where(bad, 255, shared + 127).astype(np.uint8)
    scaled = np.where(bad[..., None], 0.0, blocks / np.exp2(shared)[..., None]).astype(np.float32)
    if elem == "int8":
        q = np.clip(np.rint(scaled.astype(np.float64) * 64), -127, 127)
        elements = q.astype(np.int8).view(np.uint8)
        decoded = q.astype(np.int8).astype(np.float64) / 64  # from the stored code: INT8 has no -0
    else:
        p = np.clip(scaled, -emax_val, emax_val).astype(elem)
        elements = p.view(np.uint8).copy()
        decoded = p.astype(np.float64)
    deq = np.where(bad[..., None], np.nan, decoded * np.exp2(shared)[..., None]).astype(np.float32)
    return {
        "scales": scale_layout(codes, axis),
        "elements": from_blocks(elements, d, axis),
        "dequant": from_blocks(deq, d, axis),
    }


def nvfp4_reference(x: np.ndarray, dims, axis: int):
    f32 = np.float32
    finite = np.abs(x[np.isfinite(x)])
    amax_t = f32(finite.max()) if finite.size else f32(0)
    s_t = f32(amax_t / f32(2688))
    if not (s_t > 0):
        s_t = f32(1)
    blocks, d = to_blocks(x, dims, axis, 16)
    with np.errstate(invalid="ignore"):
        amax = np.max(np.abs(blocks), axis=-1).astype(f32)
        sb_in = (amax / f32(6)).astype(f32) / s_t
    sb = np.clip(sb_in, -448, 448).astype(ml_dtypes.float8_e4m3fn)
    dscale = (sb.astype(f32) * s_t).astype(f32)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(dscale[..., None] == 0, f32(0), blocks / dscale[..., None]).astype(f32)
    q = np.clip(scaled, -6, 6).astype(ml_dtypes.float4_e2m1fn)
    deq = (q.astype(f32) * dscale[..., None]).astype(f32)
    return {
        "scales": scale_layout(sb.view(np.uint8), axis),
        "elements": from_blocks(q.view(np.uint8), d, axis),
        "dequant": from_blocks(deq, d, axis),
        "tensor_scale": np.array([s_t], np.float32),
    }


def run_dq(nodes, inits, opset: int) -> np.ndarray:
    g = helper.make_graph(nodes, "dq", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    return ReferenceEvaluator(m).run(None, {})[0]


def typed(name: str, codes: np.ndarray, dtype) -> onnx.TensorProto:
    return numpy_helper.from_array(codes.view(dtype) if dtype is not np.uint8 else codes, name)


def onnx_mx_dq(name: str, r, dims, axis: int):
    elem, _, _, onnx_type = MX[name]
    if onnx_type is None:
        return {}
    codes = r["elements"]
    x_t = typed("x", codes, np.int8 if elem == "int8" else elem)
    scales = r["scales"]
    nan = scales == 255
    implicit = 6 if elem == "int8" else 0  # MXINT8 elements carry an implicit 2**-6: the DQ scale is X * 2**-6
    s_f32 = np.where(nan, np.nan, np.exp2(scales.astype(np.float64) - 127 - implicit)).astype(np.float32)
    attrs = {"axis": axis, "block_size": 32}
    if np.any(nan):
        return {}  # a NaN scale is an input ONNX leaves undefined for integer elements; checked in fixq's own tests
    out = {"onnx_dq": run_dq([helper.make_node("DequantizeLinear", ["x", "s"], ["y"], **attrs)], [x_t, numpy_helper.from_array(s_f32, "s")], 23 if elem is ml_dtypes.float4_e2m1fn else 21)}
    if elem is ml_dtypes.float4_e2m1fn:
        e8 = numpy_helper.from_array(scales.view(ml_dtypes.float8_e8m0fnu), "s")
        node = helper.make_node("DequantizeLinear", ["x", "s"], ["y"], output_dtype=TensorProto.FLOAT, **attrs)
        out["onnx_dq_e8m0"] = run_dq([node], [x_t, e8], 24)
    return out


def onnx_nvfp4_dq(r, axis: int):
    x_t = typed("x", r["elements"], ml_dtypes.float4_e2m1fn)
    sb = typed("sb", r["scales"], ml_dtypes.float8_e4m3fn)
    st = numpy_helper.from_array(r["tensor_scale"].reshape(()), "st")
    nodes = [
        helper.make_node("DequantizeLinear", ["sb", "st"], ["d"]),
        helper.make_node("DequantizeLinear", ["x", "d"], ["y"], axis=axis, block_size=16),
    ]
    return {"onnx_dq": run_dq(nodes, [x_t, sb, st], 23)}


def special_rows(rng: np.random.Generator) -> np.ndarray:
    """Rows of 32 (two NVFP4 blocks each) that hit the corners."""
    rows = []
    base = rng.uniform(-1, 1, 32).astype(np.float32)
    rows.append(np.zeros(32, np.float32))  # amax 0
    rows.append(np.where(np.arange(32) == 5, np.float32(1e-40), np.float32(0)))  # one float32 subnormal
    rows.append((base * np.float32(1e-39)).astype(np.float32))  # all subnormal
    rows.append((base * np.float32(3e38)).astype(np.float32))  # near float32 max
    for k in (-130, -60, -3, 0, 1, 7, 100, 127):
        r = (base * np.float32(2.0**k)).astype(np.float32)
        r[0] = np.float32(2.0**k)  # amax exactly a power of two
        rows.append(r)
        r2 = r.copy()
        r2[0] = np.nextafter(np.float32(2.0**k), np.float32(0))  # just below it
        rows.append(r2)
    # ties: grid midpoints of small formats times a power of two, both signs
    mids = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 7, 0.0625, 0.1875, 6.75, 7.25, 26, 30, 464, 61440], np.float32)
    rows.append(np.concatenate([mids, -mids]) * np.float32(4))
    rows.append(np.concatenate([mids, -mids]) / np.float32(8))
    # one huge outlier: everything else flushes
    r = (base * np.float32(1e-3)).astype(np.float32)
    r[17] = np.float32(5e4)
    rows.append(r)
    nan = base.copy()
    nan[3] = np.nan
    rows.append(nan)
    inf = base.copy()
    inf[20] = -np.inf
    rows.append(inf)
    return np.stack(rows).astype(np.float32)


def cases(rng: np.random.Generator):
    mag = np.exp2(rng.uniform(-12, 12, 210)).astype(np.float32)
    sign = np.where(rng.integers(0, 2, 210) == 1, -1, 1).astype(np.float32)
    yield "ragged", (mag * sign).astype(np.float32), [3, 70], 1
    yield "axis0", rng.normal(0, 1, 37 * 2 * 3).astype(np.float32), [37, 2, 3], 0
    sp = special_rows(rng)
    yield "special", sp.reshape(-1), list(sp.shape), 1


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "test/fixtures/numerics"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    all_cases = list(cases(rng))
    for name in [*MX, "nvfp4"]:
        arrays = {}
        for case, x, dims, axis in all_cases:
            if name == "nvfp4":
                r = nvfp4_reference(x, dims, axis)
                r.update(onnx_nvfp4_dq(r, axis) if np.all(np.isfinite(x)) else {})
            else:
                r = mx_reference(name, x, dims, axis)
                r.update(onnx_mx_dq(name, r, dims, axis))
            arrays[f"{case}_x"] = x
            arrays[f"{case}_dims"] = np.array(dims, np.int32)
            arrays[f"{case}_axis"] = np.array([axis], np.int32)
            for k, v in r.items():
                arrays[f"{case}_{k}"] = np.ascontiguousarray(v)
        np.savez_compressed(out / f"block-{name}.npz", **arrays)
    meta = {
        "generator": "scripts/make_block_format_vectors.py",
        "versions": {"ml_dtypes": ml_dtypes.__version__, "onnx": onnx.__version__, "numpy": np.__version__},
        "seed": SEED,
    }
    (out / "block-formats.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
