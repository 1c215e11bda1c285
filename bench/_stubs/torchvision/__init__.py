"""Bench-only torchvision stub: just enough names for ``import torchquantum``."""

__version__ = "0.0.0+bench-stub"
