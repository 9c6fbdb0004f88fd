#!/usr/bin/env python3
"""ONNX Runtime's own Entropy (KL-divergence) calibrator, as the anchor for
`npm run bench:calib-methods` (bench/calib-methods.bench.ts). Never used by
fixq itself or by the tests.

    python3 scripts/ort_entropy_anchor.py MODEL CALIB.npy TENSORS.json NUM_BINS NUM_QUANTIZED_BINS

MODEL is the float model exactly as fixq calibrates it (the bench writes fixq's
model after its float passes, so tensor names match). TENSORS.json is a JSON
list of the tensor names to calibrate (fixq's activation list). The rows of
CALIB.npy feed the model's single input in batches of 64, as fixq reads them.

NUM_BINS / NUM_QUANTIZED_BINS are the calibrator's `num_bins` and
`num_quantized_bins` extra options. onnxruntime's defaults are 128 / 128; the
TensorRT setting is 2048 / 128.

Prints one JSON line on stdout: the onnxruntime version, the options and, per
tensor, the [low, high] range the calibrator chose.
"""

import json
import os
import sys
import tempfile

import numpy as np
import onnxruntime
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod
from onnxruntime.quantization.calibrate import create_calibrator


class NpyReader(CalibrationDataReader):
    def __init__(self, name, data, batch):
        self.name = name
        self.data = data
        self.batch = batch
        self.pos = 0

    def get_next(self):
        if self.pos >= len(self.data):
            return None
        rows = self.data[self.pos : self.pos + self.batch]
        self.pos += self.batch
        return {self.name: rows}


def main():
    model, calib, tensors_file, num_bins, num_quantized = sys.argv[1:6]
    with open(tensors_file, encoding="utf8") as f:
        wanted = json.load(f)
    data = np.load(calib)
    sess = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    input_name = sess.get_inputs()[0].name
    del sess
    options = {"num_bins": int(num_bins), "num_quantized_bins": int(num_quantized), "symmetric": False}
    with tempfile.TemporaryDirectory() as tmp:
        calibrator = create_calibrator(
            model,
            None,
            augmented_model_path=os.path.join(tmp, "augmented.onnx"),
            calibrate_method=CalibrationMethod.Entropy,
            extra_options=options,
        )
        # create_calibrator exposes every float tensor; compute ranges for fixq's only.
        calibrator.tensors_to_calibrate = set(wanted) & set(calibrator.tensors_to_calibrate)
        calibrator.collect_data(NpyReader(input_name, data, 64))
        result = calibrator.compute_data()
    ranges = {}
    for name in wanted:
        if name in result:
            lo, hi = result[name].range_value
            ranges[name] = [float(lo), float(hi)]
    out = {"onnxruntime": onnxruntime.__version__, "options": options, "samples": int(len(data)), "ranges": ranges}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
