"""Shared test set-up. Reference builders and the seeded random-circuit generator live in ``tests.reference``."""

from __future__ import annotations

import os
import secrets

import pytest
import torch

# The Ray tests' cluster (tests/runs/test_ray.py) uses token authentication, Ray's default for local clusters since
# 2.59. Ray reads the mode and the token when it is imported, so they are set here, before any test imports it.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(autouse=True)
def _seed_torch():
    """Every test starts from the same torch RNG state (QuantumModule draws its initial angles from it)."""
    torch.manual_seed(1234)
    yield
