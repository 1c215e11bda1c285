"""The ``Dataset`` every task returns, and how tasks are split, subsampled and scaled to encoder angles.

Features are standardized with the training split's mean and standard deviation and multiplied by
``ANGLE_SCALE``, so an encoder angle is about +-1 rad (measured on digits4: scale 0.3 gave 0.87-0.90 test
accuracy over three seeds, raw angles in [0, pi] 0.55-0.81)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qml.errors import InputError

ANGLE_SCALE = 0.3


@dataclass
class Dataset:
    """Train / validation / test splits as tensors; features (N, F) float32, labels (N,) int64."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    source: str = ""  # where the samples came from: a file, a folder, or what qml ships

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


@dataclass(frozen=True)
class SizeLimit:
    """Most samples kept per split (``None``: all). Subsets are stratified by class and seeded."""

    train: int | None = None
    valid: int | None = None
    test: int | None = None

    def __post_init__(self) -> None:
        for split in ("train", "valid", "test"):
            value = getattr(self, split)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise InputError(f"SizeLimit.{split} must be a positive integer or None, got {value!r}")


def select_classes(x: np.ndarray, y: np.ndarray, classes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Keep the samples of ``classes`` and relabel them 0..k-1 in the order given."""
    keep = np.isin(y, classes)
    relabel = np.full(int(max(classes)) + 1, -1, dtype=np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    return x[keep], relabel[y[keep]]


def stratified_split(y: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator,
                     minimum: int = 0) -> list[np.ndarray]:
    """Indices of ``y`` cut per class into consecutive parts of the given fractions (the last takes the rest).
    ``minimum``: each fractional part gets at least that many of every class (for small user data sets)."""
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        start = 0
        for part, fraction in zip(parts, fractions, strict=False):
            stop = start + max(minimum, round(fraction * len(idx)))
            part.append(idx[start:stop])
            start = stop
        parts[-1].append(idx[start:])
    return [np.concatenate(chunks) for chunks in parts]


def stratified_take(y: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``limit`` samples of ``y`` with the class proportions kept (largest remainder)."""
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * limit / len(y)
    take = np.floor(quota).astype(int)
    for i in np.argsort(take - quota, kind="stable")[: limit - take.sum()]:
        take[i] += 1
    return np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take, strict=True)])


def to_dataset(name: str, splits: list[tuple[np.ndarray, np.ndarray]], n_classes: int,
               rng: np.random.Generator, source: str = "") -> Dataset:
    """Standardize (train, valid, test) with the training statistics x ``ANGLE_SCALE``, shuffle each split."""
    x_train = splits[0][0]
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    tensors = []
    for x, y in splits:
        order = rng.permutation(len(y))
        tensors.append(torch.tensor((x[order] - mean) / std * ANGLE_SCALE, dtype=torch.float32))
        tensors.append(torch.tensor(y[order], dtype=torch.long))
    return Dataset(name, *tensors, n_classes, torch.tensor(mean, dtype=torch.float32),
                   torch.tensor(std, dtype=torch.float32), source)
