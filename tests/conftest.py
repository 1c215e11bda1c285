"""Shared test set-up. Reference builders and the seeded random-circuit generator live in ``tests.reference``."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_torch():
    """Every test starts from the same torch RNG state (QuantumModule draws its initial angles from it)."""
    torch.manual_seed(1234)
    yield
