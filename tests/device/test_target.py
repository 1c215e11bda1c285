"""A snapshot as qiskit sees a device: the ``Target`` qiskit transpiles to and the qiskit-aer ``NoiseModel`` of its
Aer twin."""

from __future__ import annotations

import numpy as np
import pytest

from qml.device.target import to_aer_noise_model, to_target
from qml.noise import load_snapshot


@pytest.fixture(scope="module")
def quito():
    return load_snapshot("ibm_quito")


@pytest.fixture(scope="module")
def target(quito):
    return to_target(quito)


@pytest.fixture(scope="module")
def aer_model(quito):
    return to_aer_noise_model(quito)


def aer_errors(model, kind: str) -> dict[tuple[str, tuple[int, ...]], dict]:
    return {(e["operations"][0], tuple(e["gate_qubits"][0])): e for e in model.to_dict()["errors"]
            if e["type"] == kind}


# -- Target ----------------------------------------------------------------------------------------------------
def test_target_has_the_snapshots_qubit_count(quito, target):
    assert target.num_qubits == quito.num_qubits == 5


def test_target_coupling_edges_are_the_snapshots(quito, target):
    edges = set(target.build_coupling_map(quito.two_qubit_gate).get_edges())
    assert edges == set(quito.coupling_map)
    assert {tuple(sorted(e)) for e in edges} == {(0, 1), (1, 2), (1, 3), (3, 4)}


def test_target_holds_every_calibrated_instruction_with_its_error_and_duration(quito, target):
    for cal in quito.gates:
        props = target[cal.gate][cal.qubits]
        assert props.error == cal.error and props.duration == cal.duration, cal


def test_target_basis_is_the_snapshots(quito, target):
    assert set(quito.basis_gates) <= set(target.operation_names)


def test_target_carries_t1_and_t2(quito, target):
    for q, props in zip(quito.qubits, target.qubit_properties, strict=True):
        assert (props.t1, props.t2) == (q.t1, q.t2)


@pytest.mark.parametrize("device,native", [("ibm_brisbane", "ecr"), ("ibm_torino", "cz")])
def test_target_of_current_devices_has_their_native_two_qubit_gate(device, native):
    snap = load_snapshot(device)
    target = to_target(snap)
    assert target.num_qubits == snap.num_qubits
    assert native in target.operation_names
    assert set(target[native]) == {g.qubits for g in snap.gates if g.gate == native}


# -- Aer noise model -------------------------------------------------------------------------------------------
def test_aer_model_has_a_readout_error_per_qubit_equal_to_the_confusion(quito, aer_model):
    readout = aer_errors(aer_model, "roerror")
    assert {qubits for _, qubits in readout} == {(q,) for q in range(quito.num_qubits)}
    for q in range(quito.num_qubits):
        np.testing.assert_allclose(readout["measure", (q,)]["probabilities"], quito.readout_confusion(q))


def test_aer_model_has_quantum_errors_on_the_pulsed_basis_gates(quito, aer_model):
    errors = aer_errors(aer_model, "qerror")
    for gate in ("sx", "x"):
        assert {qubits for g, qubits in errors if g == gate} == {(q,) for q in range(quito.num_qubits)}
    assert {qubits for g, qubits in errors if g == "cx"} == set(quito.coupling_map)


def test_aer_model_leaves_virtual_rz_noise_free(aer_model):
    assert "rz" not in aer_model.noise_instructions
    assert "rz" in aer_model.basis_gates


def test_aer_model_basis_gates_are_the_devices(quito, aer_model):
    assert set(aer_model.basis_gates) == set(quito.basis_gates) - {"measure", "reset", "delay"}


def test_aer_model_without_readout_has_no_readout_errors(quito):
    model = to_aer_noise_model(quito, readout=False)
    assert not aer_errors(model, "roerror") and aer_errors(model, "qerror")
