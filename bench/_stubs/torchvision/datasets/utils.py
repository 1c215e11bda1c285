"""Stub of ``torchvision.datasets.utils``."""


def download_url(*args: object, **kwargs: object) -> None:
    """Always fails: no downloads in the bench stub."""
    raise ImportError(
        "torchvision.datasets.utils.download_url is not available (bench stub)"
    )
