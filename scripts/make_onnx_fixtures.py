#!/usr/bin/env python3
"""Generate the ONNX codec fixtures in test/fixtures/onnx/.

Uses the Python `onnx` package (an implementation independent of fixq's own
protobuf codec) to build:

  all-fields.onnx          every field of every message of onnx-ml.proto, every
                           AttributeType, every TensorProto.DataType, plus
                           synthetic unknown fields of every wire type
  all-fields.json          per-message description (path, known field numbers,
                           unknown fields, byte size) decoded by Python onnx
  onnx-schema-facts.json   the field tables of onnx-ml.proto / onnx-data.proto
                           taken from the Python descriptors
  runnable-newer.onnx      small model using newer fields that onnxruntime runs
  runnable-newer.{input,output}.npy
  external/...             external-data model and hostile variants
  wire-edge-cases.onnx     (+ .json) non-canonical but valid wire encodings

Output is fully deterministic: running twice gives identical bytes.

    pip install onnx onnxruntime ml-dtypes numpy
    python3 scripts/make_onnx_fixtures.py
"""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from google.protobuf import descriptor_pb2, unknown_fields
from google.protobuf import __version__ as PROTOBUF_VERSION
from google.protobuf.descriptor import FieldDescriptor as FD
from onnx import onnx_data_pb2, onnx_ml_pb2
from onnx import AttributeProto as A
from onnx import TensorProto as T

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "onnx"

# ---------------------------------------------------------------------------
# Wire-format helpers (used to build unknown fields and raw packed payloads)
# ---------------------------------------------------------------------------

WT_VARINT, WT_I64, WT_LEN, WT_SGROUP, WT_EGROUP, WT_I32 = 0, 1, 2, 3, 4, 5


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field: int, wt: int) -> bytes:
    return varint((field << 3) | wt)


def f_varint(field: int, v: int) -> bytes:
    return tag(field, WT_VARINT) + varint(v)


def f_i64(field: int, v: int) -> bytes:
    return tag(field, WT_I64) + struct.pack("<Q", v)


def f_i32(field: int, v: int) -> bytes:
    return tag(field, WT_I32) + struct.pack("<I", v)


def f_len(field: int, payload: bytes) -> bytes:
    return tag(field, WT_LEN) + varint(len(payload)) + payload


def f_group(field: int, body: bytes) -> bytes:
    return tag(field, WT_SGROUP) + body + tag(field, WT_EGROUP)


MAX_FIELD = (1 << 29) - 1

# The full set of synthetic unknown fields: every wire type, a group holding
# a nested group, a repeated unknown number, the maximum field number.
UNKNOWN_FULL = b"".join(
    [
        f_varint(1000, 150),
        f_i64(1001, 0x0123456789ABCDEF),
        f_len(1002, "unknown ✓ bytes".encode()),
        f_group(
            1003,
            f_varint(1, 7)
            + f_len(2, b"in group")
            + f_group(3, f_i32(1, 0xCAFEBABE) + f_i64(2, 0))
            + f_varint(4, -1),
        ),
        f_i32(1005, 0xDEADBEEF),
        f_varint(1000, (1 << 64) - 1),  # same unknown number again, max varint
        f_len(1006, b""),  # empty length-delimited
        f_len(1007, f_varint(1, 1) + f_len(2, b"looks like a message")),
        f_varint(MAX_FIELD, 1),  # 5-byte tag
    ]
)
# A single small unknown field, put on one instance of every other message type.
UNKNOWN_SMALL = f_varint(1999, 42)


def add_unknown(msg, data: bytes = UNKNOWN_FULL):
    """Append unknown fields to msg by parsing their wire bytes into it."""
    before = {f.name for f, _ in msg.ListFields()}
    msg.MergeFromString(data)
    after = {f.name for f, _ in msg.ListFields()}
    assert before == after, (msg.DESCRIPTOR.full_name, before ^ after)
    assert len(unknown_fields.UnknownFieldSet(msg)) > 0
    return msg


# ---------------------------------------------------------------------------
# Small builders
# ---------------------------------------------------------------------------


def sse(key: str, value: str):
    e = onnx_ml_pb2.StringStringEntryProto()
    e.key = key
    e.value = value
    return e


def meta(*pairs):
    return [sse(k, v) for k, v in pairs]


def opset(domain: str, version: int):
    o = onnx_ml_pb2.OperatorSetIdProto()
    o.domain = domain
    o.version = version
    return o


def tensor_type(elem: int, dims, denotation: str | None = None):
    tp = onnx_ml_pb2.TypeProto()
    tp.tensor_type.elem_type = elem
    if dims is not None:
        shape = tp.tensor_type.shape
        shape.SetInParent()
        for d in dims:
            dim = shape.dim.add()
            if isinstance(d, int):
                dim.dim_value = d
            elif isinstance(d, str):
                dim.dim_param = d
            elif isinstance(d, tuple):  # (value_or_param_or_None, denotation)
                v, den = d
                if isinstance(v, int):
                    dim.dim_value = v
                elif isinstance(v, str):
                    dim.dim_param = v
                dim.denotation = den
    if denotation is not None:
        tp.denotation = denotation
    return tp


def value_info(name: str, tp, doc: str | None = None, md=()):
    vi = onnx_ml_pb2.ValueInfoProto()
    vi.name = name
    if tp is not None:
        vi.type.CopyFrom(tp)
    if doc is not None:
        vi.doc_string = doc
    vi.metadata_props.extend(meta(*md))
    return vi


def f32_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f64_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


# ---------------------------------------------------------------------------
# Tensors of every element type
# ---------------------------------------------------------------------------

INF = float("inf")
NAN = float("nan")

# data_type -> (dims, typed field name, typed values, raw bytes)
# Values are chosen to hit sign, extremes, NaN/Inf and sub-byte packing.
DTYPE_SAMPLES = {
    T.FLOAT: ([7], "float_data", [1.5, -0.0, INF, -INF, NAN, f32_bits(1), 3.4028234663852886e38], None),
    T.UINT8: ([2], "int32_data", [0, 255], bytes([0, 255])),
    T.INT8: ([3], "int32_data", [-128, 127, -1], struct.pack("<3b", -128, 127, -1)),
    T.UINT16: ([2], "int32_data", [0, 65535], struct.pack("<2H", 0, 65535)),
    T.INT16: ([2], "int32_data", [-32768, 32767], struct.pack("<2h", -32768, 32767)),
    T.INT32: ([4], "int32_data", [-(2**31), 2**31 - 1, 0, -1], struct.pack("<4i", -(2**31), 2**31 - 1, 0, -1)),
    T.INT64: ([4], "int64_data", [-(2**63), 2**63 - 1, -1, 0], struct.pack("<4q", -(2**63), 2**63 - 1, -1, 0)),
    T.STRING: ([4], "string_data", [b"", "héllo ✓ 😀".encode(), b"\x00\xff\xfe not utf-8", b"plain"], None),
    T.BOOL: ([2], "int32_data", [0, 1], bytes([0, 1])),
    T.FLOAT16: ([3], "int32_data", [0x3C00, 0x7E00, 0xFC00], struct.pack("<3H", 0x3C00, 0x7E00, 0xFC00)),
    T.DOUBLE: (
        [7],
        "double_data",
        [1.5, -0.0, INF, -INF, NAN, f64_bits(1), 1.7976931348623157e308],
        struct.pack("<3d", 1.5, -0.0, INF) + struct.pack("<4Q", 0xFFF0000000000000, 0x7FF8000000000000, 1, 0x7FEFFFFFFFFFFFFF),
    ),
    T.UINT32: ([2], "uint64_data", [0, 2**32 - 1], struct.pack("<2I", 0, 2**32 - 1)),
    T.UINT64: ([3], "uint64_data", [0, 2**63, 2**64 - 1], struct.pack("<3Q", 0, 2**63, 2**64 - 1)),
    T.COMPLEX64: ([2], "float_data", [1.0, 2.0, -3.0, NAN], struct.pack("<3f", 1.0, 2.0, -3.0) + struct.pack("<I", 0x7FC00000)),
    T.COMPLEX128: ([2], "double_data", [1.0, 2.0, -3.0, INF], struct.pack("<4d", 1.0, 2.0, -3.0, INF)),
    T.BFLOAT16: ([3], "int32_data", [0x3F80, 0x7FC0, 0xFF80], struct.pack("<3H", 0x3F80, 0x7FC0, 0xFF80)),
    T.FLOAT8E4M3FN: ([3], "int32_data", [0x38, 0x7F, 0xFF], bytes([0x38, 0x7F, 0xFF])),
    T.FLOAT8E4M3FNUZ: ([2], "int32_data", [0x40, 0x80], bytes([0x40, 0x80])),
    T.FLOAT8E5M2: ([3], "int32_data", [0x3C, 0x7C, 0xFC], bytes([0x3C, 0x7C, 0xFC])),
    T.FLOAT8E5M2FNUZ: ([2], "int32_data", [0x40, 0x80], bytes([0x40, 0x80])),
    # uint4 [1, 2, 15] -> 0x21, 0x0F (odd count: high nibble of last byte is 0)
    T.UINT4: ([3], "int32_data", [0x21, 0x0F], bytes([0x21, 0x0F])),
    # int4 [-1, -8, 7] -> 0x8F, 0x07
    T.INT4: ([3], "int32_data", [0x8F, 0x07], bytes([0x8F, 0x07])),
    # float4e2m1 [1.0 (0x2), 6.0 (0x7)] -> 0x72 ; [-0.5 (0x9)] -> 0x09
    T.FLOAT4E2M1: ([3], "int32_data", [0x72, 0x09], bytes([0x72, 0x09])),
    T.FLOAT8E8M0: ([3], "int32_data", [0x7F, 0xFF, 0x00], bytes([0x7F, 0xFF, 0x00])),
    # uint2 [0,1,2,3, 3] -> 0xE4, 0x03
    T.UINT2: ([5], "int32_data", [0xE4, 0x03], bytes([0xE4, 0x03])),
    # int2 [-2, 1, -1, 0] -> 2 | 1<<2 | 3<<4 | 0<<6 = 0x36
    T.INT2: ([4], "int32_data", [0x36], bytes([0x36])),
    # float6: one element per int32_data entry; raw is 4-in-3-bytes LSB-first
    T.FLOAT6E2M3: ([3], "int32_data", [0x08, 0x3F, 0x01], None),
    T.FLOAT6E3M2: ([2], "int32_data", [0x0C, 0x20], None),
}


def pack6(vals):
    vals = list(vals) + [0] * (-len(vals) % 4)
    out = bytearray()
    for i in range(0, len(vals), 4):
        x0, x1, x2, x3 = vals[i : i + 4]
        out.append((x0 | ((x1 & 0x3) << 6)) & 0xFF)
        out.append(((x1 >> 2) | ((x2 & 0xF) << 4)) & 0xFF)
        out.append(((x2 >> 4) | (x3 << 2)) & 0xFF)
    return bytes(out)


def raw_for(dt):
    dims, field, vals, raw = DTYPE_SAMPLES[dt]
    if raw is not None:
        return raw
    if dt == T.FLOAT:
        return struct.pack("<4f", 1.5, -0.0, INF, -INF) + struct.pack("<3I", 0x7FC00000, 1, 0x7F7FFFFF)
    if dt in (T.FLOAT6E2M3, T.FLOAT6E3M2):
        return pack6(vals)
    raise KeyError(dt)


def all_dtype_tensors():
    max_dt = max(T.DataType.values())
    assert set(DTYPE_SAMPLES) == set(range(1, max_dt + 1)), "DTYPE_SAMPLES misses a DataType"
    out = []
    for dt in range(1, max_dt + 1):
        dims, field, vals, _ = DTYPE_SAMPLES[dt]
        name = T.DataType.Name(dt)
        t = T()
        t.name = f"typed_{name}"
        t.dims.extend(dims)
        t.data_type = dt
        getattr(t, field).extend(vals)
        out.append(t)
        if dt != T.STRING:
            r = T()
            r.name = f"raw_{name}"
            r.dims.extend(dims)
            r.data_type = dt
            r.raw_data = raw_for(dt)
            out.append(r)
    # float_data with NaN payloads that only survive if bits are kept as-is:
    # written via wire bytes so Python never converts them through a double.
    t = T()
    t.name = "float_nan_payloads"
    t.dims.append(3)
    t.data_type = T.FLOAT
    t.MergeFromString(f_len(4, struct.pack("<3I", 0x7F800001, 0xFFC00123, 0x80000000)))
    out.append(t)
    t = T()
    t.name = "double_nan_payloads"
    t.dims.append(2)
    t.data_type = T.DOUBLE
    t.MergeFromString(f_len(10, struct.pack("<2Q", 0x7FF0000000000001, 0xFFF8000000000ABC)))
    out.append(t)
    # explicit zero / UNDEFINED data_type, zero-sized dim
    t = T()
    t.name = "undefined_empty"
    t.dims.append(0)
    t.data_type = T.UNDEFINED
    out.append(t)
    # empty raw_data explicitly present (zero-length bytes, presence matters)
    t = T()
    t.name = "empty_raw"
    t.dims.extend([0, 3])
    t.data_type = T.FLOAT
    t.raw_data = b""
    out.append(t)
    return out


def kitchen_sink_tensor(name="kitchen_sink_tensor"):
    """A TensorProto with every single field set at once (not valid ONNX)."""
    t = T()
    t.dims.extend([0, 1, 2**40, -1])
    t.data_type = T.FLOAT
    t.segment.begin = 0
    t.segment.end = 2**33
    t.float_data.extend([0.0, -1.25])
    t.int32_data.extend([0, -5])
    t.string_data.extend([b"", b"s"])
    t.int64_data.extend([-(2**63)])
    t.name = name
    t.doc_string = "every TensorProto field, ünïcödé"
    t.raw_data = b"\x00\x01\x02\x03"
    t.external_data.extend(
        meta(("location", "weights.bin"), ("offset", "4096"), ("length", "8"), ("checksum", "da39a3ee5e6b4b0d3255bfef95601890afd80709"))
    )
    t.data_location = T.EXTERNAL
    t.double_data.extend([2.5])
    t.uint64_data.extend([2**64 - 1])
    t.metadata_props.extend(meta(("tensor.meta", "v")))
    return t


def external_tensor():
    t = T()
    t.name = "external_weight"
    t.dims.extend([2, 2])
    t.data_type = T.FLOAT
    t.external_data.extend(meta(("location", "weights.bin"), ("offset", "0"), ("length", "16")))
    t.data_location = T.EXTERNAL
    return t


def default_location_tensor():
    t = T()
    t.name = "explicit_default_location"
    t.dims.append(1)
    t.data_type = T.INT64
    t.int64_data.append(0)
    t.data_location = T.DEFAULT  # explicit zero enum
    return t


def sparse_tensor(name="sparse", unknown=False):
    s = onnx_ml_pb2.SparseTensorProto()
    v = s.values
    v.name = name
    v.dims.append(2)
    v.data_type = T.FLOAT
    v.float_data.extend([1.0, -2.0])
    i = s.indices
    i.name = name + "_indices"
    i.dims.append(2)
    i.data_type = T.INT64
    i.int64_data.extend([1, 7])
    s.dims.extend([2, 5])
    if unknown:
        add_unknown(s, UNKNOWN_SMALL)
    return s


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


def all_types():
    """(name, TypeProto) covering every TypeProto variant and presence edge."""
    out = []
    t = tensor_type(
        T.FLOAT,
        [0, 2**40, "N ✓", ("", "DATA_BATCH"), (None, "DATA_CHANNEL"), (3, "DATA_FEATURE"), ("H", "")],
        denotation="TENSOR",
    )
    add_unknown(t)  # full unknown set on a TypeProto
    add_unknown(t.tensor_type.shape.dim[1])  # and on a Dimension
    add_unknown(t.tensor_type.shape, UNKNOWN_SMALL)
    add_unknown(t.tensor_type, UNKNOWN_SMALL)
    out.append(("t_tensor_all_dims", t))
    out.append(("t_scalar_empty_shape", tensor_type(T.INT64, [])))  # shape present, no dims
    out.append(("t_unranked_elem0", tensor_type(T.UNDEFINED, None)))  # elem_type explicitly 0
    seq = onnx_ml_pb2.TypeProto()
    seq.sequence_type.elem_type.CopyFrom(tensor_type(T.FLOAT16, ["S"]))
    add_unknown(seq.sequence_type, UNKNOWN_SMALL)
    out.append(("t_sequence", seq))
    mp = onnx_ml_pb2.TypeProto()
    mp.map_type.key_type = T.STRING
    mp.map_type.value_type.sequence_type.elem_type.map_type.key_type = T.INT64
    mp.map_type.value_type.sequence_type.elem_type.map_type.value_type.CopyFrom(tensor_type(T.DOUBLE, [1]))
    add_unknown(mp.map_type, UNKNOWN_SMALL)
    out.append(("t_map_of_seq_of_map", mp))
    opt = onnx_ml_pb2.TypeProto()
    opt.optional_type.elem_type.CopyFrom(tensor_type(T.BFLOAT16, [2, "K"]))
    add_unknown(opt.optional_type, UNKNOWN_SMALL)
    out.append(("t_optional", opt))
    sp = onnx_ml_pb2.TypeProto()
    sp.sparse_tensor_type.elem_type = T.FLOAT
    sp.sparse_tensor_type.shape.dim.add().dim_value = 5
    sp.sparse_tensor_type.shape.dim.add().dim_param = "M"
    add_unknown(sp.sparse_tensor_type, UNKNOWN_SMALL)
    out.append(("t_sparse", sp))
    if "opaque_type" in onnx_ml_pb2.TypeProto.DESCRIPTOR.fields_by_name:
        op = onnx_ml_pb2.TypeProto()
        op.opaque_type.domain = "com.example"
        op.opaque_type.name = "Blob ✓"
        op.denotation = ""  # explicit empty string
        add_unknown(op.opaque_type, UNKNOWN_SMALL)
        out.append(("t_opaque", op))
    empty = onnx_ml_pb2.TypeProto()
    empty.SetInParent()
    out.append(("t_empty_typeproto", empty))
    return out


# ---------------------------------------------------------------------------
# Graph pieces
# ---------------------------------------------------------------------------


def tiny_graph(name: str, inp: str, out: str, op="Identity", unknown=False):
    g = onnx_ml_pb2.GraphProto()
    g.name = name
    n = g.node.add()
    n.input.append(inp)
    n.output.append(out)
    n.op_type = op
    g.output.append(value_info(out, tensor_type(T.FLOAT, [1])))
    if unknown:
        add_unknown(g, UNKNOWN_SMALL)
    return g


def attr(name: str, atype: int, doc: str | None = None):
    a = A()
    a.name = name
    a.type = atype
    if doc is not None:
        a.doc_string = doc
    return a


def all_attributes():
    out = []
    a = attr("a_float", A.FLOAT, "float attr")
    a.f = 0.0  # explicit zero
    add_unknown(a)  # full unknown set on an AttributeProto
    out.append(a)
    a = attr("a_float_nan", A.FLOAT)
    a.f = NAN
    out.append(a)
    a = attr("a_int", A.INT)
    a.i = -(2**63)
    out.append(a)
    a = attr("a_int_zero", A.INT)
    a.i = 0
    out.append(a)
    a = attr("a_string", A.STRING)
    a.s = "ñ ✓ 😀".encode()
    out.append(a)
    a = attr("a_string_empty", A.STRING)
    a.s = b""
    out.append(a)
    a = attr("a_tensor", A.TENSOR)
    a.t.CopyFrom(kitchen_sink_tensor("attr_tensor"))
    out.append(a)
    a = attr("a_graph", A.GRAPH)
    a.g.CopyFrom(tiny_graph("attr_graph", "x", "y", unknown=True))
    out.append(a)
    a = attr("a_sparse_tensor", A.SPARSE_TENSOR)
    a.sparse_tensor.CopyFrom(sparse_tensor("attr_sparse"))
    out.append(a)
    a = attr("a_type_proto", A.TYPE_PROTO)
    a.tp.CopyFrom(tensor_type(T.INT4, [2, "n"]))
    out.append(a)
    a = attr("a_floats", A.FLOATS)
    a.floats.extend([0.0, -0.0, 1.5, INF, -INF, NAN])
    out.append(a)
    a = attr("a_ints", A.INTS)
    a.ints.extend([0, -1, 2**63 - 1, -(2**63), 300])
    out.append(a)
    a = attr("a_strings", A.STRINGS)
    a.strings.extend([b"", "ü".encode(), b"\xff\x00"])
    out.append(a)
    a = attr("a_tensors", A.TENSORS)
    t0 = T()
    t0.data_type = T.INT8
    t0.dims.append(1)
    t0.int32_data.append(-1)
    add_unknown(t0, UNKNOWN_SMALL)
    a.tensors.extend([t0, T()])  # second tensor is completely empty
    out.append(a)
    a = attr("a_graphs", A.GRAPHS)
    a.graphs.extend([tiny_graph("g0", "a", "b"), onnx_ml_pb2.GraphProto()])
    out.append(a)
    a = attr("a_sparse_tensors", A.SPARSE_TENSORS)
    a.sparse_tensors.extend([sparse_tensor("sp0", unknown=True), onnx_ml_pb2.SparseTensorProto()])
    out.append(a)
    a = attr("a_type_protos", A.TYPE_PROTOS)
    a.type_protos.extend([tensor_type(T.FLOAT8E8M0, [1]), onnx_ml_pb2.TypeProto()])
    out.append(a)
    # explicit UNDEFINED type with every value field set at once
    a = attr("a_kitchen_sink", A.UNDEFINED, "every AttributeProto field")
    a.ref_attr_name = "outer"
    a.f = 1.0
    a.i = 1
    a.s = b"s"
    a.t.data_type = T.FLOAT
    a.g.name = "g"
    a.sparse_tensor.dims.append(1)
    a.tp.denotation = "d"
    a.floats.append(1.0)
    a.ints.append(1)
    a.strings.append(b"x")
    a.tensors.add().name = "t"
    a.graphs.add().name = "gg"
    a.sparse_tensors.add().dims.append(2)
    a.type_protos.add().denotation = "dd"
    out.append(a)
    return out


def device_configurations():
    nd = onnx_ml_pb2.NodeDeviceConfigurationProto()
    nd.configuration_id = "mesh ✓"
    nd.pipeline_stage = -1  # negative int32: 10-byte varint
    spec = nd.sharding_spec.add()
    spec.tensor_name = "x"
    spec.device.extend([0, 1, -1, 2**40])
    m = spec.index_to_device_group_map.add()
    m.key = 0
    m.value.extend([0, 1])
    m = spec.index_to_device_group_map.add()
    m.key = -7
    add_unknown(m, UNKNOWN_SMALL)
    sd = spec.sharded_dim.add()
    sd.axis = 0
    s1 = sd.simple_sharding.add()
    s1.dim_value = 8
    s1.num_shards = 2
    s2 = sd.simple_sharding.add()
    s2.dim_param = "B"
    s2.num_shards = 0  # explicit zero
    add_unknown(s2, UNKNOWN_SMALL)
    sd2 = spec.sharded_dim.add()
    sd2.axis = -1
    add_unknown(sd2, UNKNOWN_SMALL)
    add_unknown(spec, UNKNOWN_SMALL)
    add_unknown(nd, UNKNOWN_SMALL)
    nd2 = onnx_ml_pb2.NodeDeviceConfigurationProto()
    nd2.configuration_id = ""
    nd2.pipeline_stage = 0
    return [nd, nd2]


def main_nodes():
    nodes = []
    n = onnx_ml_pb2.NodeProto()
    n.input.extend(["X", "", "kitchen_sink_tensor"])  # "" = omitted optional input
    n.output.extend(["Y0", ""])
    n.name = "node_all_attrs ✓"
    n.op_type = "AllAttrs"
    n.domain = "com.example.ñ"
    n.overload = "ov1"
    n.attribute.extend(all_attributes())
    n.doc_string = "node doc"
    n.metadata_props.extend(meta(("node.k", "node.v"), ("", "")))
    n.device_configurations.extend(device_configurations())
    add_unknown(n)  # full unknown set on a NodeProto
    nodes.append(n)

    n = onnx_ml_pb2.NodeProto()
    n.input.append("cond")
    n.output.append("Y1")
    n.op_type = "If"
    n.domain = ""  # explicit empty domain
    a = n.attribute.add()
    a.name = "then_branch"
    a.type = A.GRAPH
    a.g.CopyFrom(tiny_graph("then ✓", "Y0", "t_out"))
    a = n.attribute.add()
    a.name = "else_branch"
    a.type = A.GRAPH
    a.g.CopyFrom(tiny_graph("else", "Y0", "e_out", op="Neg"))
    nodes.append(n)

    n = onnx_ml_pb2.NodeProto()
    n.input.append("Y1")
    n.output.append("Y")
    n.op_type = "LocalFn"
    n.domain = "local.fn"
    n.overload = "v2"
    a = n.attribute.add()
    a.name = "alpha"
    a.type = A.FLOAT
    a.f = 2.0
    nodes.append(n)

    n = onnx_ml_pb2.NodeProto()  # totally empty node
    nodes.append(n)
    return nodes


def function_proto(overload: str, full: bool):
    f = onnx_ml_pb2.FunctionProto()
    f.name = "LocalFn"
    f.input.append("x")
    f.output.append("y")
    f.attribute.extend(["beta", "gamma"])
    if full:
        ap = f.attribute_proto.add()
        ap.name = "alpha"
        ap.type = A.FLOAT
        ap.f = 1.0
        ap.doc_string = "default for alpha"
    n = f.node.add()
    n.input.append("x")
    n.output.append("t")
    n.op_type = "Mul"
    a = n.attribute.add()  # attribute reference into the function's attributes
    a.name = "factor"
    a.type = A.FLOAT
    a.ref_attr_name = "alpha"
    n = f.node.add()
    n.input.append("t")
    n.output.append("y")
    n.op_type = "Identity"
    f.doc_string = "function doc ✓"
    f.opset_import.append(opset("", 28))
    f.domain = "local.fn"
    f.overload = overload
    if full:
        f.value_info.append(value_info("t", tensor_type(T.FLOAT, ["N"]), "fn value_info", [("vi", "fn")]))
        f.metadata_props.extend(meta(("fn.k", "fn.v")))
        add_unknown(f)  # full unknown set on a FunctionProto
    return f


def training_info():
    ti = onnx_ml_pb2.TrainingInfoProto()
    ti.initialization.CopyFrom(tiny_graph("init", "seed", "w0", op="RandomNormalLike"))
    ti.algorithm.CopyFrom(tiny_graph("algo", "w0", "w1"))
    ti.initialization_binding.extend(meta(("W", "w0")))
    ti.update_binding.extend(meta(("W", "w1"), ("", "")))
    add_unknown(ti, UNKNOWN_SMALL)
    ti2 = onnx_ml_pb2.TrainingInfoProto()  # empty training info
    return [ti, ti2]


def all_fields_model():
    m = onnx_ml_pb2.ModelProto()
    m.ir_version = onnx.IR_VERSION
    m.opset_import.extend([opset("", onnx.defs.onnx_opset_version()), opset("ai.onnx.ml", 5), opset("local.fn", 1), opset("com.example.ñ", 0)])
    add_unknown(m.opset_import[1], UNKNOWN_SMALL)
    m.producer_name = "fixq-fixtures"
    m.producer_version = f"onnx {onnx.__version__}"
    m.domain = "com.example.fixq"
    m.model_version = 0  # explicit zero
    m.doc_string = "All-fields fixture: NOT a valid model. Ünïcödé ✓ 😀"

    g = m.graph
    g.node.extend(main_nodes())
    g.name = "all_fields_graph"
    g.initializer.extend(all_dtype_tensors())
    ks = kitchen_sink_tensor()
    ks.segment.SetInParent()
    add_unknown(ks)  # full unknown set on a TensorProto
    add_unknown(ks.segment, UNKNOWN_SMALL)
    g.initializer.append(ks)
    g.initializer.append(external_tensor())
    g.initializer.append(default_location_tensor())
    g.sparse_initializer.extend([sparse_tensor("sparse_init", unknown=True)])
    g.doc_string = "graph doc"
    g.input.append(value_info("X", tensor_type(T.FLOAT, ["N", 3]), "input doc", [("in.k", "in.v")]))
    g.input.append(value_info("cond", tensor_type(T.BOOL, [])))
    g.output.append(value_info("Y", tensor_type(T.FLOAT, ["N", 3])))
    vi_list = [value_info(n, tp) for n, tp in all_types()]
    vi_list[0].doc_string = "vi doc"
    vi_list[0].metadata_props.extend(meta(("vi.k", "vi.v")))
    add_unknown(vi_list[0], UNKNOWN_SMALL)
    add_unknown(vi_list[0].metadata_props[0], UNKNOWN_SMALL)
    vi_list.append(value_info("vi_no_type", None))
    g.value_info.extend(vi_list)
    qa = g.quantization_annotation.add()
    qa.tensor_name = "X"
    qa.quant_parameter_tensor_names.extend(meta(("SCALE_TENSOR", "X_scale"), ("ZERO_POINT_TENSOR", "X_zp")))
    add_unknown(qa, UNKNOWN_SMALL)
    g.quantization_annotation.add().tensor_name = ""
    g.metadata_props.extend(meta(("graph.k", "graph.v")))
    add_unknown(g)  # full unknown set on the GraphProto
    add_unknown(g, f_varint(3, 9) + f_len(4, b"reserved"))  # reserved field numbers 3, 4 of GraphProto

    m.metadata_props.extend(meta(("model.k", "model.v"), ("ключ", "значение ✓"), ("", "")))
    m.training_info.extend(training_info())
    m.functions.extend([function_proto("v2", True), function_proto("", False)])
    dc = m.configuration.add()
    dc.name = "mesh ✓"
    dc.num_devices = 4
    dc.device.extend(["cuda:0", "cuda:1", "", "cpu"])
    add_unknown(dc, UNKNOWN_SMALL)
    dc0 = m.configuration.add()
    dc0.name = ""
    dc0.num_devices = 0
    add_unknown(m)  # full unknown set on the ModelProto
    return m


# ---------------------------------------------------------------------------
# Coverage check + JSON description
# ---------------------------------------------------------------------------


def walk(msg, path=""):
    """Yield (path, message) for msg and every sub-message, depth-first, in field order."""
    yield path, msg
    for fd, val in msg.ListFields():
        if fd.type != FD.TYPE_MESSAGE:
            continue
        base = f"{path}.{fd.name}" if path else fd.name
        if fd.is_repeated:
            for i, sub in enumerate(val):
                yield from walk(sub, f"{base}[{i}]")
        else:
            yield from walk(val, base)


def reachable_types(desc, seen=None):
    seen = {} if seen is None else seen
    if desc.full_name in seen:
        return seen
    seen[desc.full_name] = desc
    for f in desc.fields:
        if f.message_type is not None:
            reachable_types(f.message_type, seen)
    return seen


def check_coverage(model):
    present: dict[str, set[int]] = {}
    attr_types, dtypes, typeproto_cases = set(), set(), set()
    unknown_types = set()
    for _, msg in walk(model):
        name = msg.DESCRIPTOR.full_name
        present.setdefault(name, set()).update(fd.number for fd, _ in msg.ListFields())
        if len(unknown_fields.UnknownFieldSet(msg)):
            unknown_types.add(name)
        if name == "onnx.AttributeProto" and msg.HasField("type"):
            attr_types.add(msg.type)
        if name == "onnx.TensorProto" and msg.HasField("data_type"):
            dtypes.add(msg.data_type)
        if name == "onnx.TypeProto":
            typeproto_cases.add(msg.WhichOneof("value"))
    missing = []
    for name, desc in reachable_types(onnx_ml_pb2.ModelProto.DESCRIPTOR).items():
        want = {f.number for f in desc.fields}
        got = present.get(name, set())
        if want - got:
            missing.append((name, sorted(want - got)))
        if name not in unknown_types:
            missing.append((name, "no unknown fields on any instance"))
    if missing:
        raise SystemExit(f"coverage check failed: {missing}")
    assert attr_types == set(A.AttributeType.values()), set(A.AttributeType.values()) - attr_types
    assert dtypes == set(T.DataType.values()), set(T.DataType.values()) - dtypes
    assert typeproto_cases >= {f.name for f in onnx_ml_pb2.TypeProto.DESCRIPTOR.oneofs_by_name["value"].fields}


WIRE_NAMES = {0: "varint", 1: "i64", 2: "len", 3: "group", 5: "i32"}


def describe(model):
    rows = []
    for path, msg in walk(model):
        ufs = unknown_fields.UnknownFieldSet(msg)
        rows.append(
            {
                "path": path,
                "type": msg.DESCRIPTOR.full_name,
                "fields": [fd.number for fd, _ in msg.ListFields()],
                "unknown": len(ufs),
                "unknownFields": [[u.field_number, u.wire_type] for u in ufs],
                "byteSize": msg.ByteSize(),
            }
        )
    return rows


def dump_json(path: Path, obj, rows_key=None):
    """Compact but diff-friendly JSON: one row per line for big lists."""
    if rows_key is None:
        text = json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=False)
    else:
        rows = obj.pop(rows_key)
        head = json.dumps(obj, ensure_ascii=False, indent=1)
        body = ",\n".join("  " + json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
        text = head[:-2] + f',\n "{rows_key}": [\n' + body + "\n ]\n}"
        obj[rows_key] = rows
    path.write_text(text + "\n", encoding="utf-8")


TYPE_NAMES = {v: k[len("TYPE_") :].lower() for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()}
LABEL_NAMES = {1: "optional", 2: "required", 3: "repeated"}


def schema_facts():
    """Field tables straight from the generated descriptors (FileDescriptorProto)."""
    out = {
        "generator": "scripts/make_onnx_fixtures.py",
        "onnx": onnx.__version__,
        "protobuf": PROTOBUF_VERSION,
        "IR_VERSION": onnx.IR_VERSION,
        "files": {},
    }
    for mod in (onnx_ml_pb2, onnx_data_pb2):
        fdp = descriptor_pb2.FileDescriptorProto.FromString(mod.DESCRIPTOR.serialized_pb)
        messages, enums = {}, {}

        def enum_entry(e, prefix):
            enums[prefix + e.name] = {v.name: v.number for v in e.value}

        def msg_entry(md, prefix):
            full = prefix + md.name
            fields = {}
            for f in sorted(md.field, key=lambda f: f.number):
                ent = {"number": f.number, "type": TYPE_NAMES[f.type], "label": LABEL_NAMES[f.label]}
                if f.type_name:
                    ent["typeName"] = f.type_name.lstrip(".")
                if f.options.HasField("packed"):
                    ent["packed"] = f.options.packed
                if f.HasField("oneof_index"):
                    ent["oneof"] = md.oneof_decl[f.oneof_index].name
                if f.HasField("default_value"):
                    ent["default"] = f.default_value
                fields[f.name] = ent
            entry = {"fields": fields}
            if md.reserved_range:
                entry["reservedNumbers"] = [[r.start, r.end - 1] for r in md.reserved_range]
            if md.reserved_name:
                entry["reservedNames"] = list(md.reserved_name)
            messages[full] = entry
            for e in md.enum_type:
                enum_entry(e, full + ".")
            for n in md.nested_type:
                msg_entry(n, full + ".")

        pkg = fdp.package + "."
        for md in fdp.message_type:
            msg_entry(md, pkg)
        for e in fdp.enum_type:
            enum_entry(e, pkg)
        out["files"][fdp.name] = {"syntax": fdp.syntax or "proto2", "package": fdp.package, "messages": messages, "enums": enums}
    return out


# ---------------------------------------------------------------------------
# Serialization helpers
# ---------------------------------------------------------------------------


def canonical_bytes(msg) -> bytes:
    b = msg.SerializeToString()
    b = onnx_ml_pb2.ModelProto.FromString(b).SerializeToString()
    again = onnx_ml_pb2.ModelProto.FromString(b).SerializeToString()
    assert again == b, "Python protobuf serialization is not a fixed point"
    return b


def write(path: Path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def save_npy(path: Path, arr: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)


# ---------------------------------------------------------------------------
# Runnable model with newer fields
# ---------------------------------------------------------------------------

ORT_IR = 13  # onnxruntime 1.30 rejects IR 14 ("Unsupported model IR version: 14, max supported IR version: 13")
ORT_OPSET = 26  # onnxruntime 1.30 rejects opset 27/28 for the default domain


def mk_node(op, inputs, outputs, name, domain=None, doc=None, md=(), **attrs):
    n = onnx.helper.make_node(op, inputs, outputs, name=name, domain=domain, doc_string=doc, **attrs)
    n.metadata_props.extend(meta(*md))
    return n


def runnable_newer_model():
    h = onnx.helper
    # FLOAT8E4M3FN weights [1.0, 2.0, -1.0] and INT4 bias [-1, -8, 7]: raw_data
    wq = T()
    wq.name = "w_f8"
    wq.dims.append(3)
    wq.data_type = T.FLOAT8E4M3FN
    wq.raw_data = bytes([0x38, 0x40, 0xB8])
    wq.doc_string = "float8e4m3fn weights"
    wq.metadata_props.extend(meta(("quant", "f8")))
    add_unknown(wq)
    bq = T()
    bq.name = "b_i4"
    bq.dims.append(3)
    bq.data_type = T.INT4
    bq.raw_data = bytes([0x8F, 0x07])
    bq.doc_string = "int4 bias"
    scale = h.make_tensor("scale", T.FLOAT, [], [0.5])
    scale.doc_string = "shared scale"
    zp = h.make_tensor("zp_i4", T.INT4, [], vals=bytes([0x01]), raw=True)
    zero = h.make_tensor("zero", T.FLOAT, [], [0.0])

    nodes = [
        mk_node("DequantizeLinear", ["w_f8", "scale"], ["w"], "dq_w", doc="dequantize f8", md=[("stage", "dq")]),
        mk_node("DequantizeLinear", ["b_i4", "scale", "zp_i4"], ["b"], "dq_b", doc="dequantize int4", md=[("stage", "dq")]),
        mk_node("AddMul", ["X", "w"], ["h"], "call_fn", domain="local.fn", doc="function call", md=[("kind", "call")]),
        mk_node("ReduceSum", ["X"], ["s"], "sum", keepdims=0),
        mk_node("Greater", ["s", "zero"], ["cond"], "gt"),
    ]
    then_g = h.make_graph(
        [mk_node("Add", ["h", "b"], ["then_out"], "then_add", doc="then", md=[("branch", "then")])],
        "then_branch",
        [],
        [h.make_tensor_value_info("then_out", T.FLOAT, ["N", 3])],
        doc_string="then branch",
    )
    then_g.metadata_props.extend(meta(("branch", "then")))
    else_g = h.make_graph(
        [mk_node("Sub", ["h", "b"], ["else_out"], "else_sub", doc="else")],
        "else_branch",
        [],
        [h.make_tensor_value_info("else_out", T.FLOAT, ["N", 3])],
        doc_string="else branch",
    )
    add_unknown(else_g)
    if_node = mk_node("If", ["cond"], ["Y"], "if", doc="if node", md=[("kind", "if")], then_branch=then_g, else_branch=else_g)
    if_node.attribute[0].doc_string = "then attr doc"
    add_unknown(if_node.attribute[1])
    add_unknown(if_node)
    nodes.append(if_node)

    fn = h.make_function(
        "local.fn",
        "AddMul",
        ["a", "b"],
        ["y"],
        [
            mk_node("Add", ["a", "b"], ["t"], "fn_add", doc="in function", md=[("in", "fn")]),
            mk_node("Mul", ["t", "t"], ["y"], "fn_mul"),
        ],
        [h.make_opsetid("", ORT_OPSET)],
        doc_string="(a + b)^2",
    )
    fn.metadata_props.extend(meta(("fn", "AddMul")))
    add_unknown(fn)

    x_type = tensor_type(T.FLOAT, [("N", "DATA_BATCH"), 3])
    add_unknown(x_type.tensor_type.shape.dim[0], UNKNOWN_SMALL)
    add_unknown(x_type)
    g = h.make_graph(
        nodes,
        "runnable_newer",
        [value_info("X", x_type, "input X", [("io", "in")])],
        [value_info("Y", tensor_type(T.FLOAT, ["N", 3]), "output Y", [("io", "out")])],
        initializer=[wq, bq, scale, zp, zero],
        doc_string="graph doc",
        value_info=[value_info("h", tensor_type(T.FLOAT, ["N", 3]), "hidden", [("vi", "h")])],
    )
    g.metadata_props.extend(meta(("graph", "runnable ✓")))
    add_unknown(g)
    m = h.make_model(
        g,
        opset_imports=[h.make_opsetid("", ORT_OPSET), h.make_opsetid("local.fn", 1)],
        ir_version=ORT_IR,
        producer_name="fixq-fixtures",
        producer_version=f"onnx {onnx.__version__}",
        doc_string="runnable model with newer fields",
        functions=[fn],
    )
    m.domain = "com.example.fixq"
    m.model_version = 1
    m.metadata_props.extend(meta(("model", "runnable ✓"), ("unknown-fields", "yes")))
    add_unknown(m)
    return m


def run_ort(model_path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"X": x})
    return y


def make_runnable_newer():
    m = runnable_newer_model()
    onnx.checker.check_model(m)  # unknown fields are invisible to the checker
    data = canonical_bytes(m)
    path = OUT / "runnable-newer.onnx"
    write(path, data)
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)
    y = run_ort(path, x)
    w = np.array([1.0, 2.0, -1.0], np.float32) * 0.5
    b = (np.array([-1, -8, 7], np.float32) - 1.0) * 0.5
    hh = (x + w) ** 2
    expect = hh + b if x.sum() > 0 else hh - b
    np.testing.assert_allclose(y, expect, rtol=1e-6)
    save_npy(OUT / "runnable-newer.input.npy", x)
    save_npy(OUT / "runnable-newer.output.npy", y.astype(np.float32))
    return m


# ---------------------------------------------------------------------------
# External data
# ---------------------------------------------------------------------------


def ext_tensor(name, dims, location, offset=None, length=None):
    t = T()
    t.name = name
    t.dims.extend(dims)
    t.data_type = T.FLOAT
    kv = [("location", location)]
    if offset is not None:
        kv.append(("offset", str(offset)))
    if length is not None:
        kv.append(("length", str(length)))
    t.external_data.extend(meta(*kv))
    t.data_location = T.EXTERNAL
    return t


# weights (deterministic)
EXT_W1 = (np.arange(12, dtype=np.float32).reshape(3, 4) / 8.0 - 0.5).astype(np.float32)  # [3,4]
EXT_B1 = np.array([0.25, -0.5, 1.0, 0.0], dtype=np.float32)  # [4]
EXT_W2 = (np.arange(8, dtype=np.float32).reshape(4, 2) * -0.25 + 1.0).astype(np.float32)  # [4,2]


def external_model(loc_b1="weights-a.bin"):
    """Y = MatMul(Relu(MatMul(X, W1) + B1), W2); W1,B1 in weights-a.bin, W2 in weights-b.bin."""
    h = onnx.helper
    w1 = ext_tensor("W1", [3, 4], "weights-a.bin", 0, EXT_W1.nbytes)
    b1 = ext_tensor("B1", [4], loc_b1, 64, EXT_B1.nbytes)
    w2 = ext_tensor("W2", [4, 2], "weights-b.bin", 16, None)  # no length: runs to end of file == tensor size
    nodes = [
        h.make_node("MatMul", ["X", "W1"], ["a"], name="mm1"),
        h.make_node("Add", ["a", "B1"], ["b"], name="add"),
        h.make_node("Relu", ["b"], ["c"], name="relu"),
        h.make_node("MatMul", ["c", "W2"], ["Y"], name="mm2"),
    ]
    g = h.make_graph(
        nodes,
        "external_data",
        [h.make_tensor_value_info("X", T.FLOAT, ["N", 3])],
        [h.make_tensor_value_info("Y", T.FLOAT, ["N", 2])],
        initializer=[w1, b1, w2],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 21)], ir_version=10, producer_name="fixq-fixtures")
    return m


def make_external():
    d = OUT / "external"
    d.mkdir(parents=True, exist_ok=True)
    # weights-a.bin: W1 at 0..48, zero padding, B1 at 64..80, then 8 trailing bytes
    a = bytearray(EXT_W1.astype("<f4").tobytes())
    a += bytes(64 - len(a))
    a += EXT_B1.astype("<f4").tobytes()
    a += b"TRAILER!"  # data after the last tensor: readers must honour length
    write(d / "weights-a.bin", bytes(a))
    # weights-b.bin: 16 bytes header, then W2 running to end of file
    write(d / "weights-b.bin", b"FIXQ-HEADER-16B." + EXT_W2.astype("<f4").tobytes())

    m = external_model()
    write(d / "model.onnx", canonical_bytes(m))
    onnx.checker.check_model(str(d / "model.onnx"))  # checks the external files too
    x = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], dtype=np.float32)
    y = run_ort(d / "model.onnx", x)
    expect = np.maximum(x @ EXT_W1 + EXT_B1, 0) @ EXT_W2
    np.testing.assert_allclose(y, expect, rtol=1e-6)
    save_npy(d / "model.input.npy", x)
    save_npy(d / "model.output.npy", y.astype(np.float32))

    # outside.bin lives one level up (test/fixtures/onnx/outside.bin) and holds a
    # valid copy of B1 at offset 64, so a naive loader silently succeeds.
    outside = bytes(64) + EXT_B1.astype("<f4").tobytes()
    write(OUT / "outside.bin", outside)
    write(d / "hostile-abs.onnx", canonical_bytes(external_model("/etc/hostname")))
    write(d / "hostile-dotdot.onnx", canonical_bytes(external_model("../outside.bin")))
    link = d / "evil.bin"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink("../outside.bin", link)
    write(d / "hostile-symlink.onnx", canonical_bytes(external_model("evil.bin")))

    # Record what onnxruntime does with each hostile model (for the README).
    results = {}
    for name in ("hostile-abs.onnx", "hostile-dotdot.onnx", "hostile-symlink.onnx"):
        try:
            run_ort(d / name, x)
            results[name] = "onnxruntime loads and runs it"
        except Exception as e:  # noqa: BLE001
            results[name] = "onnxruntime rejects: " + str(e).splitlines()[0][:200]
    return results


# ---------------------------------------------------------------------------
# Wire-level edge cases (valid protobuf, but not Python's canonical encoding)
# ---------------------------------------------------------------------------


def make_wire_edge_cases():
    """Hand-assembled ModelProto bytes that parse fine but re-serialize differently
    in Python protobuf.  A byte-preserving codec must still reproduce them."""
    cases = []

    def case(desc, b):
        cases.append((desc, b))
        return b

    # TensorProto with packed fields written unpacked, fields out of order,
    # overlong varints, an explicit packed field with zero elements.
    tensor = b"".join(
        [
            case("TensorProto.name (8) before dims (1): fields out of number order", f_len(8, b"edge")),
            case("TensorProto.dims unpacked (proto2 default) with an overlong varint for 2", f_varint(1, 2)[:1] + b"\x82\x00"),
            case("TensorProto.data_type as overlong 10-byte varint of 1", tag(2, WT_VARINT) + b"\x81" + b"\x80" * 8 + b"\x00"),
            case("TensorProto.float_data (packed) written unpacked, element 1", f_i32(4, 0x3F800000)),
            case("TensorProto.float_data packed run, element 2", f_len(4, struct.pack("<I", 0x40000000))),
            case("TensorProto.int64_data empty packed run", f_len(7, b"")),
            case("TensorProto.name repeated: last one wins on parse", f_len(8, b"edge_tensor")),
        ]
    )
    node = b"".join(
        [
            case("NodeProto.op_type before input", f_len(4, b"Identity")),
            f_len(1, b"X"),
            f_len(2, b"Y"),
            case("NodeProto unknown field between known fields", f_varint(1500, 1)),
            case("NodeProto.name with invalid UTF-8 in a proto2 string field", f_len(3, b"bad\xffutf8")),
        ]
    )
    graph = b"".join(
        [
            case("GraphProto.name before node", f_len(2, b"edge_graph")),
            f_len(1, node),
            f_len(5, tensor),
            f_len(11, f_len(1, b"X")),
            f_len(12, f_len(1, b"Y")),
            case("GraphProto.doc_string twice", f_len(10, b"first")),
            f_len(10, b"second"),
        ]
    )
    model = b"".join(
        [
            case("ModelProto.graph (7) before ir_version (1)", f_len(7, graph)),
            f_varint(1, 10),
            f_len(8, f_len(1, b"") + f_varint(2, 21)),
            case("ModelProto.ir_version repeated: last one wins", f_varint(1, 10)),
            case("ModelProto.model_version negative (10-byte varint)", f_varint(5, -1)),
            case("ModelProto unknown group with zero-length body", f_group(2000, b"")),
        ]
    )
    parsed = onnx_ml_pb2.ModelProto.FromString(model)
    py = parsed.SerializeToString()
    assert py != model
    t = parsed.graph.initializer[0]
    decoded = {
        "ir_version": parsed.ir_version,
        "model_version": parsed.model_version,
        "graph.name": parsed.graph.name,
        "graph.doc_string": parsed.graph.doc_string,
        "graph.node[0].name(hex)": f_len(3, b"bad\xffutf8")[2:].hex(),
        "graph.initializer[0]": {"name": t.name, "dims": list(t.dims), "data_type": t.data_type, "float_data": list(t.float_data), "int64_data": list(t.int64_data)},
    }
    write(OUT / "wire-edge-cases.onnx", model)
    desc = {
        "description": "Valid protobuf encodings that Python protobuf does NOT reproduce on re-serialization; "
        "a byte-lossless codec must still give identical bytes on load -> save.",
        "size": len(model),
        "pythonReserializedSize": len(py),
        "pythonDecoded": decoded,
        "cases": [{"what": d, "hex": b.hex()} for d, b in cases],
    }
    dump_json(OUT / "wire-edge-cases.json", desc)


# ---------------------------------------------------------------------------


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    model = all_fields_model()
    check_coverage(model)
    data = canonical_bytes(model)
    assert onnx_ml_pb2.ModelProto.FromString(data).SerializeToString() == data
    parsed = onnx_ml_pb2.ModelProto.FromString(data)
    check_coverage(parsed)  # unknown fields and explicit zeros survive a parse
    write(OUT / "all-fields.onnx", data)
    dump_json(
        OUT / "all-fields.json",
        {
            "file": "all-fields.onnx",
            "onnx": onnx.__version__,
            "protobuf": PROTOBUF_VERSION,
            "size": len(data),
            "note": "path: field path from the ModelProto root ('' = root); fields: known field numbers present "
            "(ascending, = Python's serialization order); unknown: count of unknown fields (a group counts once); "
            "unknownFields: [number, wireType] in stored order; byteSize: serialized size of that message",
            "messages": describe(parsed),
        },
        rows_key="messages",
    )
    dump_json(OUT / "onnx-schema-facts.json", schema_facts())
    make_runnable_newer()
    hostile = make_external()
    make_wire_edge_cases()
    print(f"onnx {onnx.__version__}, protobuf {PROTOBUF_VERSION}, IR_VERSION {onnx.IR_VERSION}")
    print(f"all-fields.onnx: {len(data)} bytes, canonical round trip OK")
    for k, v in hostile.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    sys.exit(main())
