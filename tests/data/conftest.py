"""Fixtures: folders holding a tiny MNIST-like IDX set, plain or gzip-compressed."""

from __future__ import annotations

from pathlib import Path

import pytest

from .synthetic import write_mnist


@pytest.fixture
def mnist_dir(tmp_path: Path) -> Path:
    write_mnist(tmp_path / "plain")
    return tmp_path / "plain"


@pytest.fixture
def mnist_gz_dir(tmp_path: Path) -> Path:
    write_mnist(tmp_path / "gz", gz=True)
    return tmp_path / "gz"
