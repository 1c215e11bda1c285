"""Placing a circuit on a device: the layout ``Device.best_layout`` picks has the highest estimated success
probability (product of 1 - error over the transpiled gates and 1 - readout error over the measured qubits), checked
against hand computations on a hand-made device and against scores the tests compute themselves with qiskit."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from qiskit import transpile

from qml.circuit import Circuit, to_qiskit
from qml.circuit.library import load_circuit
from qml.device import Device, DeviceSnapshot, GateCalibration, QubitCalibration
from qml.device.placement import placement_circuit, success_probability
from qml.errors import ConversionError, NoiseError

RING = [(q, (q + 1) % 6) for q in range(6)]  # six qubits in a ring
BAD_QUBIT, BAD_PAIR = 1, (3, 4)


def readout(q: int) -> float:
    return 0.5 if q == BAD_QUBIT else 0.01 + 0.001 * q


def cx_error(a: int, b: int) -> float:
    return 0.5 if {a, b} == set(BAD_PAIR) else 0.01 + 0.001 * min(a, b)


def sx_error(q: int) -> float:
    return 1e-4 * (q + 1)


def ring_snapshot() -> DeviceSnapshot:
    """A hand-made 6-qubit ring: qubit 1 reads out wrong half the time, cx on (3, 4) fails half the time."""
    directed = sorted(e for a, b in RING for e in ((a, b), (b, a)))
    gates = [GateCalibration(name, (q,), err, dur) for q in range(6)
             for name, err, dur in (("id", sx_error(q), 3.5e-8), ("rz", 0.0, 0.0), ("sx", sx_error(q), 3.5e-8),
                                    ("x", sx_error(q), 3.5e-8), ("measure", readout(q), 5e-6))]
    gates += [GateCalibration("cx", (a, b), cx_error(a, b), 3e-7) for a, b in directed]
    qubits = [QubitCalibration(q, 1e-4, 1e-4, 5e9, readout(q), readout(q), readout(q)) for q in range(6)]
    return DeviceSnapshot(device="hand_ring", source_backend="hand", source_kind="hand", source_backend_version=None,
                          runtime_version=None, calibrated_at=None, written_at="2026-01-01T00:00:00+00:00",
                          num_qubits=6, dt=None, basis_gates=("cx", "id", "rz", "sx", "x"), two_qubit_gate="cx",
                          coupling_map=tuple(directed), readout_source="properties", qubits=tuple(qubits),
                          gates=tuple(sorted(gates, key=lambda g: (g.gate, g.qubits))))


@pytest.fixture(scope="module")
def ring() -> Device:
    return Device(ring_snapshot())


@pytest.fixture(scope="module")
def path3() -> Circuit:
    """sx on wire 0, then cx(0, 1), cx(1, 2): a path that embeds in the ring without swaps."""
    return Circuit(3).add("sx", 0).add("cx", [0, 1]).add("cx", [1, 2])


def path3_by_hand(a: int, b: int, c: int) -> float:
    return ((1 - sx_error(a)) * (1 - cx_error(a, b)) * (1 - cx_error(b, c))
            * (1 - readout(a)) * (1 - readout(b)) * (1 - readout(c)))


def score_by_qiskit(device: Device, qc, layout) -> float:
    """The test's own score: qiskit's transpile (as ``Device.transpile``), then a plain product of errors."""
    out = transpile(qc, target=device.target, initial_layout=list(layout), optimization_level=1, seed_transpiler=0)
    p = 1.0
    for inst in out.data:
        name, qubits = inst.operation.name, [out.find_bit(q).index for q in inst.qubits]
        if name == "measure":
            p *= 1 - device.snapshot.qubit(qubits[0]).readout_error
        elif name != "barrier":
            p *= 1 - (device.snapshot.gate(name, qubits).error or 0.0)
    return p


# -- a hand-made device ------------------------------------------------------------------------------------
def test_best_layout_avoids_the_bad_readout_qubit_and_the_bad_pair(ring, path3):
    best = ring.best_layout(path3)
    assert BAD_QUBIT not in best
    assert not {tuple(sorted(p)) for p in itertools.pairwise(best)} & {BAD_PAIR}
    assert best == (0, 5, 4)  # the only bad-free paths are 0-5-4 and 4-5-0; sx is cheaper on qubit 0


def test_score_of_the_best_layout_equals_a_hand_computation(ring, path3):
    layout, score = ring.rank_layouts(path3)[0]
    assert score == pytest.approx(path3_by_hand(*layout), rel=1e-12)


@pytest.mark.parametrize("layout", [(0, 5, 4), (2, 3, 4), (0, 1, 2), (4, 5, 0)])
def test_success_probability_of_a_given_layout_equals_a_hand_computation(ring, path3, layout):
    transpiled = ring.transpile(placement_circuit(path3), layout)
    assert success_probability(ring.snapshot, transpiled) == pytest.approx(path3_by_hand(*layout), rel=1e-12)


def test_a_circuit_that_does_not_embed_is_routed_around_the_bad_qubit_and_pair(ring):
    triangle = Circuit(3).add("cx", [0, 1]).add("cx", [1, 2]).add("cx", [2, 0])  # no triangle in a ring
    layout, score = ring.rank_layouts(triangle)[0]
    assert score > 0.75  # any route that measures qubit 1 or uses cx(3, 4) is at most 0.5
    assert score == pytest.approx(score_by_qiskit(ring, placement_circuit(triangle), layout), rel=1e-12)


def test_a_wire_without_two_qubit_gates_goes_to_a_good_free_qubit(ring):
    circuit = Circuit(3).add("cx", [0, 1]).add("sx", 2).add("sx", 2)
    best = ring.best_layout(circuit)
    assert BAD_QUBIT not in best and len(set(best)) == 3


# -- a shipped device --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quito() -> Device:
    return Device.load("ibm_quito")


@pytest.fixture(scope="module")
def u3cu3():
    circuit = load_circuit("u3cu3", n_blocks=2)
    theta = np.random.default_rng(7).uniform(-math.pi, math.pi, circuit.n_trainable)
    qc = to_qiskit(circuit, theta=theta)  # inputs stay symbolic, as in rank_layouts
    qc.measure_all()
    return circuit, theta, qc


def test_quito_best_layout_scores_at_least_every_other_candidate(quito, u3cu3):
    circuit, theta, qc = u3cu3
    ranked = quito.rank_layouts(circuit, theta)
    assert len(ranked) > 1
    ours = dict(ranked)
    theirs = {layout: score_by_qiskit(quito, qc, layout) for layout in ours}
    for layout in ours:
        assert ours[layout] == pytest.approx(theirs[layout], rel=1e-9)
        assert theirs[ranked[0][0]] >= theirs[layout]
    assert quito.best_layout(circuit, theta) == ranked[0][0]


def test_quito_best_layout_is_the_best_of_all_120_layouts(quito, u3cu3):
    circuit, theta, qc = u3cu3
    best = quito.best_layout(circuit, theta)
    every = {layout: score_by_qiskit(quito, qc, layout) for layout in itertools.permutations(range(5), 4)}
    assert every[best] == max(every.values())


def test_ranking_always_holds_the_trivial_layout_and_is_sorted(quito, u3cu3):
    circuit, theta, _ = u3cu3
    ranked = quito.rank_layouts(circuit, theta, limit=2)
    assert (0, 1, 2, 3) in dict(ranked) and len(ranked) <= 3
    assert ranked == sorted(ranked, key=lambda item: (-item[1], item[0]))
    assert ranked[0][1] >= dict(ranked)[(0, 1, 2, 3)]


def test_ranking_is_deterministic(quito, u3cu3):
    circuit = u3cu3[0]
    assert quito.rank_layouts(circuit) == quito.rank_layouts(circuit)
    assert quito.best_layout(circuit, top=4) == quito.best_layout(circuit, top=4)


# -- mistakes ----------------------------------------------------------------------------------------------
def test_a_circuit_wider_than_the_device_is_a_noise_error(quito):
    with pytest.raises(NoiseError, match="6 qubits"):
        quito.best_layout(Circuit(6).add("cx", [0, 5]))


def test_a_theta_of_the_wrong_length_is_a_conversion_error(quito, u3cu3):
    with pytest.raises(ConversionError, match="theta has 3 values"):
        quito.rank_layouts(u3cu3[0], [0.1, 0.2, 0.3])


def test_a_limit_below_one_is_a_noise_error(quito, u3cu3):
    with pytest.raises(NoiseError, match="limit"):
        quito.rank_layouts(u3cu3[0], limit=0)
