"""Stub of ``torchvision.transforms``: only ``InterpolationMode`` exists."""

from enum import Enum


class InterpolationMode(Enum):
    """Names referenced at import time by torchquantum's dataset modules."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def __getattr__(name: str) -> object:
    raise AttributeError(f"torchvision.transforms.{name} is not available (bench stub)")
