#!/usr/bin/env python3
"""Anchors for `npm run bench:transformer` (bench/transformer.bench.ts):
ONNX Runtime's own transformer quantizers on the same float model. Never used
by fixq or by the tests.

    python3 scripts/ort_transformer_anchor.py MODEL OUT.onnx MODE [CALIB]

MODE:
  dynamic          quantize_dynamic with its defaults (int8 weights, uint8
                   activations quantized at run time).
  static           quantize_static, QDQ, per-channel int8 weights, uint8
                   activations, MinMax on CALIB (.npy for a single input, or
                   .npz keyed by input name: int64 ids and masks pass as they are).
  nbits:B          MatMulNBitsQuantizer, 4 bits, block size B, symmetric,
                   round to nearest (its default algorithm).
  nbits-asym:B     MatMulNBitsQuantizer's own default: asymmetric (a 4-bit
                   zero point per block), round to nearest.
  nbits-gptq:B     the same as nbits:B with GPTQWeightOnlyQuantConfig on CALIB (ORT's
                   copy of Intel Neural Compressor's GPTQ, which imports torch:
                   without torch this mode fails with the import error).

MatMulNBitsQuantizer imports onnx_ir (pip package onnx-ir).

The calibration reader feeds CALIB in batches of 64, the same samples fixq
calibrates on. Prints one JSON line: the output size in bytes and the
onnxruntime version.
"""

import json
import logging
import os
import sys

import numpy as np
import onnx
import onnxruntime
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

BATCH = 64


class Reader(CalibrationDataReader):
    """Batches of CALIB for the model's inputs (one .npy, or .npz keyed by input name)."""

    def __init__(self, path, inputs):
        if path.endswith(".npz"):
            z = np.load(path)
            self.arrays = {k: z[k] for k in inputs}
        else:
            self.arrays = {inputs[0]: np.load(path)}
        self.count = len(next(iter(self.arrays.values())))
        self.start = 0

    def get_next(self):
        if self.start >= self.count:
            return None
        batch = {k: v[self.start : self.start + BATCH] for k, v in self.arrays.items()}
        self.start += BATCH
        return batch

    def __len__(self):
        return (self.count + BATCH - 1) // BATCH

    def rewind(self):
        self.start = 0


def main():
    logging.disable(logging.WARNING)
    model, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    calib = sys.argv[4] if len(sys.argv) > 4 else None
    m = onnx.load(model)
    init = {t.name for t in m.graph.initializer}
    inputs = [i.name for i in m.graph.input if i.name not in init]
    if mode == "dynamic":
        quantize_dynamic(model, out)
    elif mode == "static":
        quantize_static(
            model, out, Reader(calib, inputs), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )  # fmt: skip
    elif mode.startswith("nbits:") or mode.startswith("nbits-gptq:") or mode.startswith("nbits-asym:"):
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        block = int(mode.split(":")[1])
        if mode.startswith("nbits-gptq:"):
            from onnxruntime.quantization.matmul_nbits_quantizer import GPTQWeightOnlyQuantConfig

            config = GPTQWeightOnlyQuantConfig(calibration_data_reader=Reader(calib, inputs), block_size=block)
            q = MatMulNBitsQuantizer(m, block_size=block, is_symmetric=True, algo_config=config)
        else:
            q = MatMulNBitsQuantizer(m, block_size=block, is_symmetric=not mode.startswith("nbits-asym:"))
        q.process()
        q.model.save_model_to_file(out, use_external_data_format=False)
    else:
        sys.exit(f"unknown mode {mode}")
    print(json.dumps({"bytes": os.path.getsize(out), "onnxruntime": onnxruntime.__version__}))


if __name__ == "__main__":
    main()
