#!/usr/bin/env python3
"""Golden vectors for fixq's entropy calibration: ONNX Runtime's own Entropy
calibrator (num_bins 2048, num_quantized_bins 128) on a few tensors of the
bundled mobilenetv2, calibrated on the first 128 rows of models/data/calib.npy
in batches of 64. Writes, per tensor, ORT's histogram (its counts over
[-amax, amax]), the data's min and max, and the range ORT chose, to
test/fixtures/calib/ort-entropy.json. test/calib/range.test.ts runs fixq's
search on those very counts and expects ORT's range.

    python3 scripts/make_entropy_golden.py   (needs onnx, onnxruntime, numpy)
"""

import json
import os
import tempfile

import numpy as np
import onnxruntime
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod
from onnxruntime.quantization.calibrate import create_calibrator

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODEL = os.path.join(ROOT, "models", "mobilenetv2.onnx")
TENSORS = ["/stem/stem.2/Clip_output_0", "/blocks/blocks.0/body/body.3/Conv_output_0", "/blocks/blocks.0/Add_output_0", "logits"]
OUT = os.path.join(ROOT, "test", "fixtures", "calib", "ort-entropy.json")


class Reader(CalibrationDataReader):
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def get_next(self):
        if self.pos >= len(self.data):
            return None
        rows = self.data[self.pos : self.pos + 64]
        self.pos += 64
        return {"input": rows}


def main():
    data = np.load(os.path.join(ROOT, "models", "data", "calib.npy"))[:128]
    options = {"num_bins": 2048, "num_quantized_bins": 128}
    with tempfile.TemporaryDirectory() as tmp:
        c = create_calibrator(MODEL, None, augmented_model_path=os.path.join(tmp, "a.onnx"), calibrate_method=CalibrationMethod.Entropy, extra_options=options)
        c.tensors_to_calibrate = set(TENSORS)
        c.collect_data(Reader(data))
        hist = c.collector.histogram_dict
        result = c.compute_data()
    out = {"generator": "scripts/make_entropy_golden.py", "onnxruntime": onnxruntime.__version__, "options": options, "tensors": {}}
    for name in TENSORS:
        counts, _edges, mn, mx, amax = hist[name]
        out["tensors"][name] = {
            "counts": [int(x) for x in counts],
            "amax": float(amax),
            "min": float(mn),
            "max": float(mx),
            "range": [float(x) for x in result[name].range_value],
        }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf8") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
