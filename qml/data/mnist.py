"""``mnist4`` / ``mnist2``: the full MNIST IDX files when the user has them (``images.py``), else the 5,000 real
MNIST training images qml ships (``bundled/mnist_5k.npz``: the first 500 of each digit, CC BY-SA 3.0, see
``bundled/README.md``), so both tasks run offline with nothing to fetch.

The IDX files are read when ``data_dir`` is given or ``$QML_DATA_DIR`` holds them. The bundled set has no test
file, so each class is split stratified and seeded 10 % validation / 50 % test / 40 % training, keeping the test
split large enough to measure accuracy to about a point: ``mnist4`` 800 / 200 / 1,000, ``mnist2`` 400 / 100 / 500
(train / valid / test). Preprocessing is the image tasks': centre crop 24x24, 6x6 mean pool to 16 features."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np

from qml.data.files import has_files
from qml.data.images import IDX_NAMES, MNIST, crop_pool, load_images
from qml.data.splits import Dataset, SizeLimit, select_classes, stratified_split, stratified_take, to_dataset

BUNDLED = "bundled/mnist_5k.npz"
BUNDLED_SOURCE = "MNIST subset shipped with qml (first 500 training images of each digit)"
TEST_FRACTION = 0.5
VALID_FRACTION = 0.1


def read_bundled() -> tuple[np.ndarray, np.ndarray]:
    """The shipped images (5000, 28, 28) uint8 and labels (5000,) int64, grouped by digit in training-file order."""
    resource = importlib.resources.files("qml.data").joinpath(BUNDLED)
    with importlib.resources.as_file(resource) as path, np.load(path, allow_pickle=False) as archive:
        return archive["images"], archive["labels"].astype(np.int64)


def load_mnist(name: str, classes: tuple[int, ...], seed: int = 0, data_dir: str | Path | None = None,
               limit: SizeLimit | None = None) -> Dataset:
    """MNIST task ``name``: ``classes`` relabelled 0..k-1 in that order, from the IDX files or the bundled set."""
    if data_dir is not None or has_files(MNIST, IDX_NAMES):
        return load_images(name, MNIST, classes, seed=seed, data_dir=data_dir, limit=limit)
    limit = limit or SizeLimit()
    images, y = select_classes(*read_bundled(), classes)
    rng = np.random.default_rng(seed)
    test, valid, train = stratified_split(y, (TEST_FRACTION, VALID_FRACTION), rng)
    parts = [idx[stratified_take(y[idx], n, rng)] for idx, n in
             ((train, limit.train), (valid, limit.valid), (test, limit.test))]
    return to_dataset(name, [(crop_pool(images[idx]) / 255.0, y[idx]) for idx in parts], len(classes), rng,
                      source=BUNDLED_SOURCE)
