"""Angles of several sources (``qml.Expr``): products, sums and functions of features and trainable slots.

Oracles: qiskit's ``Statevector`` of circuits whose angles are computed here by hand (plain Python on numbers) or
bound by qiskit itself (``assign_parameters``), and central finite differences of qiskit's expectation values for
gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.library import real_amplitudes, zz_feature_map
from qiskit.quantum_info import SparsePauliOp, Statevector

import qml
from qml import Expr
from qml.sim.density import DensityMatrix

# (qiskit expression of a, b; the same by hand on floats)
EXPRESSIONS = [
    (lambda a, b: a * b, lambda a, b: a * b),
    (lambda a, b: a + b, lambda a, b: a + b),
    (lambda a, b: 2 * a - 0.5 * b + 0.25, lambda a, b: 2 * a - 0.5 * b + 0.25),
    (lambda a, b: a ** 2, lambda a, b: a ** 2),
    (lambda a, b: a.sin() * b.cos(), lambda a, b: math.sin(a) * math.cos(b)),
    (lambda a, b: 1 / (a + 3), lambda a, b: 1 / (a + 3)),
    (lambda a, b: (a * b).exp(), lambda a, b: math.exp(a * b)),
    (lambda a, b: 2 * (math.pi - a) * (math.pi - b), lambda a, b: 2 * (math.pi - a) * (math.pi - b)),
    (lambda a, b: (a + b).arctan() + (b ** 2 + 1).log(), lambda a, b: math.atan(a + b) + math.log(b ** 2 + 1)),
    (lambda a, b: a.abs() - b.tan(), lambda a, b: abs(a) - math.tan(b)),
]


def _bound(expr_of_floats, a: float, b: float) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.cx(0, 1)
    qc.rx(expr_of_floats(a, b), 0)
    qc.cry(expr_of_floats(b, a), 0, 1)
    return qc


@pytest.mark.parametrize("number", range(len(EXPRESSIONS)))
@pytest.mark.parametrize("roles", ["inputs", "trainables", "mixed"])
def test_imported_expression_angles_equal_the_statevector_of_hand_computed_angles(number, roles):
    symbolic, by_hand = EXPRESSIONS[number]
    x = ParameterVector("x", 1 if roles == "mixed" else 2)
    a, b = (x[0], x[1]) if roles == "inputs" else (Parameter("a"), Parameter("b")) if roles == "trainables" \
        else (x[0], Parameter("w"))
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.cx(0, 1)
    qc.rx(symbolic(a, b), 0)
    qc.cry(symbolic(b, a), 0, 1)
    circuit = qml.from_qiskit(qc, inputs="x")
    m = qml.QuantumModule(circuit, measure=qml.Probs()).double()
    rng = np.random.default_rng(number)
    values = rng.uniform(-1.2, 1.2, (4, 2))
    for row in values:
        if roles == "inputs":
            out = m(torch.tensor(row[None]))
        elif roles == "trainables":
            with torch.no_grad():
                m.theta.copy_(torch.tensor(row))  # slots in qc.parameters order: a, b
            out = m()
        else:
            with torch.no_grad():
                m.theta.copy_(torch.tensor(row[1:]))
            out = m(torch.tensor(row[None, :1]))
        expected = Statevector(_bound(by_hand, *row)).probabilities()
        np.testing.assert_allclose(out[0].detach().numpy(), expected, atol=1e-12)


def test_zz_feature_map_classifier_imports_and_its_gradients_equal_finite_differences_of_qiskit():
    fm, ansatz = zz_feature_map(3, reps=2), real_amplitudes(3, reps=1)
    qc = fm.compose(ansatz)
    circuit = qml.from_qiskit(qc, inputs="x")
    assert circuit.n_inputs == 3 and circuit.n_trainable == ansatz.num_parameters
    assert any(p.kind == "expr" for op in circuit.ops for p in op.params)  # (pi - x_i)(pi - x_j) is no affine angle
    rng = np.random.default_rng(5)
    x = rng.uniform(0, math.pi, (3, 3))
    theta = rng.uniform(-math.pi, math.pi, ansatz.num_parameters)
    observable = SparsePauliOp(["ZZI", "IXZ"], [1.0, 0.5])

    def qiskit_value(xs, ths) -> float:
        values = {p: (xs[p.index] if p.vector.name == "x" else ths[p.index]) for p in qc.parameters}
        return float(Statevector(qc.assign_parameters(values)).expectation_value(observable).real)

    for diff_method in ("backprop", "adjoint"):
        m = qml.QuantumModule(circuit, measure=qml.Expval(observable), diff_method=diff_method).double()
        with torch.no_grad():
            m.theta.copy_(torch.tensor(theta))
        xt = torch.tensor(x, requires_grad=True)
        out = m(xt)[:, 0]
        np.testing.assert_allclose(out.detach().numpy(), [qiskit_value(row, theta) for row in x], atol=1e-12)
        out.sum().backward()
        h = 1e-6
        for i in range(3):
            grad_x = [(qiskit_value(x[i] + h * e, theta) - qiskit_value(x[i] - h * e, theta)) / (2 * h)
                      for e in np.eye(3)]
            np.testing.assert_allclose(xt.grad[i].numpy(), grad_x, atol=1e-6)
        grad_theta = [sum(qiskit_value(row, theta + h * e) - qiskit_value(row, theta - h * e) for row in x) / (2 * h)
                      for e in np.eye(len(theta))]
        np.testing.assert_allclose(m.theta.grad.numpy(), grad_theta, atol=1e-6)


def _built_in_python() -> qml.Circuit:
    x0, x1 = Expr.feature(0), Expr.feature(1)
    c = qml.Circuit(3, n_inputs=2)
    c.h(0).h(1).h(2)
    c.rz(0, 2 * x0)
    c.cx(0, 1)
    c.rz(1, 2 * (math.pi - x0) * (math.pi - x1))
    c.cx(0, 1)
    w = c.new_trainable()
    c.ry(2, qml.Trainable(w))
    c.crx(2, 0, Expr.slot(w) * x1 + Expr.slot(w).sin())
    c.rzz(1, 2, Expr.slot(w) ** 2 / (1 + x0 ** 2))
    return c


def _by_hand(x0: float, x1: float, w: float) -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.rz(2 * x0, 0)
    qc.cx(0, 1)
    qc.rz(2 * (math.pi - x0) * (math.pi - x1), 1)
    qc.cx(0, 1)
    qc.ry(w, 2)
    qc.crx(w * x1 + math.sin(w), 2, 0)
    qc.rzz(w ** 2 / (1 + x0 ** 2), 1, 2)
    return qc


def test_expressions_built_in_python_run_on_the_engine_and_the_density_matrix_like_qiskit():
    c = _built_in_python()
    m = qml.QuantumModule(c, measure=qml.Probs()).double()
    with torch.no_grad():
        m.theta.fill_(0.7)
    x = np.random.default_rng(3).uniform(-2, 2, (5, 2))
    out = m(torch.tensor(x)).detach().numpy()
    rho = DensityMatrix(c).run(m.theta.detach(), torch.tensor(x)).numpy()
    for b, row in enumerate(x):
        psi = Statevector(_by_hand(*row, 0.7)).data
        np.testing.assert_allclose(out[b], np.abs(psi) ** 2, atol=1e-12)
        np.testing.assert_allclose(rho[b], np.outer(psi, psi.conj()), atol=1e-12)


def test_expressions_of_slots_only_are_not_batched_and_equal_qiskit():
    c = qml.Circuit(2)
    a, b = c.new_trainable(), c.new_trainable()
    c.h(0).cx(0, 1)
    c.rx(0, Expr.slot(a) * Expr.slot(b))
    c.cp(0, 1, (Expr.slot(a) + Expr.slot(b)).cos())
    assert not any(op.is_batched for op in c.ops)
    m = qml.QuantumModule(c, measure=qml.Probs()).double()
    with torch.no_grad():
        m.theta.copy_(torch.tensor([0.4, -1.3]))
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.rx(0.4 * -1.3, 0)
    qc.cp(math.cos(0.4 - 1.3), 0, 1)
    np.testing.assert_allclose(m()[0].detach().numpy(), Statevector(qc).probabilities(), atol=1e-12)


def _rational() -> qml.Circuit:
    """``_built_in_python`` without its sine: what qiskit's OpenQASM 3 importer reads (+ - * /)."""
    c = _built_in_python()
    w, x1 = Expr.slot(0), Expr.feature(1)
    c.ops[-2] = qml.circuit.Op("crx", (2, 0), (qml.circuit.params.from_expr(w * x1 + w ** 3),))
    return c


def test_expressions_round_trip_through_qasm3_and_qiskit():
    c = _rational()
    theta = np.array([0.9])
    x = np.random.default_rng(4).uniform(-2, 2, (3, 2))
    m = qml.QuantumModule(c, measure=qml.Probs()).double()
    with torch.no_grad():
        m.theta.copy_(torch.tensor(theta))
    expected = m(torch.tensor(x)).detach().numpy()
    text = qml.to_qasm3(c)
    for back in (qml.from_qasm3(text), qml.from_qiskit(qasm3.loads(text), inputs="x"),
                 qml.from_qiskit(qml.to_qiskit(c), inputs="x")):
        mb = qml.QuantumModule(back, measure=qml.Probs()).double()
        with torch.no_grad():
            mb.theta.copy_(torch.tensor(theta))
        np.testing.assert_allclose(mb(torch.tensor(x)).detach().numpy(), expected, atol=1e-12)


def test_compose_renames_the_slots_inside_expressions():
    inner = qml.Circuit(1)
    w = inner.new_trainable()
    inner.rx(0, Expr.slot(w) ** 3)
    outer = qml.Circuit(1)
    outer.ry(0, None)
    outer.compose(inner)
    m = qml.QuantumModule(outer, measure=qml.Probs()).double()
    with torch.no_grad():
        m.theta.copy_(torch.tensor([0.3, 0.8]))
    qc = QuantumCircuit(1)
    qc.ry(0.3, 0)
    qc.rx(0.8 ** 3, 0)
    np.testing.assert_allclose(m()[0].detach().numpy(), Statevector(qc).probabilities(), atol=1e-12)


def test_an_affine_expression_of_one_source_is_a_plain_angle():
    c = qml.Circuit(1, n_inputs=1)
    c.rx(0, 2 * Expr.feature(0) + 1 - Expr.feature(0) * 0.5)
    (ref,) = c.ops[0].params
    assert (ref.kind, ref.index, ref.scale, ref.offset) == ("input", 0, 1.5, 1.0)


def test_a_missing_slot_or_feature_in_an_expression_is_one_circuit_error():
    with pytest.raises(qml.CircuitError, match=r"op #0 rx: angle .*theta\[2\].* uses trainable slot 2, which does "
                                               r"not exist \(0 slots\)"):
        qml.Circuit(1).rx(0, Expr.slot(2) * Expr.feature(0))
    with pytest.raises(qml.CircuitError, match=r"op #0 rx: angle .* uses feature 3, out of range"):
        qml.Circuit(1, n_inputs=2).rx(0, Expr.feature(3) * Expr.feature(0))


def test_features_read_only_inside_expressions_count_as_inputs():
    c = qml.Circuit(1)
    c.rx(0, Expr.feature(0) * Expr.feature(4))
    assert c.n_inputs == 5
    with pytest.raises(qml.InputError, match="5"):
        qml.QuantumModule(c)(torch.zeros(2, 3))


@pytest.mark.parametrize("make,message", [
    (lambda a: a.conjugate(), "uses conjugate, which qml angles do not support"),
    (lambda a: a * 1j, "non-real constant"),
])
def test_unsupported_expressions_are_one_conversion_error(make, message):
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(1)
    qc.rx(make(a) * b, 0)
    with pytest.raises(qml.ConversionError, match=f"qiskit instruction #0 'rx': angle .*{message}"):
        qml.from_qiskit(qc)


def test_to_qasm3_warns_when_qiskit_cannot_read_an_angle_back():
    c = _built_in_python()  # crx(sin(w) + w*x1)
    with pytest.warns(UserWarning, match=r"1 angle\(s\) use functions .*first: op #8 crx: "):
        text = qml.to_qasm3(c)
    with pytest.raises(qml.ConversionError, match="OpenQASM 3 text does not parse"):
        qml.from_qasm3(text)
