"""The task registry. ``digits4`` / ``digits2``: scikit-learn's bundled 8x8 digits (no download), classes 0-3 (or
3 and 6 for the 2-class task), average-pooled 2x2 to 4x4 = 16 features, stratified 60 / 15 / 25 split.
``mnist4`` / ``mnist2`` (``mnist.py``) read the user's IDX files, else the real MNIST subset qml ships; the other
image tasks (``images.py``) and ``vowel4`` (``vowel.py``) read files the user has; nothing is downloaded. The
user's own ``.npz`` files: ``user_data.load_data``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from qml.data.images import FASHION, load_images
from qml.data.mnist import load_mnist
from qml.data.splits import (
    ANGLE_SCALE,
    Dataset,
    SizeLimit,
    select_classes,
    stratified_split,
    stratified_take,
    to_dataset,
)
from qml.data.vowel import load_vowel
from qml.errors import InputError

__all__ = ["ANGLE_SCALE", "Dataset", "SizeLimit", "load_task", "task_names"]


def _pool(images: np.ndarray, factor: int) -> np.ndarray:
    n, h, w = images.shape
    return images.reshape(n, h // factor, factor, w // factor, factor).mean((2, 4))


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits as ``sklearn.datasets.load_digits`` returns them: images (1797, 8, 8) of pixels
    0..16 as float64, and the int targets. Read from scikit-learn's own ``datasets/data/digits.csv.gz`` the way
    ``load_digits`` reads it (``np.loadtxt``), without importing scikit-learn, whose imports cost every process that
    trains on digits more than a second; through ``load_digits`` when the file is not where scikit-learn keeps it."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    path = Path(roots[0]) / "datasets" / "data" / "digits.csv.gz" if roots else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return bunch.images, bunch.target
    with gzip.open(path, mode="rt", encoding="utf-8") as file:
        data = np.loadtxt(file, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int, copy=False)


def _digits(name: str, classes: tuple[int, ...], seed: int = 0, data_dir: str | Path | None = None,
            limit: SizeLimit | None = None) -> Dataset:
    if data_dir is not None:  # refused rather than ignored: the user believes the folder is read
        raise InputError(f"{name} reads no data folder (its images ship with scikit-learn), but {data_dir} was given; "
                         f"leave out --data-dir (data_dir= in Python), or pick a task that reads files: "
                         f"{', '.join(n for n in task_names() if not n.startswith('digits'))}")
    limit = limit or SizeLimit()
    images, target = sklearn_digits()
    x, y = select_classes(_pool(images / 16.0, 2).reshape(-1, 16), target, classes)  # pixels 0..16
    rng = np.random.default_rng(seed)
    test, valid, train = stratified_split(y, (0.25, 0.15), rng)
    parts = [idx[stratified_take(y[idx], n, rng)] for idx, n in
             ((train, limit.train), (valid, limit.valid), (test, limit.test))]
    return to_dataset(name, [(x[idx], y[idx]) for idx in parts], len(classes), rng,
                      source="scikit-learn's bundled digits (load_digits)")


_TASKS: dict[str, Callable[..., Dataset]] = {
    "digits4": partial(_digits, "digits4", (0, 1, 2, 3)),
    "digits2": partial(_digits, "digits2", (3, 6)),
    "mnist4": partial(load_mnist, "mnist4", (0, 1, 2, 3)),
    "mnist2": partial(load_mnist, "mnist2", (3, 6)),
    "fashion4": partial(load_images, "fashion4", FASHION, (0, 1, 2, 3)),
    "fashion2": partial(load_images, "fashion2", FASHION, (3, 6)),
    "vowel4": partial(load_vowel, "vowel4"),
}


_PROVIDED: dict[tuple[str, int, str | None], Dataset] = {}


def provide(datasets: dict[tuple[str, int, str | None], Dataset]) -> None:
    """Datasets loaded elsewhere — by a study's driver, shipped once to each Ray worker — that ``load_task`` returns
    for the same (name, seed, data_dir) and default size instead of reading their files again (a worker on another
    node may not have them)."""
    _PROVIDED.update(datasets)


def task_names() -> list[str]:
    return sorted(_TASKS)


def load_task(name: str, seed: int = 0, data_dir: str | Path | None = None, limit: SizeLimit | None = None) -> Dataset:
    """Load a task by name; unknown names list the available ones. ``seed`` fixes the split and any subset.

    - ``digits4``, ``digits2``: bundled with scikit-learn, 16 features; they read no files, so a ``data_dir`` is
      an ``InputError`` rather than silently ignored.
    - ``mnist4``, ``mnist2``, ``fashion4``, ``fashion2``: MNIST / Fashion-MNIST IDX files
      (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
      ``t10k-labels-idx1-ubyte``, each plain or ``.gz``), 16 features; classes 0-3, or 3 vs 6. Without MNIST
      files, ``mnist4`` / ``mnist2`` use the 5,000 real MNIST images qml ships (``qml.data.mnist``).
    - ``vowel4``: the UCI file ``vowel-context.data``, 10 PCA features, 4 vowels.

    Files are looked for in ``data_dir`` (and its sub-folders such as ``fashion-mnist/``, ``mnist/``, ``vowel/``)
    when given; otherwise in ``$QML_DATA_DIR`` likewise, then in Debian's ``/usr/share/datasets/fashion-mnist``
    (``apt install dataset-fashion-mnist``). A missing or malformed file is an ``InputError`` naming it.

    ``limit`` caps each split (stratified, seeded); ``None`` is the task's default: all samples, except 5,000
    training images for the IDX image tasks (see ``qml.data.images``); ``SizeLimit()`` keeps everything."""
    if name not in _TASKS:
        raise InputError(f"unknown task {name!r}: expected one of {', '.join(task_names())}")
    provided = _PROVIDED.get((name, seed, None if data_dir is None else str(data_dir))) if limit is None else None
    if provided is not None:
        return provided
    return _TASKS[name](seed=seed, data_dir=data_dir, limit=limit)
