"""Synthetic data files for the data-room tests: tiny MNIST-like IDX sets and vowel-context.data rows."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

IDX_TYPES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}
TRAIN_PER_CLASS = 40
TEST_PER_CLASS = 10


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of ``array``, written independently of qml's reader."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, IDX_TYPES[dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(array)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def make_images(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random 28x28 uint8 images, ``per_class`` of each label 0-9, in shuffled order."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), per_class))
    return rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8), labels


def write_mnist(folder: Path, gz: bool = False, seed: int = 0) -> dict[str, np.ndarray]:
    """The four IDX files of a small MNIST-like set in ``folder``; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    train_x, train_y = make_images(TRAIN_PER_CLASS, seed)
    test_x, test_y = make_images(TEST_PER_CLASS, seed + 1)
    arrays = {"train-images-idx3-ubyte": train_x, "train-labels-idx1-ubyte": train_y,
              "t10k-images-idx3-ubyte": test_x, "t10k-labels-idx1-ubyte": test_y}
    for name, array in arrays.items():
        write_idx(folder / name, array, gz)
    return arrays


def vowel_rows(per_class: int = 90, seed: int = 0) -> np.ndarray:
    """Rows like vowel-context.data: flag, speaker, sex, 10 features (class-dependent means), class 0-10."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(11):
        for i in range(per_class):
            features = rng.normal(c * 0.3, 1.0, 10)
            rows.append([int(i % 15 >= 8), i % 15, (i // 6) % 2, *features, c])
    return np.array(rows)


def write_vowel(path: Path, rows: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [" ".join([*(str(int(v)) for v in r[:3]), *(f"{v:.3f}" for v in r[3:13]), str(int(r[13]))])
             for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path
