"""Named input encoders: which rotation gate on which wire takes which feature.

``4x4_ryzxy`` is QuantumNAS's encoder for 16 features on 4 qubits (layers RY, RZ, RX, RY). A name made of
rotation letters after an optional ``<wires>x<layers>_`` prefix, e.g. ``ryzxy`` or ``ry``, cycles 16
features over the wires layer by layer (``max(16, n_wires)`` gates, so every wire gets at least one);
``<features>_<letters>``, e.g. ``10_ryzxy`` (TorchQuantum's encoder for the 10 PCA features of vowel4), cycles
that many features instead.
"""

from __future__ import annotations

import re

from qml.errors import CircuitError

_LETTERS = {"x": "rx", "y": "ry", "z": "rz"}


def _gates_from(spec: str, name: str) -> tuple[str, ...]:
    if not re.fullmatch(r"r[xyz]+", spec):
        raise CircuitError(f"unknown encoder {name!r}: expected '4x4_ryzxy' or rotation letters like 'ryzxy'")
    return tuple(_LETTERS[c] for c in spec[1:])


def encoder_ops(name: str, n_wires: int) -> list[tuple[str, int, int]]:
    """(gate, wire, feature) triples of encoder ``name`` on ``n_wires`` wires."""
    counted = re.fullmatch(r"(\d+)_(r[xyz]+)", name)
    if counted:
        if int(counted.group(1)) < 1:
            raise CircuitError(f"encoder {name!r} must take at least one feature")
        return cycled(n_wires, int(counted.group(1)), _gates_from(counted.group(2), name))
    m = re.fullmatch(r"(?:(\d+)x(\d+)_)?(\w+)", name)
    if m is None:
        raise CircuitError(f"unknown encoder {name!r}: expected '4x4_ryzxy' or rotation letters like 'ryzxy'")
    gates = _gates_from(m.group(3), name)
    if m.group(1):
        wires, layers = int(m.group(1)), int(m.group(2))
        if wires != n_wires:
            raise CircuitError(f"encoder {name!r} is for {wires} wires, the circuit has {n_wires}")
        if layers != len(gates):
            raise CircuitError(f"encoder {name!r} names {layers} layers but {len(gates)} rotations")
        return cycled(n_wires, wires * layers, gates)
    return cycled(n_wires, 16, gates)


def cycled(n_wires: int, n_features: int, gates: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """Gate j (of ``max(n_features, n_wires)``) on wire j % n_wires, feature j % n_features, with gate
    ``gates[(j // n_wires) % len(gates)]``."""
    n = max(n_features, n_wires)
    return [(gates[(j // n_wires) % len(gates)], j % n_wires, j % n_features) for j in range(n)]
