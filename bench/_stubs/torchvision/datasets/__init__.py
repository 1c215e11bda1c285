"""Stub of ``torchvision.datasets``: only a base ``VisionDataset`` exists."""


class VisionDataset:
    """Base class placeholder so torchquantum's dataset classes can be defined."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise ImportError("torchvision datasets are not available (bench stub)")


def __getattr__(name: str) -> object:
    raise AttributeError(f"torchvision.datasets.{name} is not available (bench stub)")
