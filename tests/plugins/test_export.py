"""A trained, pruned classifier leaves as a clean state dict, OpenQASM 3 without pruned identities, and a complete
measured circuit whose counts give the model's classes; circuits draw through qiskit's drawers.

Oracles: qiskit (``qasm3.loads``, ``Statevector``, ``Operator``) and the model itself for round trips."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import qml_quantum  # noqa: F401  (installed by the README's set-up commands, as CI does)
import torch
from qiskit import qasm3
from qiskit.quantum_info import Statevector

import qml
from qml.passes import make_pass, plain_state_dict
from qml.train import QuantumClassifier
from tests.reference import reference_states

matplotlib.use("Agg")


def _classifier(norm: bool = False, levels: int | None = None) -> QuantumClassifier:
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3").layer("ry")
    torch.manual_seed(3)
    return QuantumClassifier(qml.QuantumModule(c).double(), 4, norm=norm, quant_levels=levels)


@pytest.fixture
def pruned():
    model = _classifier(norm=True, levels=5)
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)  # mask attached, not squashed
    model.post.running_mean.uniform_(-0.2, 0.2)
    model.post.running_std.uniform_(0.5, 1.5)
    return model


@pytest.fixture
def x():
    return torch.tensor(np.random.default_rng(4).uniform(-np.pi, np.pi, (12, 16)))


def test_plain_state_dict_of_a_pruned_classifier_loads_into_a_fresh_one(pruned, x):
    assert any("parametrizations" in key for key in pruned.state_dict())
    state = plain_state_dict(pruned)
    assert not any("parametrizations" in key for key in state)
    fresh = _classifier(norm=True, levels=5)
    fresh.load_state_dict(state)  # strict
    pruned.eval(), fresh.eval()
    torch.testing.assert_close(fresh(x), pruned(x), atol=0, rtol=0)
    torch.testing.assert_close(fresh(x[:1]), pruned(x[:1]), atol=0, rtol=0)  # running statistics, batch of one
    assert any("parametrizations" in key for key in pruned.state_dict())  # the model itself is unchanged


def test_exported_qasm_of_a_pruned_model_has_no_identity_gates_and_the_same_states(pruned, x):
    theta = pruned.qmodule.theta.detach().tolist()
    zeros = sum(1 for op in pruned.qmodule.circuit.ops
                if op.gate == "ry" and op.params[0].kind == "trainable" and theta[op.params[0].index] == 0.0)
    assert zeros > 0  # some of the last layer's RY angles are pruned: those gates must go
    loaded = qasm3.loads(qml.to_qasm3(pruned.qmodule.circuit, theta=theta))
    kept = qml.to_qasm3(pruned.qmodule.circuit, theta=theta, drop_identities=False)
    assert len(loaded.data) == len(qasm3.loads(kept).data) - zeros
    expected = reference_states(pruned.qmodule.circuit, np.array(theta), x[:3].numpy())
    for b in range(3):
        values = {p: float(x[b, int(p.name.strip("_x"))]) for p in loaded.parameters}
        psi = Statevector(loaded.assign_parameters(values)).data
        np.testing.assert_allclose(abs(np.vdot(psi, expected[b])), 1.0, atol=1e-10)  # up to the global phase


@pytest.mark.parametrize("levels", [None, 5])
def test_the_complete_circuits_counts_give_the_models_classes(x, levels):
    model = _classifier(levels=levels).eval()
    text = model.to_qasm3()
    assert "// class = the w with the largest" in text
    qc = qasm3.loads(text)
    assert qc.num_clbits == 4 and qc.count_ops()["measure"] == 4
    counts = []
    for row in x.numpy():
        values = {p: float(row[int(p.name.strip("_x"))]) for p in qc.parameters}
        bound = qc.assign_parameters(values).remove_final_measurements(inplace=False)
        probs = Statevector(bound).probabilities_dict()
        counts.append({bits: round(p * 10**9) for bits, p in probs.items()})  # exact, as counts of 10^9 shots
    expected = model(x).argmax(1) if levels is None else model.readout(model.qmodule(x))[1]
    torch.testing.assert_close(model.predict_from_counts(counts), expected)


def test_counts_that_are_not_bitstrings_are_one_input_error():
    model = _classifier()
    with pytest.raises(qml.InputError, match="counts of input 1: '01x1' is not a bitstring of 4 bits"):
        model.predict_from_counts([{"0000": 5}, {"01x1": 3}])


def test_circuit_draws_as_text_and_with_matplotlib(tmp_path):
    c = qml.Circuit(2, n_inputs=1)
    c.h(0).cx(0, 1).ry(1, qml.Input(0)).rz(0, None)
    text = str(c.draw())
    assert "Ry(x[0])" in text and "Rz(theta[0])" in text
    assert "Rz(0.5)" in str(c.draw(theta=[0.5]))
    c.draw("mpl", filename=str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").stat().st_size > 1000
    with pytest.raises(qml.CircuitError, match="draw output must be text, mpl or latex_source, got 'svg'"):
        c.draw("svg")
