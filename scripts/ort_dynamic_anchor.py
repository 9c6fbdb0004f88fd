#!/usr/bin/env python3
"""Size anchor for `npm run bench:corpus` (bench/corpus.bench.ts): quantizes a
model with ONNX Runtime's own tool, `quantize_dynamic` with its defaults
(int8 weights for MatMul/Gemm/Gather and friends, activations quantized at run
time), the way BERT-style models are usually shrunk. Never used by fixq or by
the tests.

    python3 scripts/ort_dynamic_anchor.py MODEL OUT.onnx

Prints one JSON line: the output size in bytes and the onnxruntime version.
"""

import json
import logging
import os
import sys

import onnxruntime
from onnxruntime.quantization import quantize_dynamic

logging.disable(logging.WARNING)
model, out = sys.argv[1], sys.argv[2]
quantize_dynamic(model, out)
print(json.dumps({"bytes": os.path.getsize(out), "onnxruntime": onnxruntime.__version__}))
