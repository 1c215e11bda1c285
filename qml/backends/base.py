"""The executor interface: run a trained circuit module on inputs and return ⟨Z⟩ of every logical wire."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class Capabilities:
    """What an executor can do, as data: callers check it instead of passing arguments that would be dropped.

    ``exact``: returns exact expectations when no shots are given; ``sampled``: estimates them from shots;
    ``noise_factor``: scales its device noise by a factor; ``layout``: places the circuit on physical qubits."""

    exact: bool
    sampled: bool
    noise_factor: bool
    layout: bool

    @property
    def needs_shots(self) -> bool:
        return not self.exact


class Executor:
    """Runs ``module``'s circuit (its current angles) on features ``x`` (B, F); returns ⟨Z⟩ (B, n_wires) per
    logical wire, estimated from ``shots`` samples when shots are given."""

    name: str = ""
    capabilities = Capabilities(exact=False, sampled=True, noise_factor=False, layout=True)

    def expectations(self, module, x: Tensor | None, shots: int | None = None) -> Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class TranspileCache:
    """The last few transpiled circuits of an executor by (circuit object, bound angles, layout): evaluating the
    same module again, or a module whose angles are all inputs (parameter-shift rows, issue 17), transpiles once.
    A symbolic U3/CU3 circuit takes seconds to transpile; a bound one milliseconds."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: dict[tuple, object] = {}

    def get(self, module, layout, make):
        theta = module.theta.detach().cpu().double().numpy()
        key = (id(module.circuit), len(module.circuit), theta.tobytes(), tuple(layout or ()))
        if key not in self._items:
            if len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = (module.circuit, make())  # holding the circuit keeps its id from being reused
        return self._items[key][1]


def parameter_rows(transpiled, x: Tensor | None) -> np.ndarray:
    """One row of input features per input, in the order of the transpiled circuit's parameters (one empty row
    when the circuit has none)."""
    from qml.errors import InputError

    params = list(transpiled.parameters)
    if not params:
        return np.zeros((1, 0))
    if x is None:
        raise InputError("the circuit takes input features; pass x")
    return x.detach().cpu().double().numpy()[:, [p.index for p in params]]


def z_from_bits(bits: np.ndarray) -> np.ndarray:
    """⟨Z⟩ per clbit from sampled bits (..., shots, n_clbits): 1 - 2 * P(bit = 1)."""
    return 1.0 - 2.0 * bits.mean(axis=-2)


def unpack_bitarray(array: np.ndarray, n_bits: int) -> np.ndarray:
    """qiskit ``BitArray.array`` (..., shots, bytes; big-endian bytes, bit 0 = clbit 0) -> bits (..., shots, n)."""
    return np.unpackbits(array[..., ::-1], axis=-1, bitorder="little")[..., :n_bits]


def as_tensor(values: np.ndarray, like: Tensor | None) -> Tensor:
    dtype = torch.float32 if like is None else like.dtype
    return torch.as_tensor(values, dtype=dtype if dtype.is_floating_point else torch.float32)
