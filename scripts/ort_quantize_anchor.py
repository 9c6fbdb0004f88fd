#!/usr/bin/env python3
"""Quantizes one model with ONNX Runtime's own tool, as the anchor for
`npm run bench:accuracy` (bench/accuracy.bench.ts). Never used by fixq itself
or by the tests.

    python3 scripts/ort_quantize_anchor.py MODEL CALIB.npy OUT.onnx SETTINGS [--no-preprocess]

SETTINGS:
  defaults        quantize_static with nothing but the required arguments
                  (model, output, calibration reader). In onnxruntime 1.30 that
                  means QuantFormat.QDQ, per_channel=False, reduce_range=False,
                  activation_type=QInt8, weight_type=QInt8, MinMax calibration,
                  asymmetric activations, symmetric weights.
  per-channel-u8  per_channel=True, activation_type=QUInt8, weight_type=QInt8;
                  everything else left at its default (reduce_range=False).
  per-channel-u8-reduce-range
                  the same with reduce_range=True (7-bit weights), which ORT's
                  own docs advise on x86 CPUs without VNNI.

Before quantizing, the model is run through
`onnxruntime.quantization.shape_inference.quant_pre_process` (what
`python -m onnxruntime.quantization.preprocess` does: symbolic shape
inference, ORT's basic graph optimizations such as BatchNorm folding, ONNX
shape inference), as ORT's quantization docs advise. If pre-processing fails,
the model is quantized as it is and the reason is reported; --no-preprocess
skips it.

The calibration reader feeds the rows of CALIB.npy (the same file and the same
samples fixq calibrates on) to the model's single input, in batches of 64.
MinMax keeps the min and max over all batches, so the batch size does not
change the ranges.

Prints one JSON line on stdout: the settings actually used (read back from
the values passed, not assumed), the onnxruntime version and whether
pre-processing ran.
"""

import argparse
import json
import logging
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

BATCH = 64


class NpyReader(CalibrationDataReader):
    def __init__(self, path, input_name):
        self.x = np.load(path)
        self.input_name = input_name
        self.start = 0

    def get_next(self):
        if self.start >= len(self.x):
            return None
        batch = self.x[self.start : self.start + BATCH]
        self.start += BATCH
        return {self.input_name: batch}

    def __len__(self):
        return (len(self.x) + BATCH - 1) // BATCH

    def rewind(self):
        self.start = 0


def signature_defaults():
    """quantize_static's defaults, read from its signature in the installed package."""
    import inspect

    p = inspect.signature(quantize_static).parameters
    return {k: p[k].default for k in ("quant_format", "per_channel", "reduce_range", "activation_type", "weight_type", "calibrate_method")}


def name(v):
    return getattr(v, "name", v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("calib")
    ap.add_argument("out")
    ap.add_argument("settings", choices=["defaults", "per-channel-u8", "per-channel-u8-reduce-range"])
    ap.add_argument("--no-preprocess", action="store_true")
    a = ap.parse_args()
    logging.getLogger().setLevel(logging.ERROR)

    m = onnx.load(a.model)
    init = {t.name for t in m.graph.initializer}
    inputs = [i.name for i in m.graph.input if i.name not in init]
    if len(inputs) != 1:
        sys.exit(f"{a.model}: expected one input, found {inputs}")

    kwargs = {}
    if a.settings.startswith("per-channel-u8"):
        kwargs = {"per_channel": True, "activation_type": QuantType.QUInt8, "weight_type": QuantType.QInt8}
    if a.settings == "per-channel-u8-reduce-range":
        kwargs["reduce_range"] = True
    used = {**signature_defaults(), **kwargs}

    with tempfile.TemporaryDirectory(prefix="fixq-anchor.") as tmp:
        src = a.model
        preprocessed = False
        preprocess_error = None
        if not a.no_preprocess:
            pre = os.path.join(tmp, "pre.onnx")
            try:
                quant_pre_process(a.model, pre)
                src = pre
                preprocessed = True
            except Exception as e:  # noqa: BLE001 - reported, then quantize the raw model
                preprocess_error = f"{type(e).__name__}: {e}".splitlines()[0][:200]
        quantize_static(src, a.out, NpyReader(a.calib, inputs[0]), **kwargs)

    print(
        json.dumps(
            {
                "onnxruntime": onnxruntime.__version__,
                "settings": a.settings,
                "quant_format": name(used["quant_format"]),
                "per_channel": used["per_channel"],
                "reduce_range": used["reduce_range"],
                "activation_type": name(used["activation_type"]),
                "weight_type": name(used["weight_type"]),
                "calibrate_method": name(used["calibrate_method"]),
                "calibration_samples": int(len(np.load(a.calib, mmap_mode="r"))),
                "preprocessed": preprocessed,
                "preprocess_error": preprocess_error,
            }
        )
    )


if __name__ == "__main__":
    main()
