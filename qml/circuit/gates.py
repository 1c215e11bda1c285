"""The gate table: name, arity, parameter count and how the matrix is formed.

Matrices use qiskit's convention: for a gate on wires ``(w0, w1, ...)`` the row index is
``b(w0) + 2*b(w1) + ...``, so ``w0`` is the least significant bit. Every gate belongs to one family:

- ``const``: a fixed matrix;
- ``trig``: ``A + cos(f*t) * C + sin(f*t) * S`` for one angle ``t`` (rotations, phase, controlled rotations);
- ``u3``: the general single-qubit rotation U3(theta, phi, lam), optionally with one control on ``w0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

_I = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1, -1]).astype(complex)
_H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
_P0 = np.diag([1, 0]).astype(complex)
_P1 = np.diag([0, 1]).astype(complex)


def _on(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Two-qubit operator with ``low`` on the first wire (LSB) and ``high`` on the second."""
    return np.kron(high, low)


def _controlled(u: np.ndarray) -> np.ndarray:
    """Control on the first wire (LSB), ``u`` on the second."""
    return _on(_I, _P0) + _on(u, _P1)


@dataclass(frozen=True)
class GateDef:
    """One gate of the table; ``param_names`` are qiskit's names for its angles."""

    name: str
    num_qubits: int
    family: str
    param_names: tuple[str, ...] = ()
    matrix: np.ndarray | None = field(default=None, repr=False, compare=False)
    trig: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = field(default=None, repr=False, compare=False)
    controlled: bool = False
    qiskit_class: str = ""

    @property
    def num_params(self) -> int:
        return len(self.param_names)

    @property
    def dim(self) -> int:
        return 2**self.num_qubits


def _const(name: str, matrix: np.ndarray, qiskit_class: str) -> GateDef:
    n = int(round(math.log2(matrix.shape[0])))
    return GateDef(name, n, "const", (), matrix=matrix, qiskit_class=qiskit_class)


def _rot(name: str, pauli: np.ndarray, qiskit_class: str, control: bool = False) -> GateDef:
    """exp(-i t/2 P), or its controlled version."""
    eye = np.eye(pauli.shape[0], dtype=complex)
    if control:
        a, c, s = _on(_I, _P0), _on(_I, _P1), -1j * _on(pauli, _P1)
    else:
        a, c, s = np.zeros_like(eye), eye, -1j * pauli
    n = int(round(math.log2(a.shape[0])))
    return GateDef(name, n, "trig", ("theta",), trig=(a, c, s, 0.5), qiskit_class=qiskit_class)


def _phase(name: str, n: int, qiskit_class: str) -> GateDef:
    """diag(1, ..., 1, e^{i lam}): phase on the all-ones state of ``n`` qubits."""
    d = 2**n
    a = np.eye(d, dtype=complex)
    a[-1, -1] = 0
    c = np.zeros((d, d), dtype=complex)
    c[-1, -1] = 1
    return GateDef(name, n, "trig", ("lam",), trig=(a, c, 1j * c, 1.0), qiskit_class=qiskit_class)


_SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
_ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=complex)
_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)
_ECR = (_on(_I, _X) - _on(_X, _Y)) / math.sqrt(2)
_CCX = np.eye(8, dtype=complex)
_CCX[[3, 7]] = _CCX[[7, 3]]
_CSWAP = np.eye(8, dtype=complex)
_CSWAP[[3, 5]] = _CSWAP[[5, 3]]

_GATES: list[GateDef] = [
    _const("id", _I, "IGate"),
    _const("x", _X, "XGate"),
    _const("y", _Y, "YGate"),
    _const("z", _Z, "ZGate"),
    _const("h", _H, "HGate"),
    _const("s", np.diag([1, 1j]), "SGate"),
    _const("sdg", np.diag([1, -1j]), "SdgGate"),
    _const("t", np.diag([1, np.exp(1j * math.pi / 4)]), "TGate"),
    _const("tdg", np.diag([1, np.exp(-1j * math.pi / 4)]), "TdgGate"),
    _const("sx", _SX, "SXGate"),
    _const("sxdg", _SX.conj().T, "SXdgGate"),
    _rot("rx", _X, "RXGate"),
    _rot("ry", _Y, "RYGate"),
    _rot("rz", _Z, "RZGate"),
    _phase("p", 1, "PhaseGate"),
    GateDef("u2", 1, "u3", ("phi", "lam"), qiskit_class="U2Gate"),
    GateDef("u3", 1, "u3", ("theta", "phi", "lam"), qiskit_class="U3Gate"),
    GateDef("u", 1, "u3", ("theta", "phi", "lam"), qiskit_class="UGate"),
    _const("cx", _controlled(_X), "CXGate"),
    _const("cy", _controlled(_Y), "CYGate"),
    _const("cz", _controlled(_Z), "CZGate"),
    _const("ch", _controlled(_H), "CHGate"),
    _const("swap", _SWAP, "SwapGate"),
    _const("iswap", _ISWAP, "iSwapGate"),
    _const("ecr", _ECR, "ECRGate"),
    _rot("crx", _X, "CRXGate", control=True),
    _rot("cry", _Y, "CRYGate", control=True),
    _rot("crz", _Z, "CRZGate", control=True),
    _phase("cp", 2, "CPhaseGate"),
    GateDef("cu3", 2, "u3", ("theta", "phi", "lam"), controlled=True, qiskit_class="CU3Gate"),
    _rot("rxx", _on(_X, _X), "RXXGate"),
    _rot("ryy", _on(_Y, _Y), "RYYGate"),
    _rot("rzz", _on(_Z, _Z), "RZZGate"),
    _rot("rzx", _on(_X, _Z), "RZXGate"),
    _const("ccx", _CCX, "CCXGate"),
    _const("cswap", _CSWAP, "CSwapGate"),
]

GATES: dict[str, GateDef] = {g.name: g for g in _GATES}
ALIASES: dict[str, str] = {"i": "id", "cnot": "cx", "toffoli": "ccx", "phase": "p", "u1": "p", "cphase": "cp",
                           "fredkin": "cswap", "cu1": "cp"}


def gate_def(name: str) -> GateDef:
    """Look a gate up by name (case-insensitive, aliases allowed); KeyError lists what exists."""
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return GATES[key]
    except KeyError:
        raise KeyError(name) from None


def u3_matrix_np(theta: float, phi: float, lam: float) -> np.ndarray:
    """U3 as qiskit defines it (numpy, for reference and constant folding)."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]])


def matrix_np(name: str, angles: tuple[float, ...] = ()) -> np.ndarray:
    """The gate's matrix for concrete angles, in numpy complex128."""
    g = gate_def(name)
    if len(angles) != g.num_params:
        raise ValueError(f"gate {g.name} takes {g.num_params} angle(s), got {len(angles)}")
    if g.family == "const":
        return g.matrix.copy()
    if g.family == "trig":
        a, c, s, f = g.trig
        return a + math.cos(f * angles[0]) * c + math.sin(f * angles[0]) * s
    full = (math.pi / 2, *angles) if g.num_params == 2 else tuple(angles)
    u = u3_matrix_np(*full)
    return _controlled(u) if g.controlled else u
