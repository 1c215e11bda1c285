"""Measurements against qiskit: Pauli expectations, <Z>, marginal probabilities and shot sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import SparsePauliOp, Statevector

import qml
import qml.sim.measure as measure_module
from tests.reference import qiskit_circuit, random_circuit, reference_expvals, theta_of


def _random_labels(n: int, k: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("IXYZ"), n)) for _ in range(k)]


def _states(c, m, x):
    return [Statevector(qiskit_circuit(c, theta_of(m), row)) for row in x]


@pytest.mark.parametrize("seed", range(25))
def test_expval_of_pauli_strings_matches_qiskit(seed):
    c, x = random_circuit(5000 + seed, max_wires=7)
    labels = _random_labels(c.n_wires, 5, seed) + ["Y" * c.n_wires, "X" + "I" * (c.n_wires - 1)]
    m = qml.QuantumModule(c, measure=qml.Expval(labels), dtype=torch.complex128)
    got = m(torch.tensor(x)).detach().numpy()
    assert got.shape == (x.shape[0], len(labels))
    np.testing.assert_allclose(got, reference_expvals(c, theta_of(m), x, labels), atol=1e-10)


def test_expval_label_order_is_qiskit_order():
    """Rightmost character is wire 0: X on wire 0 of |+0> gives 1, on wire 1 gives 0."""
    c = qml.Circuit(2).h(0)
    m = qml.QuantumModule(c, measure=qml.Expval(["IX", "XI", "ZI", "IZ"]), dtype=torch.complex128)
    np.testing.assert_allclose(m().detach().numpy(), [[1.0, 0.0, 1.0, 0.0]], atol=1e-12)


def test_expval_accepts_a_single_label_string_and_lowercase():
    c = qml.Circuit(2).ry(0, 0.7).cx(0, 1)
    m = qml.QuantumModule(c, measure=qml.Expval("zz"), dtype=torch.complex128)
    sv = Statevector(qiskit_circuit(c))
    assert m().shape == (1, 1)
    assert m()[0, 0].item() == pytest.approx(sv.expectation_value(SparsePauliOp("ZZ")).real, abs=1e-12)


def test_expval_rejects_a_bad_label_naming_it_when_the_module_is_built():
    with pytest.raises(qml.CircuitError, match=r"Pauli label 'XQ' must be 2 characters of I, X, Y, Z"):
        qml.QuantumModule(qml.Circuit(2).h(0), measure=qml.Expval(["XQ"]))


def test_expval_rejects_a_label_of_wrong_length_when_the_module_is_built():
    with pytest.raises(qml.CircuitError, match="Pauli label 'XZZ' must be 2 characters"):
        qml.QuantumModule(qml.Circuit(2).h(0), measure=qml.Expval(["XZZ"]))


def test_expval_needs_a_label():
    with pytest.raises(qml.CircuitError, match="Expval needs at least one observable"):
        qml.Expval([])


@pytest.mark.parametrize("seed", range(10))
def test_expz_matches_qiskit_z_labels(seed):
    c, x = random_circuit(5100 + seed, max_wires=6)
    n = c.n_wires
    m = qml.QuantumModule(c, measure=qml.ExpZ(), dtype=torch.complex128)
    labels = ["I" * (n - 1 - w) + "Z" + "I" * w for w in range(n)]
    np.testing.assert_allclose(m(torch.tensor(x)).detach().numpy(),
                               reference_expvals(c, theta_of(m), x, labels), atol=1e-10)


def test_expz_on_chosen_wires_keeps_their_order():
    c, x = random_circuit(5200, n_wires=4)
    m = qml.QuantumModule(c, measure=qml.ExpZ(wires=(3, 0)), dtype=torch.complex128)
    np.testing.assert_allclose(m(torch.tensor(x)).detach().numpy(),
                               reference_expvals(c, theta_of(m), x, ["ZIII", "IIIZ"]), atol=1e-10)


def test_expz_and_probs_on_thirteen_qubits_match_qiskit():
    c, x = random_circuit(5300, n_wires=13, n_ops=40)
    m = qml.QuantumModule(c, measure=qml.ExpZ(), dtype=torch.complex128)
    labels = ["I" * (12 - w) + "Z" + "I" * w for w in range(13)]
    np.testing.assert_allclose(m(torch.tensor(x)).detach().numpy(),
                               reference_expvals(c, theta_of(m), x, labels), atol=1e-10)
    probs = qml.QuantumModule(c, measure=qml.Probs(wires=(12, 3, 7)), dtype=torch.complex128)
    probs.load_state_dict(m.state_dict())
    ref = [sv.probabilities([12, 3, 7]) for sv in _states(c, m, x)]
    np.testing.assert_allclose(probs(torch.tensor(x)).detach().numpy(), ref, atol=1e-10)


def test_expz_above_the_sign_table_limit_matches_qiskit(monkeypatch):
    """Wide registers reduce <Z> wire by wire instead of with a sign table; force that path on 5 qubits."""
    monkeypatch.setattr(measure_module, "_SIGN_MATMUL_MAX_WIRES", 2)
    c, x = random_circuit(5310, n_wires=5, n_ops=30)
    m = qml.QuantumModule(c, measure=qml.ExpZ(wires=(4, 0, 2)), dtype=torch.complex128)
    np.testing.assert_allclose(m(torch.tensor(x)).detach().numpy(),
                               reference_expvals(c, theta_of(m), x, ["ZIIII", "IIIIZ", "IIZII"]), atol=1e-10)


@pytest.mark.parametrize("wires", [None, (0,), (2,), (1, 0), (0, 2), (2, 0, 1), (3, 1)])
def test_probs_on_wires_matches_qiskit_probabilities(wires):
    c, x = random_circuit(5400, n_wires=4)
    m = qml.QuantumModule(c, measure=qml.Probs(wires=wires), dtype=torch.complex128)
    ref = [sv.probabilities(None if wires is None else list(wires)) for sv in _states(c, m, x)]
    got = m(torch.tensor(x)).detach().numpy()
    assert got.shape == (x.shape[0], 2 ** (4 if wires is None else len(wires)))
    np.testing.assert_allclose(got, ref, atol=1e-10)


@pytest.mark.parametrize("measure", [qml.ExpZ(wires=(0, 5)), qml.Probs(wires=(-1,)), qml.Probs(wires=(1, 1)),
                                     qml.Counts(wires=(2,))])
def test_measurement_on_bad_wires_is_rejected_at_construction(measure):
    with pytest.raises(qml.CircuitError, match=rf"{type(measure).__name__}: (wire|repeated wire)"):
        qml.QuantumModule(qml.Circuit(2), measure=measure)


def test_counts_total_the_shots_and_follow_the_probabilities():
    c, x = random_circuit(5500, n_wires=3)
    shots = 20000
    m = qml.QuantumModule(c, measure=qml.Counts(shots, generator=torch.Generator().manual_seed(0)),
                          dtype=torch.complex128)
    counts = m(torch.tensor(x))
    assert counts.dtype == torch.long and counts.shape == (x.shape[0], 8)
    assert counts.sum(1).tolist() == [shots] * x.shape[0]
    probs = np.array([sv.probabilities() for sv in _states(c, m, x)])
    stderr = np.sqrt(probs * (1 - probs) / shots)
    assert np.all(np.abs(counts.numpy() / shots - probs) <= 5 * stderr + 1e-3)


def test_counts_on_wires_follow_the_marginal():
    c, x = random_circuit(5600, n_wires=4)
    shots = 20000
    m = qml.QuantumModule(c, measure=qml.Counts(shots, wires=(3, 1), generator=torch.Generator().manual_seed(1)),
                          dtype=torch.complex128)
    counts = m(torch.tensor(x)).numpy()
    probs = np.array([sv.probabilities([3, 1]) for sv in _states(c, m, x)])
    assert counts.shape == (x.shape[0], 4)
    assert np.all(np.abs(counts / shots - probs) <= 5 * np.sqrt(probs * (1 - probs) / shots) + 1e-3)


def test_counts_with_the_same_seeded_generator_repeat():
    c, x = random_circuit(5700, n_wires=3)
    m = qml.QuantumModule(c, measure=qml.Counts(100, generator=torch.Generator().manual_seed(5)))
    first = m(torch.tensor(x))
    m.measurement.generator.manual_seed(5)
    assert torch.equal(first, m(torch.tensor(x)))


def test_counts_of_a_basis_state_are_all_on_that_state():
    m = qml.QuantumModule(qml.Circuit(3).x(0).x(2), measure=qml.Counts(50))
    assert m()[0].tolist() == [0, 0, 0, 0, 0, 50, 0, 0]


@pytest.mark.parametrize("shots", [0, -3, 1.5, True])
def test_counts_reject_bad_shots(shots):
    m = qml.QuantumModule(qml.Circuit(1).h(0), measure=qml.Counts(shots))
    with pytest.raises(qml.InputError, match="shots must be a positive integer"):
        m()


def test_expz_with_shots_is_within_a_few_standard_errors():
    c = qml.Circuit(4, n_inputs=2).ry(0, qml.Input(0)).ry(2, qml.Input(1)).layer("u3").ring("cu3")
    x = np.array([[0.3, -1.2], [2.0, 0.8]])
    shots = 4000
    n = c.n_wires
    exact_m = qml.QuantumModule(c, measure=qml.ExpZ(), dtype=torch.complex128)
    m = qml.QuantumModule(c, measure=qml.ExpZ(shots=shots), dtype=torch.complex128)
    m.load_state_dict(exact_m.state_dict())
    labels = ["I" * (n - 1 - w) + "Z" + "I" * w for w in range(n)]
    exact = reference_expvals(c, theta_of(m), x, labels)
    got = m(torch.tensor(x)).detach().numpy()
    stderr = np.sqrt(np.clip(1 - exact**2, 0, None) / shots)
    assert np.all(np.abs(got - exact) <= 5 * stderr + 1e-9)
    assert not np.allclose(got, exact, atol=1e-9)  # it really is sampled


def test_expz_with_shots_has_the_exact_gradient():
    c, x = random_circuit(5900, n_wires=3, kinds=("new", "input"))
    exact_m = qml.QuantumModule(c, measure=qml.ExpZ(), dtype=torch.complex128)
    shot_m = qml.QuantumModule(c, measure=qml.ExpZ(shots=50), dtype=torch.complex128)
    shot_m.load_state_dict(exact_m.state_dict())
    weights = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    (exact_m(torch.tensor(x)) * weights).sum().backward()
    (shot_m(torch.tensor(x)) * weights).sum().backward()
    assert exact_m.theta.grad.abs().max() > 1e-3
    torch.testing.assert_close(shot_m.theta.grad, exact_m.theta.grad, atol=1e-12, rtol=0)


def test_string_measurements_resolve():
    c = qml.Circuit(3)
    assert qml.QuantumModule(c, measure="z").n_outputs == 3
    assert qml.QuantumModule(c, measure="ExpZ").n_outputs == 3
    assert qml.QuantumModule(c, measure="probs").n_outputs == 8


@pytest.mark.parametrize("measure", ["foo", "counts", 3])
def test_unknown_measurement_is_rejected(measure):
    with pytest.raises(qml.CircuitError, match=f"unknown measurement {measure!r}: expected 'z', 'probs'"):
        qml.QuantumModule(qml.Circuit(2), measure=measure)


def _weighted(n: int, k: int, seed: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(seed)
    return [(label, float(rng.uniform(-2, 2))) for label in _random_labels(n, k, seed)]


@pytest.mark.parametrize("seed", range(10))
def test_weighted_observables_match_qiskit_sparse_pauli_op(seed):
    """A dict, a list of (label, coefficient) pairs and a SparsePauliOp are each one observable; a list of them
    gives one output each — against qiskit's Statevector.expectation_value of the same SparsePauliOp."""
    c, x = random_circuit(8000 + seed, n_wires=2 + seed % 4)
    terms = [_weighted(c.n_wires, 1 + j, seed * 10 + j) for j in range(3)]
    ops = [SparsePauliOp.from_list(t) for t in terms]
    for measure, chosen in ((qml.Expval(dict(terms[0])), ops[:1]), (qml.Expval(terms[1]), ops[1:2]),
                            (qml.Expval(ops[2]), ops[2:]), (qml.Expval([dict(terms[0]), ops[1], terms[2][0][0]]),
                                                             [ops[0], ops[1], SparsePauliOp(terms[2][0][0])])):
        m = qml.QuantumModule(c, measure=measure, dtype=torch.complex128)
        got = m(torch.tensor(x)).detach().numpy()
        assert got.shape == (x.shape[0], len(chosen))
        expected = [[sv.expectation_value(op).real for op in chosen] for sv in _states(c, m, x)]
        np.testing.assert_allclose(got, expected, atol=1e-10)


def test_weighted_observable_gradient_is_the_weighted_sum_of_its_terms():
    c, x = random_circuit(8100, n_wires=3)
    m = qml.QuantumModule(c, measure=qml.Expval({"ZZI": 0.7, "IXY": -1.3}), dtype=torch.complex128)
    m(torch.tensor(x)).sum().backward()
    weighted = m.theta.grad.clone()
    m.zero_grad()
    terms = qml.QuantumModule(c, measure=qml.Expval(["ZZI", "IXY"]), dtype=torch.complex128)
    terms.load_state_dict(m.state_dict())
    (terms(torch.tensor(x)) @ torch.tensor([0.7, -1.3], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(weighted.numpy(), terms.theta.grad.numpy(), atol=1e-12)
    assert weighted.abs().max() > 1e-3


@pytest.mark.parametrize("bad,message", [
    ({"ZZ": 1j}, "needs real coefficients"),
    (SparsePauliOp(["ZZ"], [0.5 + 0.5j]), "needs real coefficients"),
    ([("ZZ", 1.0), 3], "observable 1 is 3; expected a Pauli label"),
    ({1: 0.5}, "term label 1"),
    (42, "is not an observable or a list of them"),
    ({}, "has no terms"),
])
def test_malformed_observables_are_one_clear_error(bad, message):
    with pytest.raises(qml.CircuitError, match=message):
        qml.Expval(bad)


def test_weighted_observable_with_a_bad_label_is_rejected_when_the_module_is_built():
    with pytest.raises(qml.CircuitError, match="Pauli label 'ZQ'"):
        qml.QuantumModule(qml.Circuit(2).h(0), measure=qml.Expval({"ZQ": 1.0}))
