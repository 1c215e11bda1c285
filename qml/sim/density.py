"""Exact density-matrix simulation for small circuits (up to ``MAX_WIRES`` qubits) with Pauli channels and
amplitude damping after gates and readout confusion before measurement: the reference that sampled noise
injection converges to with the Pauli channels alone.

The density matrix of a batch is a tensor (B, 2, ..., 2, 2, ..., 2): n row axes then n column axes, each in
qiskit's order (wire w is axis ``n - w`` of the rows, counting the batch axis as 0)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from qml.circuit.circuit import Circuit, Op
from qml.circuit.gates import GATES
from qml.circuit.params import ref_value
from qml.errors import InputError
from qml.sim.kernels import u3_matrices, untransformed
from qml.sim.threads import thread_scope

MAX_WIRES = 10


def _angles(op: Op, theta: Tensor, x: Tensor | None, batch: int) -> list[Tensor]:
    x = None if x is None else x.to(theta.dtype)
    return [torch.as_tensor(ref_value(ref, theta, x), dtype=theta.dtype, device=theta.device).expand(batch)
            for ref in op.params]


def op_matrices(op: Op, theta: Tensor, x: Tensor | None, batch: int, cdtype: torch.dtype) -> Tensor:
    """The op's matrix for every sample, (B, d, d), in the gate's own wire order (wires[0] least significant)."""
    g = GATES[op.gate]
    dev = theta.device
    if g.family == "const":
        return torch.as_tensor(g.matrix, dtype=cdtype, device=dev).expand(batch, -1, -1)
    angles = _angles(op, theta, x, batch)
    if g.family == "trig":
        a, c, s = (torch.as_tensor(m, dtype=cdtype, device=dev) for m in g.trig[:3])
        f = g.trig[3]
        t = (f * angles[0]).to(cdtype)[:, None, None]
        return a + torch.cos(t) * c + torch.sin(t) * s
    if g.num_params == 2:
        angles = [torch.full_like(angles[0], np.pi / 2), *angles]
    u = u3_matrices(torch.stack(angles, -1)[:, None, :])[:, 0].reshape(batch, 2, 2).to(cdtype)
    if not g.controlled:
        return u
    full = torch.zeros(batch, 4, 4, dtype=cdtype, device=dev)
    full[:, 0, 0] = full[:, 2, 2] = 1  # control is wires[0]: states with bit 0 clear are untouched
    full[:, 1::2, 1::2] = u
    return full


def _apply(rho: Tensor, mats: Tensor, axes: Sequence[int]) -> Tensor:
    """Multiply (B, d, d) matrices onto the given state axes (axes[0] is the gate's least significant wire)."""
    k, batch = len(axes), rho.shape[0]
    order = list(reversed(axes))  # C order: most significant first
    rest = [a for a in range(1, rho.dim()) if a not in order]
    moved = rho.permute(0, *rest, *order)
    shape = moved.shape
    out = torch.matmul(moved.reshape(batch, -1, 1 << k), mats.transpose(1, 2).contiguous()).reshape(shape)
    inverse = np.argsort([0, *rest, *order])
    return out.permute(*inverse)


class DensityMatrix:
    """Runs a circuit on density matrices; ``channels[i]`` (optional) is the Pauli channel after op ``i``:
    a probability vector over the 4^k Paulis on the op's wires (index = sum of P_j * 4^j, P in I, X, Y, Z), or an
    ``OpNoise`` (its table, then its per-wire amplitude damping);
    ``before[i]`` (optional, ``len(ops) + 1`` lists) holds channels with their own wires applied just before op
    ``i`` (the last list: after every op), e.g. the SWAPs routing inserts (``NoiseModel.moves``): any object with
    ``wires`` and ``table``."""

    def __init__(self, circuit: Circuit) -> None:
        if circuit.n_wires > MAX_WIRES:
            raise InputError(f"density-matrix simulation is limited to {MAX_WIRES} qubits; "
                             f"the circuit has {circuit.n_wires}")
        self.circuit = circuit

    def run(self, theta: Tensor, x: Tensor | None, channels: Sequence[np.ndarray | None] | None = None,
            cdtype: torch.dtype = torch.complex128, before: Sequence[Sequence] | None = None) -> Tensor:
        n = self.circuit.n_wires
        batch = 1 if x is None else x.shape[0]
        with thread_scope(batch << (2 * n)):
            return self._run(theta, x, channels, cdtype, before, n, batch)

    def _run(self, theta, x, channels, cdtype, before, n: int, batch: int) -> Tensor:
        dim = 1 << n
        rho = torch.zeros(batch, dim, dim, dtype=cdtype, device=theta.device)
        rho[:, 0, 0] = 1
        rho = rho.reshape(batch, *([2] * (2 * n)))
        for i, op in enumerate(self.circuit.ops):
            for extra in () if before is None else before[i]:
                rho = self._noise(rho, extra, extra.wires, n)
            u = op_matrices(op, theta, x, batch, cdtype)
            rows = [n - w for w in op.wires]
            cols = [2 * n - w for w in op.wires]
            rho = _apply(_apply(rho, u, rows), u.conj(), cols)
            channel = None if channels is None else channels[i]
            if channel is not None:
                rho = self._noise(rho, channel, op.wires, n)
        for extra in () if before is None else before[len(self.circuit.ops)]:
            rho = self._noise(rho, extra, extra.wires, n)
        return rho.reshape(batch, dim, dim)

    @classmethod
    def _noise(cls, rho: Tensor, channel, wires: Sequence[int], n: int) -> Tensor:
        """A Pauli table, or an object with ``table`` and (optionally) per-wire ``damping`` (``OpNoise``)."""
        table = getattr(channel, "table", channel)
        rho = cls._pauli_channel(rho, table, wires, n)
        for w, gamma in zip(wires, getattr(channel, "damping", ()), strict=False):
            if gamma:
                rho = _damp(rho, float(gamma), n - w, 2 * n - w)
        return rho

    @staticmethod
    def _pauli_channel(rho: Tensor, probs: np.ndarray, wires: Sequence[int], n: int) -> Tensor:
        """sum_P p_P P rho P for Paulis P = X^x Z^z on ``wires`` without matrix products: (P rho P)_rc =
        (-1)^(z.(r xor c)) rho_(r xor x, c xor x), so the channel is one flip per X-pattern x, weighted by
        C_x(d) = sum_z p_(x, z) (-1)^(z.d) with d = r xor c on each wire (2^k terms instead of 4^k)."""
        table = np.ascontiguousarray(probs, dtype=np.float64)
        out = torch.zeros_like(rho)
        for flips, m in _channel_terms(table.tobytes(), tuple(wires), n, rho.real.dtype, rho.device):
            out = out + m * (torch.flip(rho, dims=flips) if flips else rho)
        return out


@lru_cache(maxsize=8192)
def _channel_terms(table_bytes: bytes, wires: tuple[int, ...], n: int, dtype: torch.dtype, device: torch.device
                   ) -> list[tuple[tuple[int, ...], Tensor]]:
    """The (flipped axes, weights broadcast over rho) of each X-pattern of a Pauli channel, built once per
    (table, wires, register, dtype, device): a search applies the same few channels thousands of times. Built
    outside any torch.func transform, like the engine's other cached constants."""
    with untransformed():
        return _build_channel_terms(table_bytes, wires, n, dtype, device)


def _build_channel_terms(table_bytes: bytes, wires: tuple[int, ...], n: int, dtype: torch.dtype,
                         device: torch.device) -> list[tuple[tuple[int, ...], Tensor]]:
    probs = np.frombuffer(table_bytes, dtype=np.float64)
    k = len(wires)
    xz = [(0, 0), (1, 0), (1, 1), (0, 1)]  # I, X, Y, Z -> (x, z)
    coeff = np.zeros((2**k, 2**k))  # [x pattern, d pattern]
    for index, p in enumerate(probs):
        if p == 0:
            continue
        x = z = 0
        for j in range(k):
            bx, bz = xz[(index // 4**j) % 4]
            x |= bx << j
            z |= bz << j
        for d in range(2**k):
            coeff[x, d] += p * (-1) ** bin(z & d).count("1")
    terms = []
    for x in range(2**k):
        if not coeff[x].any():
            continue
        shape = [1] * (1 + 2 * n)
        weights = torch.as_tensor(coeff[x], dtype=dtype).reshape([2] * k)  # axis j (C order) is bit k-1-j of d
        weights = weights.permute(*reversed(range(k))) if k > 1 else weights  # axis j = bit j = wires[j]
        full = torch.zeros([2] * (2 * k), dtype=dtype)
        for bits in range(4**k):
            r = [(bits >> j) & 1 for j in range(k)]
            c = [(bits >> (k + j)) & 1 for j in range(k)]
            full[tuple(r + c)] = weights[tuple(a ^ b for a, b in zip(r, c, strict=True))]
        axes = [n - w for w in wires] + [2 * n - w for w in wires]
        order = np.argsort(axes)
        for a in axes:
            shape[a] = 2
        m = full.permute(*order.tolist()).reshape(shape).to(device)
        flips = tuple(a for j, w in enumerate(wires) if x >> j & 1 for a in (n - w, 2 * n - w))
        terms.append((flips, m))
    return terms


def _damp(rho: Tensor, gamma: float, row: int, col: int) -> Tensor:
    """Amplitude damping's non-unital part on one qubit (its axes ``row``, ``col``): rho + gamma/2 Z (x) Tr_q rho,
    i.e. the weight gamma of the qubit's reduced trace moved from |1><1| to |0><0|. After the Pauli twirl of the
    same relaxation it completes qiskit-aer's thermal relaxation: ⟨Z⟩ -> (1 - gamma) ⟨Z⟩ + gamma."""
    moved = rho.movedim((row, col), (-2, -1))
    reduced = moved[..., 0, 0] + moved[..., 1, 1]
    sign = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=rho.real.dtype, device=rho.device)
    return (moved + (gamma / 2) * reduced[..., None, None] * sign).movedim((-2, -1), (row, col))


def readout_probabilities(rho: Tensor, n_wires: int, confusion: Sequence[np.ndarray] | None = None) -> Tensor:
    """Measured basis-state probabilities (B, 2^n): the diagonal of rho, then each wire's readout confusion."""
    probs = torch.diagonal(rho, dim1=1, dim2=2).real
    return probs if confusion is None else apply_confusion(probs, n_wires, confusion)


def apply_confusion(probs: Tensor, n_wires: int, confusion: Sequence[np.ndarray | None]) -> Tensor:
    """Basis-state probabilities (B, 2^n) as read out through ``confusion[w][prepared, measured]`` per wire."""
    batch = probs.shape[0]
    t = probs.reshape(batch, *([2] * n_wires))
    for w, m in enumerate(confusion):
        if m is None:
            continue
        mat = torch.as_tensor(np.asarray(m), dtype=t.dtype, device=t.device)
        axis = n_wires - w
        t = torch.movedim(torch.tensordot(t, mat, dims=([axis], [0])), -1, axis)
    return t.reshape(batch, -1)
