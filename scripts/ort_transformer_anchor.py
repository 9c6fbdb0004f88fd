#!/usr/bin/env python3
"""Anchors for `npm run bench:transformer` (bench/transformer.bench.ts):
ONNX Runtime's own transformer quantizers on the same float model. Never used
by fixq or by the tests.

    python3 scripts/ort_transformer_anchor.py MODEL OUT.onnx MODE

MODE:
  dynamic        quantize_dynamic with its defaults (int8 weights, uint8
                 activations quantized at run time).
  nbits:B        MatMulNBitsQuantizer, 4 bits, block size B, symmetric,
                 round to nearest (its default algorithm).

Prints one JSON line: the output size in bytes and the onnxruntime version.
"""

import json
import logging
import os
import sys

import onnx
import onnxruntime
from onnxruntime.quantization import quantize_dynamic

logging.disable(logging.WARNING)
model, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "dynamic":
    quantize_dynamic(model, out)
elif mode.startswith("nbits:"):
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    q = MatMulNBitsQuantizer(onnx.load(model), block_size=int(mode.split(":")[1]), is_symmetric=True)
    q.process()
    q.model.save_model_to_file(out, use_external_data_format=False)
else:
    sys.exit(f"unknown mode {mode}")
print(json.dumps({"bytes": os.path.getsize(out), "onnxruntime": onnxruntime.__version__}))
