"""Fashion-MNIST IDX reading and the preprocessing shared by every bundled model.

The preprocessing is deliberately minimal so that the TypeScript loader
(src/data/fashion-mnist.ts) can reproduce it bit for bit:

    x = float32(pixel) / float32(255)        pixel in 0..255 (uint8)

No mean/std normalisation is applied.  A float32 division of two exactly
representable values is correctly rounded, so the result equals
Math.fround(pixel / 255) in JavaScript (the float64 quotient rounded once to
float32; double rounding is harmless for division because float64 carries more
than 2*24+2 significand bits).
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

# Where Debian's `dataset-fashion-mnist` package installs the IDX files.
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

IMAGE_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned byte, 1 dimension

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

PREPROCESSING = "x = float32(pixel) / float32(255), pixel in 0..255; no mean/std normalisation"


def _read_maybe_gzip(directory: str, stem: str) -> tuple[str, bytes]:
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                raw = fh.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            return path, raw
    raise FileNotFoundError(f"{stem}(.gz) not found in {directory}")


def read_idx_images(directory: str, stem: str) -> np.ndarray:
    path, raw = _read_maybe_gzip(directory, stem)
    if len(raw) < 16:
        raise ValueError(f"{path}: too short for an IDX image header")
    magic, count, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != IMAGE_MAGIC:
        raise ValueError(f"{path}: bad magic {magic:#010x}, expected {IMAGE_MAGIC:#010x}")
    if (rows, cols) != (28, 28):
        raise ValueError(f"{path}: images are {rows}x{cols}, expected 28x28")
    expected = 16 + count * rows * cols
    if len(raw) != expected:
        raise ValueError(f"{path}: {len(raw)} bytes, expected {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)


def read_idx_labels(directory: str, stem: str) -> np.ndarray:
    path, raw = _read_maybe_gzip(directory, stem)
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for an IDX label header")
    magic, count = struct.unpack(">II", raw[:8])
    if magic != LABEL_MAGIC:
        raise ValueError(f"{path}: bad magic {magic:#010x}, expected {LABEL_MAGIC:#010x}")
    if len(raw) != 8 + count:
        raise ValueError(f"{path}: {len(raw)} bytes, expected {8 + count}")
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8)
    if labels.max() > 9:
        raise ValueError(f"{path}: label {labels.max()} out of range 0..9")
    return labels


def load_split(split: str, directory: str = DEBIAN_DIR) -> tuple[np.ndarray, np.ndarray]:
    """Returns (uint8 images [N,28,28], uint8 labels [N])."""
    img_stem, lbl_stem = FILES[split]
    images = read_idx_images(directory, img_stem)
    labels = read_idx_labels(directory, lbl_stem)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def preprocess(images_u8: np.ndarray) -> np.ndarray:
    """uint8 [N,28,28] -> float32 [N,1,28,28], C order, x = pixel / 255."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(x.reshape(-1, 1, 28, 28), dtype=np.float32)
