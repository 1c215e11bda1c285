"""MNIST and Fashion-MNIST tasks from IDX files, preprocessed as in QuantumNAS: centre crop 28x28 -> 24x24,
average pool 6x6 -> 4x4 = 16 features (row-major), then standardized like every task.

Classes follow TorchQuantum's QuantumNAS configs (``examples/configs/{mnist,fashion}/four0123`` and ``two36``):
the 4-class tasks use 0, 1, 2, 3 (Fashion-MNIST: T-shirt/top, trouser, pullover, dress), the 2-class tasks 3 vs 6
(Fashion-MNIST: dress vs shirt). The IDX train file gives train and a stratified, seeded 5 % validation hold-out
(QuantumNAS's 0.95 / 0.05 ratio); the t10k file gives the test split.

QuantumNAS trains on the whole train file (~23k images for 4 classes). By default qml keeps 5,000 stratified
training images (``IMAGE_LIMIT``): one clean epoch of a 2-block U3+CU3 circuit on 5,000 images took 0.3 s on a
2-core CPU, so the full set is ~5x that for every epoch, and more again with noise injection or a SuperCircuit.
Validation (5 %) and test are kept whole. Pass ``limit=SizeLimit()`` to ``load_task`` for the full set."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qml.data.files import Source, find_files
from qml.data.idx import read_idx
from qml.data.splits import Dataset, SizeLimit, select_classes, stratified_split, stratified_take, to_dataset
from qml.errors import InputError

CROP = 24
POOL = 6
VALID_FRACTION = 0.05
IMAGE_LIMIT = SizeLimit(train=5000)
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

FASHION = Source(
    "Fashion-MNIST", ("fashion-mnist", "fashion", "FashionMNIST/raw"),
    "install it with 'apt install dataset-fashion-mnist' or download the four IDX files from "
    "https://github.com/zalandoresearch/fashion-mnist and pass their folder with --data-dir (data_dir= in Python) "
    "or QML_DATA_DIR",
    (Path("/usr/share/datasets/fashion-mnist"),))
MNIST = Source(
    "MNIST", ("mnist", "MNIST/raw"),
    "download the four IDX files from https://yann.lecun.com/exdb/mnist/ and pass their folder with --data-dir "
    "(data_dir= in Python) or QML_DATA_DIR")


def crop_pool(images: np.ndarray, crop: int = CROP, pool: int = POOL) -> np.ndarray:
    """(N, H, W) images -> (N, (crop // pool) ** 2) features: centre crop (torchvision's rounding), mean pool."""
    n, h, w = images.shape
    top, left = int(round((h - crop) / 2)), int(round((w - crop) / 2))
    cropped = images[:, top:top + crop, left:left + crop].astype(np.float64)
    side = crop // pool
    return cropped.reshape(n, side, pool, side, pool).mean((2, 4)).reshape(n, side * side)


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Images, int64 labels, and the pixel scale (255 for bytes)."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1] < CROP or images.shape[2] < CROP:
        raise InputError(f"{images_path}: expected images of at least {CROP}x{CROP} (N x H x W), "
                         f"found shape {'x'.join(map(str, images.shape))}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{labels_path}: expected a 1-D array of integer labels, found shape "
                         f"{'x'.join(map(str, labels.shape))} of {labels.dtype}")
    if len(images) != len(labels):
        raise InputError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    return images, labels.astype(np.int64), scale


def load_images(name: str, source: Source, classes: tuple[int, ...], seed: int = 0,
                data_dir: str | Path | None = None, limit: SizeLimit | None = None) -> Dataset:
    """Image task ``name``: ``classes`` of ``source`` relabelled 0..k-1 in that order."""
    limit = IMAGE_LIMIT if limit is None else limit
    paths = find_files(name, source, IDX_NAMES, data_dir)
    rng = np.random.default_rng(seed)
    train_images, train_labels, scale = _read_pair(paths[0], paths[1])
    test_images, test_labels, test_scale = _read_pair(paths[2], paths[3])
    images, y = select_classes(train_images, train_labels, classes)
    if len(np.unique(y)) < len(classes):
        raise InputError(f"{paths[1]}: {name} needs classes {', '.join(map(str, classes))}, found "
                         f"{', '.join(map(str, np.unique(train_labels)))}")
    valid, train = stratified_split(y, (VALID_FRACTION,), rng)
    train = train[stratified_take(y[train], limit.train, rng)]
    valid = valid[stratified_take(y[valid], limit.valid, rng)]
    test_images, y_test = select_classes(test_images, test_labels, classes)
    test = stratified_take(y_test, limit.test, rng)
    splits = [(crop_pool(images[train]) / scale, y[train]), (crop_pool(images[valid]) / scale, y[valid]),
              (crop_pool(test_images[test]) / test_scale, y_test[test])]
    return to_dataset(name, splits, len(classes), rng, source=f"{source.title} IDX files in {paths[0].parent}")
