"""The executor interface: run a trained circuit module on inputs and return ⟨Z⟩ of every logical wire."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


class Executor:
    """Runs ``module``'s circuit (its current angles) on features ``x`` (B, F); returns ⟨Z⟩ (B, n_wires) per
    logical wire, estimated from ``shots`` samples when shots are given."""

    name: str = ""

    def expectations(self, module, x: Tensor | None, shots: int | None = None) -> Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


def z_from_bits(bits: np.ndarray) -> np.ndarray:
    """⟨Z⟩ per clbit from sampled bits (..., shots, n_clbits): 1 - 2 * P(bit = 1)."""
    return 1.0 - 2.0 * bits.mean(axis=-2)


def unpack_bitarray(array: np.ndarray, n_bits: int) -> np.ndarray:
    """qiskit ``BitArray.array`` (..., shots, bytes; big-endian bytes, bit 0 = clbit 0) -> bits (..., shots, n)."""
    return np.unpackbits(array[..., ::-1], axis=-1, bitorder="little")[..., :n_bits]


def as_tensor(values: np.ndarray, like: Tensor | None) -> Tensor:
    dtype = torch.float32 if like is None else like.dtype
    return torch.as_tensor(values, dtype=dtype if dtype.is_floating_point else torch.float32)
