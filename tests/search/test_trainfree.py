"""The training-free strategy (Élivágar-style): Clifford noise resilience against qiskit-aer's density matrix with
the same channels, representational capacity against hand computations, and a tiny ``qml search --strategy
trainfree`` end to end (the winner is the best-scored candidate, every candidate scored once, on connected
qubits, and a resumed search scores nothing again)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import qml
from qml.circuit.library import load_circuit
from qml.device import Device
from qml.noise import NoiseModel, load_snapshot
from qml.runs import SearchConfig, search_run
from qml.runs.evaluate import evaluate_run
from qml.search.trainfree import (
    TrainFreeConfig,
    clifford_noise_resilience,
    clifford_replica_circuit,
    representational_capacity,
)
from tests.reference import error_free


@pytest.fixture(scope="module")
def quito():
    return load_snapshot("ibm_quito")


@pytest.fixture(scope="module")
def circuit():
    c = qml.Circuit(3)
    c.add("ry", 0, qml.Input(0)).add("rx", 1, qml.Input(1)).add("h", 2)
    c.add("cu3", (0, 1), None, None, None).add("rz", 2, None).add("cx", (1, 2)).add("cx", (2, 0)).add("u3", 1, None,
                                                                                                          None, None)
    return c


def aer_probabilities(replica, rows, noise, circuit) -> np.ndarray:
    """(R, 2^n) read-out probabilities of the replica with ``circuit``'s channels, from qiskit-aer's density
    matrix with the channels as qiskit-aer errors (``tests.reference.noise_instruction``: the Pauli channel, then
    the amplitude damping), each wire then read through its confusion."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import CXGate, UGate
    from qiskit_aer import AerSimulator

    from tests.reference import noise_instruction

    def error(channel):
        return noise_instruction(channel.table, channel.damping)

    channels, moves, n = noise.channels(circuit), noise.moves(circuit), circuit.n_wires
    circuits = []
    for row in rows:
        qc = QuantumCircuit(n)
        for i, op in enumerate(replica.ops):
            for extra in moves[i]:
                qc.append(error(extra), list(extra.wires))
            gate = UGate(*(row[p.index] for p in op.params)) if op.gate == "u3" else CXGate()
            qc.append(gate, list(op.wires))
            qc.append(error(channels[i]), list(op.wires))
        for extra in moves[-1]:
            qc.append(error(extra), list(extra.wires))
        qc.save_probabilities()
        circuits.append(qc)
    result = AerSimulator(method="density_matrix").run(circuits).result()
    probs = np.array([result.data(i)["probabilities"] for i in range(len(circuits))])
    for w, m in enumerate(noise.confusion(circuit)):  # P(read) = sum over prepared of P(prepared) m[prepared, read]
        t = probs.reshape(len(rows), *([2] * n))
        axis = n - w  # wire w is bit w: the axis counted from the last
        probs = np.moveaxis(np.tensordot(t, m, axes=([axis], [0])), -1, axis).reshape(len(rows), -1)
    return probs


def test_replicas_keep_the_wires_and_make_every_one_qubit_gate_a_three_angle_input(circuit):
    replica = clifford_replica_circuit(circuit)
    assert [op.wires for op in replica.ops] == [op.wires for op in circuit.ops]
    assert [op.gate for op in replica.ops] == ["u3", "u3", "u3", "cx", "u3", "cx", "cx", "u3"]
    assert replica.n_inputs == 3 * 5 and replica.n_trainable == 0


def test_clifford_noise_resilience_is_one_minus_the_tvd_aer_gives_with_the_same_channels(circuit, quito):
    noise = NoiseModel(quito, [0, 2, 3])  # 0-2 and 2-3 are not coupled: routing SWAPs are in the channels
    assert sum(map(len, noise.moves(circuit))) > 0
    replica, replicas = clifford_replica_circuit(circuit), 6
    rows = np.random.default_rng(4).integers(0, 4, (replicas, replica.n_inputs)) * (math.pi / 2)
    noisy = aer_probabilities(replica, rows, noise, circuit)
    clean = aer_probabilities(replica, rows, NoiseModel(error_free(quito), [0, 2, 3]), circuit)
    expected = 1 - 0.5 * np.abs(noisy - clean).sum(1).mean()
    mine = clifford_noise_resilience(circuit, noise, replicas, np.random.default_rng(4))
    assert mine == pytest.approx(expected, abs=1e-10)
    assert 0.5 < mine < 0.99  # the noise shows, without swamping the outputs


def test_clifford_noise_resilience_is_one_on_an_error_free_device(circuit, quito):
    noise = NoiseModel(error_free(quito), [0, 2, 3])
    assert clifford_noise_resilience(circuit, noise, 8, np.random.default_rng(0)) == pytest.approx(1.0, abs=1e-12)


def test_capacity_is_one_when_each_class_has_its_own_basis_state():
    """RX(x) on one wire: class 0 at x = 0 (|0>), class 1 at x = pi (|1>): similarity 1 within a class, 0 across."""
    c = qml.Circuit(1).add("rx", 0, qml.Input(0))
    x, y = torch.tensor([[0.0], [0.0], [math.pi], [math.pi]]), torch.tensor([0, 0, 1, 1])
    assert representational_capacity(c, x, y, 1, 4, np.random.default_rng(0)) == pytest.approx(1.0)


def test_capacity_of_a_circuit_blind_to_its_input_counts_the_within_class_pairs_it_misses():
    """Every state equal: no similarity exceeds the mean, so the 4 ordered within-class pairs of 4 inputs
    (2 per class) are missed: 1 - 4 / 16."""
    c = qml.Circuit(2).add("ry", 0, None).add("cx", (0, 1)).add("rx", 1, None)
    x, y = torch.zeros(4, 0), torch.tensor([0, 0, 1, 1])
    assert representational_capacity(c, x, y, 2, 3, np.random.default_rng(0)) == pytest.approx(1 - 4 / 16)


def test_capacity_reads_what_is_measured_not_the_state():
    """RX(x) then H: x = 0 gives |+>, x = pi gives -i|->, orthogonal states that the Z measurement cannot tell
    apart (both 50/50): every similarity is 1, none exceeds the mean, and the 4 within-class pairs are missed —
    1 - 4 / 16, where a state overlap would have scored 1."""
    c = qml.Circuit(1).add("rx", 0, qml.Input(0)).add("h", 0)
    x, y = torch.tensor([[0.0], [0.0], [math.pi], [math.pi]]), torch.tensor([0, 0, 1, 1])
    assert representational_capacity(c, x, y, 1, 2, np.random.default_rng(0)) == pytest.approx(1 - 4 / 16)


def test_train_free_budgets_are_checked():
    with pytest.raises(qml.InputError, match="train_free.replicas must be a positive integer"):
        TrainFreeConfig(replicas=0)
    with pytest.raises(qml.InputError, match="strategy must be one of evolution, trainfree"):
        SearchConfig(strategy="élivágar")


# -- the strategy in a search ----------------------------------------------------------------------------------------
TINY = SearchConfig(task="digits2", space_options={"n_blocks": 2}, strategy="trainfree",
                    train_free=TrainFreeConfig(candidates=6, replicas=4, samples_per_class=3, angle_draws=2),
                    retrain_epochs=1, prune_ratio=None, shots=256)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    run = tmp_path_factory.mktemp("trainfree") / "run"
    return run, search_run(run, TINY, quiet=True)


def test_the_winner_is_the_best_scored_of_the_candidates_each_scored_once_on_connected_qubits(searched):
    run, results = searched
    rows = [json.loads(line) for line in (run / "evaluations.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and len({r["fingerprint"] for r in rows}) == 6
    best_of_layout = []  # the finalists: the human design (the first candidate), then the best scored of each layout
    for r in sorted(rows, key=lambda r: -r["fitness"]):
        if r["layout"] not in [t["layout"] for t in best_of_layout]:
            best_of_layout.append(r)
    top = ([rows[0]] + [r for r in best_of_layout if r is not rows[0]])[:3]
    finalists = results["winner"]["finalists"]
    assert [(f["gene"], f["layout"]) for f in finalists] == [(r["gene"], r["layout"]) for r in top]
    # each finalist's noisy validation accuracy, read again through `qml eval`'s path on its own run folder
    evaluations = [evaluate_run(run / f["run"], "torch:ibm_quito", split="valid") for f in finalists]
    noisy = [e.accuracy for e in evaluations]
    assert [f["valid_noisy_accuracy"] for f in finalists] == pytest.approx(noisy, abs=1e-12)
    pick = noisy.index(max(noisy))  # the higher-ranked one on ties
    if pick != 0:  # a challenger replaces the human design only when significantly better (exact McNemar by hand)
        b = sum(x and not y for x, y in zip(evaluations[pick].correct, evaluations[0].correct, strict=True))
        c = sum(y and not x for x, y in zip(evaluations[pick].correct, evaluations[0].correct, strict=True))
        p = min(1.0, 2 * sum(math.comb(b + c, i) for i in range(min(b, c) + 1)) / 2 ** (b + c))
        assert finalists[pick]["p_vs_human"] == pytest.approx(p, rel=1e-12)
        pick = pick if p < 0.05 else 0
    assert (results["winner"]["gene"], results["winner"]["layout"]) == (top[pick]["gene"], top[pick]["layout"])
    assert (run / "winner" / "model.pt").read_bytes() == (run / finalists[pick]["run"] / "model.pt").read_bytes()
    assert results["random"]["gene"] == rows[1]["gene"]  # the first drawn after the human seed: no score
    human = load_circuit("u3cu3", n_blocks=2)
    assert rows[0]["gene"] == [2] + [4] * 4 and rows[0]["layout"] == list(Device.load("ibm_quito").best_layout(human))
    for r in rows[1:]:  # drawn the human design's size, 16 trainable gates, within 25 %
        assert 12 <= r["gates"] <= 20
    for r in rows:
        assert r["fitness"] == pytest.approx(r["representational_capacity"] * r["clifford_noise_resilience"] ** 0.5)
    edges = set(load_snapshot("ibm_quito").edges)
    for r in rows:  # the layout's qubits are a connected region of Quito
        qubits, reached = set(r["layout"]), {r["layout"][0]}
        for _ in qubits:
            reached |= {b for a, b in edges if a in reached and b in qubits} | \
                       {a for a, b in edges if b in reached and a in qubits}
        assert reached == qubits, r["layout"]
    assert not (run / "super.pt").exists()  # no SuperCircuit
    assert (run / "winner" / "model.pt").is_file() and "aer" in results["winner"]


def test_a_resumed_train_free_search_scores_nothing_again(searched, monkeypatch):
    import qml.search.trainfree as trainfree

    run, results = searched
    monkeypatch.setattr(trainfree.TrainFreeScore, "__call__", lambda *a: pytest.fail("scored again"))
    assert search_run(run, None, resume=True, quiet=True)["winner"] == results["winner"]
