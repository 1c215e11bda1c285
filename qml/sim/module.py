"""``QuantumModule``: a circuit as a ``torch.nn.Module`` mapping features (B, F) to measurements."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from qml.circuit.circuit import Circuit
from qml.errors import InputError
from qml.sim import kernels
from qml.sim.engine import REAL_OF, StatevectorEngine
from qml.sim.measure import Measurement, resolve_measurement


class QuantumModule(torch.nn.Module):
    """Trainable angles live in ``self.theta``; features come in per sample. ``dtype`` is the state's complex
    dtype (complex64 default, complex128 on request); ``module.double()`` also switches to complex128.
    ``diff_method``: ``"backprop"`` keeps one state per fused block for the backward pass; ``"adjoint"`` keeps a
    few and uncomputes the rest (``qml.sim.engine._Adjoint``; any loss of the output state, first derivatives
    only); ``"auto"`` (default) takes the adjoint method when backprop would keep more than 256 MiB of states."""

    def __init__(self, circuit: Circuit, measure: str | Measurement = "z", dtype: torch.dtype = torch.complex64,
                 fusion: dict[bool, int] | None = None, diff_method: str = "auto"):
        super().__init__()
        if dtype not in REAL_OF:
            raise InputError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
        self.circuit = circuit
        self.measurement = resolve_measurement(measure)
        self.n_outputs = self.measurement.out_features(circuit.n_wires)
        self.engine = StatevectorEngine(circuit, fusion, diff_method)
        init = torch.empty(circuit.n_trainable, dtype=torch.float64).uniform_(-math.pi, math.pi)
        for i, v in enumerate(circuit.trainable_init):
            if v is not None:
                init[i] = v
        self.theta = torch.nn.Parameter(init.to(REAL_OF[dtype]))

    @property
    def n_wires(self) -> int:
        return self.circuit.n_wires

    @property
    def n_inputs(self) -> int:
        return self.engine.n_inputs

    def extra_repr(self) -> str:
        return (f"wires={self.n_wires}, inputs={self.n_inputs}, trainable={self.theta.numel()}, "
                f"ops={len(self.circuit)}, measure={self.measurement}")

    def check_input(self, x: Tensor | np.ndarray | None) -> tuple[Tensor | None, bool]:
        """Validate features; returns them as a (B, F) tensor and whether the caller passed one sample."""
        f = self.n_inputs
        if x is None:
            if f:
                raise InputError(f"this circuit takes {f} input features per sample; got none")
            return None, False
        if not isinstance(x, Tensor):
            try:
                x = torch.as_tensor(np.asarray(x, dtype=np.float64))
            except (TypeError, ValueError) as exc:
                raise InputError(f"input features must be numeric of shape (batch, {f}): {exc}") from None
        if x.is_complex() or not (x.is_floating_point() or x.dtype in (torch.int32, torch.int64)):
            raise InputError(f"input features must be real numbers, got dtype {x.dtype}")
        single = x.dim() == 1
        if single:
            x = x.unsqueeze(0)
        if x.dim() != 2 or x.shape[1] != f:
            raise InputError(f"input features must have shape (batch, {f}) for this circuit, got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise InputError("input batch is empty")
        finite = torch.isfinite(x)
        if not kernels.transformed(x) and not bool(finite.all()):
            b, j = (int(v) for v in (~finite).nonzero()[0])
            raise InputError(f"input features must be finite: sample {b}, feature {j} is {x[b, j].item()}")
        return x.to(device=self.theta.device, dtype=self.theta.dtype), single

    def statevector(self, x: Tensor | None = None, initial_state: Tensor | None = None) -> Tensor:
        """Final states (B, 2**n), qiskit's amplitude order."""
        x, single = self.check_input(x)
        if initial_state is not None:
            initial_state = self._check_state(initial_state, x)
        state = self.engine(self.theta, x, initial_state)
        return state[0] if single else state

    def forward(self, x: Tensor | None = None) -> Tensor:
        x, single = self.check_input(x)
        out = self.measurement(self.engine(self.theta, x), self.n_wires)
        return out[0] if single else out

    def _check_state(self, state: Tensor, x: Tensor | None) -> Tensor:
        dim = 1 << self.n_wires
        if state.dim() == 1:
            state = state.unsqueeze(0)
        if state.dim() != 2 or state.shape[1] != dim:
            raise InputError(f"initial_state must have shape (batch, {dim}), got {tuple(state.shape)}")
        if x is not None and state.shape[0] not in (1, x.shape[0]):
            raise InputError(f"initial_state batch {state.shape[0]} does not match the features' {x.shape[0]}")
        if x is not None and state.shape[0] == 1:
            state = state.expand(x.shape[0], -1)
        return state

    def unitary(self, x: Tensor | None = None) -> Tensor:
        """The circuit's unitary (2**n, 2**n) for one sample of features (qiskit's convention)."""
        x, _ = self.check_input(x)
        if x is not None:
            if x.shape[0] != 1:
                raise InputError(f"unitary() takes one sample of features, got {x.shape[0]}")
        dim = 1 << self.n_wires
        eye = torch.eye(dim, dtype=self.engine_dtype, device=self.theta.device)
        cols = self.engine(self.theta, None if x is None else x.expand(dim, -1), eye)
        return cols.transpose(0, 1)

    @property
    def engine_dtype(self) -> torch.dtype:
        return torch.complex128 if self.theta.dtype == torch.float64 else torch.complex64

    def to_qiskit(self, bind: bool = False, x: Tensor | None = None):
        """The circuit as a qiskit ``QuantumCircuit``; ``bind=True`` substitutes the current angles
        (and the features of one sample ``x`` when given)."""
        from qml.circuit.qiskit_io import to_qiskit

        theta = self.theta.detach().cpu().double().numpy() if bind else None
        if x is not None:
            x, _ = self.check_input(x)
            x = x[0].detach().cpu().double().numpy()
        return to_qiskit(self.circuit, theta=theta, x=x)
