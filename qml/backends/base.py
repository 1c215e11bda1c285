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


def transpile_measured(module, target, layout, device: str, optimization_level: int = 1):
    """The module's circuit with its trained angles bound, inputs left symbolic, ``measure_all`` (so clbit i is
    logical wire i whatever routing does), transpiled with ``layout`` to ``target``; returns it and the layout.
    Its global phase is set to 0: binding through an expression of every angle is slow and no measurement sees
    it."""
    from qiskit import transpile

    from qml.circuit.qiskit_io import to_qiskit
    from qml.noise.model import check_layout

    layout = list(check_layout(layout, module.n_wires, target.num_qubits, device))
    qc = to_qiskit(module.circuit, theta=module.theta.detach().cpu().double().numpy())
    qc.measure_all()
    out = transpile(qc, target=target, initial_layout=layout, optimization_level=optimization_level,
                    seed_transpiler=0)
    out.global_phase = 0.0
    return out, layout


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
