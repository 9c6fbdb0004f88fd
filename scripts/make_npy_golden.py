#!/usr/bin/env python3
"""Generate the golden .npy/.npz fixtures used by test/io/npy.test.ts and npz.test.ts.

Writes small files with numpy into test/fixtures/npy/ plus manifest.json that
describes the expected decoded contents of every array (dtype, shape and the
values in C order, as strings so that int64 and float bit patterns survive JSON).

Usage: python3 scripts/make_npy_golden.py [outdir]
"""
import json
import os
import sys
import zipfile

import numpy as np
from numpy.lib import format as npformat

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "npy")


def value_strings(a):
    """Values of `a` in C order as strings (f2 as raw uint16 bits)."""
    flat = np.ascontiguousarray(a).reshape(-1)
    kind = a.dtype.kind
    if a.dtype.itemsize == 2 and kind == "f":
        return [str(int(v)) for v in flat.astype("<f2").view("<u2")]
    if kind == "f":
        return [repr(float(v)) for v in flat]
    if kind == "b":
        return ["1" if v else "0" for v in flat]
    return [str(int(v)) for v in flat]


def describe(a):
    return {
        "dtype": a.dtype.kind + str(a.dtype.itemsize),
        "shape": list(a.shape),
        "values": value_strings(a),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {}

    def save(name, a, version=None):
        path = os.path.join(OUT, name)
        with open(path, "wb") as f:
            npformat.write_array(f, a, version=version)
        manifest[name] = describe(a)

    # One small array per supported dtype, with edge values.
    f2 = np.array([0.0, -0.0, 1.5, 65504.0, np.inf, -np.inf, np.nan, 6e-8], dtype="<f2")
    save("f2.npy", f2.reshape(2, 4))
    f4 = np.array([0.0, -0.0, 1.0, -2.5, 3.4028235e38, 1.4e-45, np.inf, np.nan], dtype="<f4")
    save("f4.npy", f4.reshape(2, 4))
    f8 = np.array([0.0, -0.0, 0.1, -1e308, 5e-324, np.inf, -np.inf, np.nan], dtype="<f8")
    save("f8.npy", f8.reshape(4, 2))
    save("i1.npy", np.array([-128, -1, 0, 1, 127], dtype="i1"))
    save("i2.npy", np.array([-32768, -1, 0, 1, 32767], dtype="<i2"))
    save("i4.npy", np.array([[-2147483648, -1, 0], [1, 7, 2147483647]], dtype="<i4"))
    save("i8.npy", np.array([-9223372036854775808, -1, 0, 1, 9223372036854775807], dtype="<i8"))
    save("u1.npy", np.array([0, 1, 128, 255], dtype="u1"))
    save("u2.npy", np.array([0, 1, 32768, 65535], dtype="<u2"))
    save("u4.npy", np.array([0, 1, 2147483648, 4294967295], dtype="<u4"))
    save("u8.npy", np.array([0, 1, 9223372036854775808, 18446744073709551615], dtype="<u8"))
    save("b1.npy", np.array([[True, False, True], [False, False, True]]))

    # Shapes: 0-d, empty, many dims (header longer than one 64-byte block).
    save("scalar_f8.npy", np.array(3.25, dtype="<f8"))
    save("empty_f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
    save("ndim10_i2.npy", np.arange(24, dtype="<i2").reshape(1, 2, 1, 2, 1, 1, 1, 1, 2, 3))

    # The same contents as c_i4_2x3x4.npy, stored big-endian / Fortran order / v2 / v3.
    c = np.arange(-12, 12, dtype="<i4").reshape(2, 3, 4)
    save("c_i4_2x3x4.npy", c)
    save("be_i4_2x3x4.npy", c.astype(">i4"))
    save("fortran_i4_2x3x4.npy", np.asfortranarray(c))
    save("fortran_be_i4_2x3x4.npy", np.asfortranarray(c.astype(">i4")))
    save("v2_i4_2x3x4.npy", c, version=(2, 0))
    save("v3_i4_2x3x4.npy", c, version=(3, 0))
    save("be_f8.npy", f8.reshape(4, 2).astype(">f8"))
    save("be_f2.npy", f2.reshape(2, 4).astype(">f2"))
    save("be_u8.npy", np.array([0, 1, 9223372036854775808, 18446744073709551615], dtype=">u8"))

    # Archives: stored (savez) and deflated (savez_compressed).
    arrays = {
        "weight": np.arange(12, dtype="<f4").reshape(3, 4) / 8,
        "bias": np.array([-1, 0, 1], dtype="<i8"),
        "scalar": np.array(7, dtype="u1"),
        "empty": np.zeros((0,), dtype="<f8"),
        "layer1/mask": np.array([True, False]),
    }
    for name, fn in (("stored.npz", np.savez), ("deflated.npz", np.savez_compressed)):
        fn(os.path.join(OUT, name), **arrays)
        manifest[name] = {k: describe(v) for k, v in arrays.items()}
        with zipfile.ZipFile(os.path.join(OUT, name)) as z:
            assert sorted(z.namelist()) == sorted(k + ".npy" for k in arrays)

    # One line per array keeps the manifest short and diffable.
    def dump(obj, indent):
        if "dtype" in obj:
            return json.dumps(obj, separators=(",", ":"))
        pad = " " * (indent + 1)
        body = ",\n".join(f"{pad}{json.dumps(k)}: {dump(obj[k], indent + 1)}" for k in sorted(obj))
        return "{\n" + body + "\n" + " " * indent + "}"

    # Headers whose unpadded length sits right at a 64-byte boundary (remainder
    # 0, 1 and 63), where numpy's padding rule is easiest to get wrong: the pad
    # is 64 - (length % 64), i.e. a whole extra block when already aligned.
    boundary = {}
    for k in range(1, 30):
        for extra in range(3):
            shape = (2,) + (1,) * (k - 1) + (10 ** extra,)
            text = "{'descr': '|u1', 'fortran_order': False, 'shape': %r, }" % (shape,)
            text += " " * (npformat.GROWTH_AXIS_MAX_DIGITS - len(repr(shape[0])))
            rem = (npformat.MAGIC_LEN + 2 + len(text) + 1) % npformat.ARRAY_ALIGN
            if rem in (0, 1, 63) and f"rem{rem}" not in boundary:
                boundary[f"rem{rem}"] = np.arange(int(np.prod(shape)), dtype="u1").reshape(shape)
    assert sorted(boundary) == ["rem0", "rem1", "rem63"], sorted(boundary)
    np.savez(os.path.join(OUT, "header_boundaries.npz"), **boundary)
    manifest["header_boundaries.npz"] = {k: describe(v) for k, v in boundary.items()}

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        f.write(dump(manifest, 0) + "\n")


if __name__ == "__main__":
    main()
