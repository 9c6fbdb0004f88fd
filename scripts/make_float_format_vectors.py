#!/usr/bin/env python3
"""Golden vectors for fixq's float formats (test/fixtures/numerics/).

The references are independent of fixq's TypeScript code:
  * ml_dtypes (float8_*, float6_*, float4_e2m1fn, float8_e8m0fnu) for decoding
    and for casts without saturation;
  * ONNX's Python reference implementation of Cast (onnx.reference.ops.op_cast,
    which saturates FP8 with numpy_helper.saturate_cast and casts to E8M0 with
    numpy_helper.to_float8e8m0).

Writes
  decode.json          float32 bits of every code of every format of <= 8 bits
  pack.json            4-bit and 6-bit codes and their packed bytes
                       (onnx.numpy_helper._pack_4bitx2 / _pack_6bit)
  encode-<name>.npz    x (float32 inputs) and the reference codes (uint8):
                         FP8:  sat1, sat0      ONNX reference Cast, saturate=1 / 0
                         FP6, FP4: codes       ml_dtypes cast (= ONNX reference Cast)
                         E8M0: onnx_<mode>_<sat> for mode in up/down/nearest and
                               sat in 1/0 (onnx.numpy_helper.to_float8e8m0),
                               ml_dtypes (ml_dtypes cast)

The inputs are every code value, every midpoint between adjacent codes
(including the one above max, toward the next value the format would have),
the float32 neighbours of each, both signs, zeros, infinities, NaNs, float32
subnormals, far out-of-range values, and seeded random values.

Usage: python3 scripts/make_float_format_vectors.py [OUT_DIR]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto
from onnx.numpy_helper import _pack_4bitx2, _pack_6bit, to_float8e8m0
from onnx.reference.ops.op_cast import cast_to

SEED = 20240607
RANDOM_PER_FORMAT = 8192

# name -> (ml_dtypes type, code bits, ONNX type or None)
FORMATS = {
    "fp8e4m3fn": (ml_dtypes.float8_e4m3fn, 8, TensorProto.FLOAT8E4M3FN),
    "fp8e4m3fnuz": (ml_dtypes.float8_e4m3fnuz, 8, TensorProto.FLOAT8E4M3FNUZ),
    "fp8e5m2": (ml_dtypes.float8_e5m2, 8, TensorProto.FLOAT8E5M2),
    "fp8e5m2fnuz": (ml_dtypes.float8_e5m2fnuz, 8, TensorProto.FLOAT8E5M2FNUZ),
    "fp6e2m3": (ml_dtypes.float6_e2m3fn, 6, TensorProto.FLOAT6E2M3),
    "fp6e3m2": (ml_dtypes.float6_e3m2fn, 6, TensorProto.FLOAT6E3M2),
    "fp4e2m1": (ml_dtypes.float4_e2m1fn, 4, TensorProto.FLOAT4E2M1),
    "e8m0": (ml_dtypes.float8_e8m0fnu, 8, TensorProto.FLOAT8E8M0),
}
FP8 = ("fp8e4m3fn", "fp8e4m3fnuz", "fp8e5m2", "fp8e5m2fnuz")


def decode_all(dtype, bits: int) -> np.ndarray:
    codes = np.arange(2**bits, dtype=np.uint8)
    return codes.view(dtype).astype(np.float32)


def neighbours(points: np.ndarray) -> np.ndarray:
    p = points.astype(np.float32)
    up = np.nextafter(p, np.float32(np.inf))
    down = np.nextafter(p, np.float32(-np.inf))
    return np.concatenate([p, up, down])


def specials() -> np.ndarray:
    nan_bits = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FC00123], dtype=np.uint32)
    sub_bits = np.array([1, 2, 0x00400000, 0x00400001, 0x005FFFFF, 0x00600000, 0x007FFFFF], dtype=np.uint32)
    vals = np.array([0.0, np.inf, np.float32(3.4028235e38), 1e30, 1e10, 1e6], dtype=np.float32)
    both = np.concatenate([vals, -vals, sub_bits.view(np.float32), -sub_bits.view(np.float32)])
    return np.concatenate([both, nan_bits.view(np.float32)])


def minifloat_inputs(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    finite = np.unique(np.abs(values[np.isfinite(values)]))  # sorted, 0 first
    top = finite[-1]
    beyond = top + (top - finite[-2])  # the next value the format would have
    grid = np.concatenate([finite, [beyond, 2 * beyond, 4 * beyond]])
    mids = (grid[:-1] + grid[1:]) / 2  # exact: the midpoints have one more significant bit
    points = neighbours(np.concatenate([grid, mids, finite[1:2] / 4]))
    structured = np.concatenate([points, -points, specials()])
    bits = rng.integers(0, 2**32, size=RANDOM_PER_FORMAT // 4, dtype=np.uint64).astype(np.uint32)
    lo, hi = np.log2(finite[1] / 4), np.log2(beyond * 2)
    mag = np.exp2(rng.uniform(lo, hi, size=RANDOM_PER_FORMAT - bits.size)).astype(np.float32)
    sign = np.where(rng.integers(0, 2, size=mag.size) == 1, -1, 1).astype(np.float32)
    return np.concatenate([structured, bits.view(np.float32), mag * sign]).astype(np.float32)


def e8m0_inputs(rng: np.random.Generator) -> np.ndarray:
    k = np.arange(-149, 128, dtype=np.float64)
    pows = np.exp2(k).astype(np.float32)
    mids = (np.exp2(k[:-1]) * 1.5).astype(np.float32)
    points = neighbours(np.concatenate([pows, mids, [np.float32(2.0**127 * 1.5)]]))
    structured = np.concatenate([points, -points[:64], specials()])
    bits = rng.integers(0, 2**31, size=RANDOM_PER_FORMAT // 2, dtype=np.uint64).astype(np.uint32)
    mag = np.exp2(rng.uniform(-130, 129, size=RANDOM_PER_FORMAT - bits.size)).astype(np.float32)
    return np.concatenate([structured, bits.view(np.float32), mag]).astype(np.float32)


def codes_of(y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(y).view(np.uint8).copy()


def pack_vectors(rng: np.random.Generator) -> dict:
    out = {}
    for n in (1, 2, 3, 4, 5, 37, 38, 39, 40):
        c4 = rng.integers(0, 16, size=n, dtype=np.uint8)
        c6 = rng.integers(0, 64, size=n, dtype=np.uint8)
        out[f"n{n}"] = {
            "codes4": c4.tolist(),
            "packed4": _pack_4bitx2(c4).tolist(),
            "codes6": c6.tolist(),
            "packed6": _pack_6bit(c6).tolist(),
        }
    return out


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "test/fixtures/numerics"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    decode = {}
    with np.errstate(invalid="ignore", over="ignore"):
        for name, (dtype, bits, onnx_type) in FORMATS.items():
            values = decode_all(dtype, bits)
            decode[name] = [f"{b:08x}" for b in values.view(np.uint32).tolist()]
            if name == "e8m0":
                x = e8m0_inputs(rng)
                arrays = {"x": x, "ml_dtypes": codes_of(x.astype(dtype))}
                for mode in ("up", "down", "nearest"):
                    for sat in (1, 0):
                        arrays[f"onnx_{mode}_{sat}"] = codes_of(to_float8e8m0(x, bool(sat), mode))
            else:
                x = minifloat_inputs(values, rng)
                if name in FP8:
                    arrays = {
                        "x": x,
                        "sat1": codes_of(cast_to(x, onnx_type, saturate=True)),
                        "sat0": codes_of(cast_to(x, onnx_type, saturate=False)),
                    }
                else:
                    arrays = {"x": x, "codes": codes_of(cast_to(x, onnx_type, saturate=True))}
            np.savez_compressed(out / f"encode-{name}.npz", **arrays)
    meta = {
        "generator": "scripts/make_float_format_vectors.py",
        "versions": {"ml_dtypes": ml_dtypes.__version__, "onnx": onnx.__version__, "numpy": np.__version__},
        "seed": SEED,
    }
    (out / "decode.json").write_text(json.dumps({**meta, "decode": decode}, indent=1) + "\n")
    (out / "pack.json").write_text(json.dumps({**meta, "pack": pack_vectors(rng)}) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
