"""The gate table against qiskit: numpy matrices and the engine's embedded unitaries equal qiskit's Operator."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest
import qiskit.circuit.library as qlib
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator

import qml
from qml.circuit.gates import ALIASES, GATES, gate_def, matrix_np

ALL_NAMES = sorted(GATES) + sorted(ALIASES)


def _angles(name: str, seed: int = 0) -> tuple[float, ...]:
    g = gate_def(name)
    rng = np.random.default_rng(zlib.crc32(g.name.encode()) + seed)
    return tuple(float(a) for a in rng.uniform(-np.pi, np.pi, g.num_params))


def _qiskit_gate(name: str, angles):
    return getattr(qlib, gate_def(name).qiskit_class)(*angles)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_matrix_np_equals_qiskit_operator(name):
    angles = _angles(name)
    expected = Operator(_qiskit_gate(name, angles)).data
    np.testing.assert_allclose(matrix_np(name, angles), expected, atol=1e-12)


@pytest.mark.parametrize("name", ["rx", "p", "u3", "cu3", "crz", "rzz"])
def test_matrix_np_equals_qiskit_at_special_angles(name):
    g = gate_def(name)
    for value in (0.0, np.pi, -np.pi / 2, 2 * np.pi, 7.5):
        angles = (value,) * g.num_params
        np.testing.assert_allclose(matrix_np(name, angles), Operator(_qiskit_gate(name, angles)).data, atol=1e-12)


@pytest.mark.parametrize("alias,target,qiskit_class", [
    ("u1", "p", "U1Gate"), ("cu1", "cp", "CU1Gate"), ("cnot", "cx", "CXGate"), ("toffoli", "ccx", "CCXGate"),
    ("fredkin", "cswap", "CSwapGate"), ("i", "id", "IGate"), ("phase", "p", "PhaseGate"),
    ("cphase", "cp", "CPhaseGate")])
def test_alias_resolves_to_gate_with_qiskit_alias_matrix(alias, target, qiskit_class):
    assert gate_def(alias).name == target
    angles = _angles(alias)
    np.testing.assert_allclose(matrix_np(alias, angles), Operator(getattr(qlib, qiskit_class)(*angles)).data,
                               atol=1e-12)


def test_every_alias_is_covered_by_the_alias_test():
    assert set(ALIASES) == {"u1", "cu1", "cnot", "toffoli", "fredkin", "i", "phase", "cphase"}


def test_gate_lookup_is_case_insensitive():
    assert gate_def("CX").name == "cx"
    assert gate_def("Toffoli").name == "ccx"


def test_matrix_np_rejects_wrong_angle_count():
    with pytest.raises(ValueError, match=r"rx takes 1 angle\(s\), got 2"):
        matrix_np("rx", (0.1, 0.2))


def test_gate_arity_and_param_names_match_qiskit():
    for name, g in GATES.items():
        qgate = _qiskit_gate(name, (0.3,) * g.num_params)
        assert qgate.num_qubits == g.num_qubits, name
        assert len(qgate.params) == g.num_params, name
        assert qgate.name == name, name


def _wire_choices(k: int):
    return list(itertools.permutations(range(3), k))


@pytest.mark.parametrize("name", ALL_NAMES)
def test_engine_unitary_of_one_gate_in_three_qubits_equals_qiskit(name):
    """Every placement of the gate on a 3-qubit register, so the embedding order is tested."""
    g = gate_def(name)
    angles = _angles(name, seed=1)
    for wires in _wire_choices(g.num_qubits):
        c = qml.Circuit(3)
        c.add(name, wires, *angles)
        got = qml.QuantumModule(c, dtype=torch.complex128).unitary().detach().numpy()
        qc = QuantumCircuit(3)
        qc.append(_qiskit_gate(name, angles), list(wires))
        np.testing.assert_allclose(got, Operator(qc).data, atol=1e-12, err_msg=f"{name} on {wires}")


@pytest.mark.parametrize("name", sorted(n for n, g in GATES.items() if g.num_params))
def test_engine_unitary_with_trainable_and_feature_angles_equals_qiskit(name):
    """The same gate with its angles from a trainable slot (scaled) and from a feature (scaled, offset)."""
    g = GATES[name]
    wires = tuple(range(g.num_qubits))[::-1]
    c = qml.Circuit(3, n_inputs=1)
    params = [qml.Trainable(init=0.4 + j, scale=1.5, offset=-0.2) if j % 2 == 0 else qml.Input(0, -0.8, 0.3)
              for j in range(g.num_params)]
    c.add(name, wires, *params)
    x = 1.1
    values = [1.5 * (0.4 + j) - 0.2 if j % 2 == 0 else -0.8 * x + 0.3 for j in range(g.num_params)]
    got = qml.QuantumModule(c, dtype=torch.complex128).unitary(torch.tensor([x])).detach().numpy()
    qc = QuantumCircuit(3)
    qc.append(_qiskit_gate(name, values), list(wires))
    np.testing.assert_allclose(got, Operator(qc).data, atol=1e-12)
