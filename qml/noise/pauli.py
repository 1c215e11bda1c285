"""Pauli channels as probability tables over the 4^k Paulis on k qubits (index = sum of P_j * 4^j with
P in I=0, X=1, Y=2, Z=3): depolarizing and Pauli-twirled thermal relaxation, composition, scaling."""

from __future__ import annotations

import math

import numpy as np

# symplectic bits (x, z) of I, X, Y, Z; the product of two Paulis (up to phase) xors them
_BITS = [(0, 0), (1, 0), (1, 1), (0, 1)]
_FROM_BITS = {b: i for i, b in enumerate(_BITS)}
MUL = np.array([[_FROM_BITS[(_BITS[a][0] ^ _BITS[b][0], _BITS[a][1] ^ _BITS[b][1])] for b in range(4)]
                for a in range(4)])


def identity(k: int) -> np.ndarray:
    t = np.zeros(4**k)
    t[0] = 1.0
    return t


def depolarizing(k: int, p: float) -> np.ndarray:
    """With probability ``p`` one of the 4^k - 1 non-identity Paulis, uniformly."""
    t = np.full(4**k, p / (4**k - 1))
    t[0] = 1.0 - p
    return t


def depolarizing_from_error(k: int, error: float) -> float:
    """Probability ``p`` of a uniform non-identity Pauli whose average gate infidelity is ``error``
    (r = p * d / (d + 1) with d = 2^k), capped at the fully depolarizing value."""
    d = 2**k
    return min(error * (d + 1) / d, 1.0 - 1.0 / d**2)


def thermal(duration: float, t1: float, t2: float) -> np.ndarray:
    """Pauli twirl of amplitude and phase damping over ``duration``: p_x = p_y = (1 - e^{-t/T1}) / 4,
    p_z = (1 - e^{-t/T2}) / 2 - p_x (T2 capped at 2 T1)."""
    if duration <= 0 or not (t1 > 0 and t2 > 0):
        return identity(1)
    t2 = min(t2, 2 * t1)
    px = (1 - math.exp(-duration / t1)) / 4
    pz = max((1 - math.exp(-duration / t2)) / 2 - px, 0.0)
    return np.array([1 - 2 * px - pz, px, px, pz])


def relaxation(duration: float, t1: float, t2: float) -> float:
    """The amplitude-damping probability gamma = 1 - e^{-t/T1} over ``duration``: the non-unital part of thermal
    relaxation that its Pauli twirl (``thermal``) leaves out (zero wherever ``thermal`` is the identity)."""
    if duration <= 0 or not (t1 > 0 and t2 > 0):
        return 0.0
    return 1 - math.exp(-duration / t1)


def infidelity(table: np.ndarray) -> float:
    """Average gate infidelity of a Pauli channel: (1 - p_I) * d / (d + 1)."""
    d = math.isqrt(len(table))
    return (1.0 - table[0]) * d / (d + 1)


def _index_mul(a: int, b: int, k: int) -> int:
    out = 0
    for j in range(k):
        out += MUL[(a // 4**j) % 4, (b // 4**j) % 4] * 4**j
    return out


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The channel ``b`` after ``a`` (for Pauli channels the order does not matter)."""
    k = int(round(math.log(len(a), 4)))
    out = np.zeros_like(a)
    for i in np.flatnonzero(a):
        for j in np.flatnonzero(b):
            out[_index_mul(i, j, k)] += a[i] * b[j]
    return out


def on_wire(table1: np.ndarray, j: int, k: int) -> np.ndarray:
    """A one-qubit table acting on position ``j`` of a k-qubit op."""
    out = np.zeros(4**k)
    for p in range(4):
        out[p * 4**j] = table1[p]
    return out


def scaled(table: np.ndarray, factor: float) -> np.ndarray:
    """Every error probability times ``factor`` (capped so the identity keeps a non-negative share)."""
    errors = table.copy()
    errors[0] = 0.0
    total = errors.sum() * factor
    if total > 1.0:
        factor /= total
    out = errors * factor
    out[0] = 1.0 - out.sum()
    return out
