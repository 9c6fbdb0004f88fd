"""Checks fixq's ONNX files with the ONNX tooling itself (run by hand, never by the tests).

For every file given: onnx.checker.check_model(full_check=True) (which also runs
ONNX shape inference), an onnxruntime session, and the graph's
quantization_annotation: every annotation names a tensor of the graph, and
every finn_datatype is a qonnx DataType name (INT<n>, UINT<n>, BINARY,
BIPOLAR, TERNARY, FLOAT32, FLOAT16, FIXED<W,I> with I < W, SCALEDINT<n>,
FLOAT<E,M[,B]>).

    python scripts/check_annotations.py out/*.onnx
"""
import re
import sys

import onnx
import onnxruntime as ort

FINN = [
    r"FLOAT32|FLOAT16|BFLOAT16|BINARY|BIPOLAR|TERNARY",
    r"U?INT[1-9][0-9]*",
    r"SCALEDINT<[1-9][0-9]*>",
    r"FLOAT<[1-9][0-9]*,[0-9]+(,-?[0-9]+)?>",
]


def finn_ok(name):
    m = re.fullmatch(r"FIXED<([1-9][0-9]*),(-?[0-9]+)>", name)
    if m:
        return int(m.group(2)) < int(m.group(1))
    return any(re.fullmatch(p, name) for p in FINN)


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    ort_note = "onnxruntime ok"
    try:
        ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - report and retry without graph optimizations
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        ort_note = f"onnxruntime ok with optimizations off only ({str(e).splitlines()[0][:120]})"
    g = model.graph
    names = {t.name for t in g.initializer} | {v.name for v in list(g.input) + list(g.output) + list(g.value_info)}
    for n in g.node:
        names.update(n.input)
        names.update(n.output)
    problems = []
    keys = {}
    for a in g.quantization_annotation:
        if a.tensor_name not in names:
            problems.append(f"annotation of missing tensor '{a.tensor_name}'")
        for kv in a.quant_parameter_tensor_names:
            keys.setdefault(kv.key, set()).add(kv.value)
            if kv.key == "finn_datatype" and not finn_ok(kv.value):
                problems.append(f"'{a.tensor_name}': finn_datatype '{kv.value}' is not a qonnx name")
    summary = ", ".join(f"{k}: {sorted(v)}" for k, v in sorted(keys.items()))
    print(f"{path}: checker ok, {ort_note}, {len(g.quantization_annotation)} annotations ({summary})")
    for p in problems:
        print(f"  problem: {p}")
    return not problems


if __name__ == "__main__":
    ok = all([check(p) for p in sys.argv[1:]])
    sys.exit(0 if ok else 1)
