"""Dropping gates that are the identity for their bound angles (pruned rotations), so an exported or transpiled
circuit really loses them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qml.circuit.circuit import Circuit
from qml.circuit.gates import matrix_np
from qml.circuit.params import ref_value


def is_identity_op(op, theta: Sequence[float], atol: float = 1e-9) -> bool:
    """True when the op's matrix is exactly the identity (not just up to a phase: a controlled gate's phase
    is physical) for these trainable values; an op fed by input features never is."""
    if op.is_batched or op.gate == "id":
        return op.gate == "id"
    theta = np.array([float(t) for t in theta])
    m = matrix_np(op.gate, tuple(float(ref_value(ref, theta, None, "numpy")) for ref in op.params))
    return bool(np.allclose(m, np.eye(m.shape[0]), atol=atol))


def drop_identity_gates(circuit: Circuit, theta: Sequence[float]) -> Circuit:
    """A copy of ``circuit`` without the ops that are the identity for ``theta`` (trainable slots are kept, so
    the same ``theta`` still binds it)."""
    out = Circuit(circuit.n_wires, circuit._n_inputs, name=circuit.name)
    out.trainable_init = list(circuit.trainable_init)
    out.global_phase = circuit.global_phase
    for op in circuit.ops:
        if not is_identity_op(op, theta):
            out.append(op)
    return out
