"""Dropping the gates that are the identity for their bound angles (``qml.circuit.simplify``). Only an exact
identity is dropped, never one up to a phase, because a controlled gate's phase is physical; the reference is
qiskit's ``Operator`` of the same gate, and of the whole circuit before and after."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit.circuit import library as lib
from qiskit.quantum_info import Operator

import qml
from qml.circuit.simplify import drop_identity_gates, is_identity_op

A = 0.7
TWO_PI = 2 * math.pi

# (gate, angles, the same gate built in qiskit)
IDENTITIES = [
    ("id", (), lib.IGate()),
    ("rx", (0.0,), lib.RXGate(0.0)),
    ("ry", (0.0,), lib.RYGate(0.0)),
    ("rz", (0.0,), lib.RZGate(0.0)),
    ("rx", (2 * TWO_PI,), lib.RXGate(2 * TWO_PI)),
    ("p", (0.0,), lib.PhaseGate(0.0)),
    ("p", (TWO_PI,), lib.PhaseGate(TWO_PI)),
    ("u3", (0.0, 0.0, 0.0), lib.U3Gate(0.0, 0.0, 0.0)),
    ("u3", (0.0, A, -A), lib.U3Gate(0.0, A, -A)),
    ("cu3", (0.0, 0.0, 0.0), lib.CU3Gate(0.0, 0.0, 0.0)),
    ("cu3", (0.0, A, -A), lib.CU3Gate(0.0, A, -A)),
    ("crx", (0.0,), lib.CRXGate(0.0)),
    ("crz", (0.0,), lib.CRZGate(0.0)),
    ("cp", (0.0,), lib.CPhaseGate(0.0)),
    ("rzz", (0.0,), lib.RZZGate(0.0)),
]
NOT_IDENTITIES = [
    ("rx", (1e-3,), lib.RXGate(1e-3)),
    ("rx", (TWO_PI,), lib.RXGate(TWO_PI)),          # -I: the identity only up to a phase
    ("u3", (0.0, A, A), lib.U3Gate(0.0, A, A)),     # diag(1, e^{2iA})
    ("u3", (0.3, 0.0, 0.0), lib.U3Gate(0.3, 0.0, 0.0)),
    ("cu3", (0.0, A, A), lib.CU3Gate(0.0, A, A)),
    ("cu3", (TWO_PI, 0.0, 0.0), lib.CU3Gate(TWO_PI, 0.0, 0.0)),  # controlled -I: a Z on the control
    ("crz", (TWO_PI,), lib.CRZGate(TWO_PI)),
    ("cx", (), lib.CXGate()),
]


def ident(case) -> str:
    gate, angles, _ = case
    return f"{gate}({', '.join(f'{a:g}' for a in angles)})"


def single_op(gate: str, n_angles: int):
    """The op of a circuit holding just ``gate`` with trainable angles 0..n_angles-1."""
    c = qml.Circuit(2)
    c.add(gate, (0, 1) if gate in ("cu3", "crx", "crz", "cp", "rzz", "cx") else 0)
    assert c.n_trainable == n_angles
    return c.ops[0]


def exactly_identity(gate) -> bool:
    data = Operator(gate).data
    return bool(np.allclose(data, np.eye(data.shape[0]), atol=1e-12))


@pytest.mark.parametrize("case", IDENTITIES, ids=ident)
def test_a_gate_that_is_exactly_the_identity_is_dropped(case):
    gate, angles, reference = case
    assert exactly_identity(reference)
    assert is_identity_op(single_op(gate, len(angles)), angles)


@pytest.mark.parametrize("case", NOT_IDENTITIES, ids=ident)
def test_a_gate_that_is_not_exactly_the_identity_is_kept(case):
    gate, angles, reference = case
    assert not exactly_identity(reference)
    assert not is_identity_op(single_op(gate, len(angles)), angles)


def test_a_constant_zero_rotation_is_dropped():
    c = qml.Circuit(1)
    c.add("rx", 0, 0.0)
    assert is_identity_op(c.ops[0], [])


@pytest.mark.parametrize("gate", ["rx", "crz", "u3"])
def test_an_op_fed_by_an_input_feature_is_never_dropped(gate):
    c = qml.Circuit(2)
    c.add(gate, (0, 1) if gate == "crz" else 0, qml.Input(0))
    assert not is_identity_op(c.ops[0], [0.0] * c.n_trainable)


def test_input_encoder_gates_stay_when_every_angle_is_zero():
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    dropped = drop_identity_gates(c, [0.0] * c.n_trainable)
    assert dropped.ops == c.ops[:16]


def circuit_with_identities() -> tuple[qml.Circuit, list[float], list[int]]:
    """Two U3 + CU3 blocks after an encoder, with angles that make four of the trainable gates the identity;
    returns the circuit, the angles and the indices of those four ops."""
    c = qml.Circuit(3, name="blocks")
    c.encode("3_ry")
    for _ in range(2):
        c.layer("u3").ring("cu3")
    c.global_phase = 0.4
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.3, 2.5, c.n_trainable).tolist()
    trainable_ops = [i for i, op in enumerate(c.ops) if op.params[0].kind == "trainable"]
    identity = [trainable_ops[0], trainable_ops[4], trainable_ops[7], trainable_ops[9]]
    for k, i in enumerate(identity):
        t, phi, lam = (ref.index for ref in c.ops[i].params)
        theta[t], theta[phi], theta[lam] = (0.0, A, -A) if k < 2 else (0.0, 0.0, 0.0)
    return c, theta, identity


def test_drop_removes_exactly_the_identity_ops():
    c, theta, identity = circuit_with_identities()
    dropped = drop_identity_gates(c, theta)
    assert dropped.ops == [op for i, op in enumerate(c.ops) if i not in identity]


def test_dropped_circuit_has_the_same_operator_as_the_original():
    c, theta, _ = circuit_with_identities()
    x = [0.3, -1.1, 2.0]
    original = Operator(qml.to_qiskit(c, theta=theta, x=x))
    dropped = Operator(qml.to_qiskit(drop_identity_gates(c, theta), theta=theta, x=x))
    assert dropped == original
    assert np.allclose(dropped.data, original.data, atol=1e-12)  # phase included


def test_dropped_circuit_keeps_the_trainable_slots_name_and_phase():
    c, theta, _ = circuit_with_identities()
    dropped = drop_identity_gates(c, theta)
    assert dropped.trainable_init == c.trainable_init and dropped.n_inputs == c.n_inputs
    assert (dropped.n_wires, dropped.name, dropped.global_phase) == (3, "blocks", 0.4)


def test_drop_leaves_the_original_circuit_unchanged():
    c, theta, _ = circuit_with_identities()
    ops = list(c.ops)
    drop_identity_gates(c, theta)
    assert c.ops == ops
