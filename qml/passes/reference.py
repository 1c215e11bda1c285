"""A classical reference task for the compression passes: scikit-learn's 8x8 digits (10 classes, bundled, no
download) with a small MLP or CNN that trains in seconds on a CPU. Used by ``qml passes apply`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from qml.errors import InputError

MODELS = ("mlp", "cnn")


@dataclass
class DigitsSplits:
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def load_digits10(seed: int = 0, images: bool = False) -> DigitsSplits:
    """75 / 25 stratified split of all 1797 digits, pixels scaled to [0, 1]; (N, 64) or (N, 1, 8, 8)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)
    x = x[:, None] if images else x.reshape(len(x), -1)
    xtr, xte, ytr, yte = train_test_split(x, bunch.target, test_size=0.25, random_state=seed, stratify=bunch.target)
    return DigitsSplits(torch.tensor(xtr), torch.tensor(ytr), torch.tensor(xte), torch.tensor(yte))


def reference_model(kind: str, width: int = 1) -> nn.Module:
    """``mlp``: 64-128-64-10; ``cnn``: two 3x3 conv layers (32, 64 channels) with BatchNorm, then 2 linear layers.
    ``width`` multiplies the hidden sizes."""
    if kind == "mlp":
        return nn.Sequential(nn.Linear(64, 128 * width), nn.ReLU(), nn.Linear(128 * width, 64 * width), nn.ReLU(),
                             nn.Linear(64 * width, 10))
    if kind == "cnn":
        c1, c2 = 32 * width, 64 * width
        return nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * 16, 64), nn.ReLU(), nn.Linear(64, 10))
    raise InputError(f"unknown reference model {kind!r}: expected one of {', '.join(MODELS)}")
