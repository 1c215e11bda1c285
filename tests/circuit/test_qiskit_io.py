"""Conversion to and from qiskit and OpenQASM 3, checked with qiskit Operators of bound circuits."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import Gate, Parameter, ParameterVector
from qiskit.circuit.library import CU1Gate, CU3Gate, U1Gate
from qiskit.quantum_info import Operator

import qml
from tests.reference import qiskit_circuit, random_circuit


def _bind(qc: QuantumCircuit, theta, x) -> QuantumCircuit:
    """Bind a to_qiskit-style circuit (ParameterVectors 'theta' and 'x') by parameter name."""
    values = {}
    for p in qc.parameters:
        vec, idx = re.fullmatch(r"(\w+)\[(\d+)\]", p.name).groups()
        values[p] = float((theta if vec == "theta" else x)[int(idx)])
    return qc.assign_parameters(values)


def _engine_unitary(circuit, theta=None, x=None) -> np.ndarray:
    m = qml.QuantumModule(circuit, dtype=torch.complex128)
    if theta is not None:
        with torch.no_grad():
            m.theta.copy_(torch.as_tensor(theta, dtype=torch.float64))
    return m.unitary(None if x is None else torch.as_tensor(x)).detach().numpy()


# -- to_qiskit ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_to_qiskit_symbolic_circuit_bound_equals_reference(seed):
    c, x = random_circuit(seed, max_wires=4)
    theta = np.random.default_rng(seed).uniform(-3, 3, c.n_trainable)
    qc = qml.to_qiskit(c)
    assert qc.num_parameters == c.n_trainable + c.n_inputs
    expected = Operator(qiskit_circuit(c, theta, x[0])).data
    np.testing.assert_allclose(Operator(_bind(qc, theta, x[0])).data, expected, atol=1e-10)


def test_to_qiskit_with_values_is_bound_and_keeps_gate_order():
    c = qml.Circuit(2).h(0).crx(0, 1, qml.Input(0, 2.0, 0.5)).u3(1)
    qc = qml.to_qiskit(c, theta=[0.1, 0.2, 0.3], x=[0.25])
    assert qc.num_parameters == 0
    assert [inst.operation.name for inst in qc.data] == ["h", "crx", "u3"]
    assert qc.data[1].operation.params[0] == pytest.approx(2.0 * 0.25 + 0.5)
    assert [qc.find_bit(q).index for q in qc.data[1].qubits] == [0, 1]


def test_to_qiskit_rejects_wrong_number_of_values():
    c = qml.Circuit(1).rx(0)
    with pytest.raises(qml.ConversionError, match="theta has 2 values, the circuit has 1 trainable slots"):
        qml.to_qiskit(c, theta=[0.1, 0.2])


def test_module_to_qiskit_bound_matches_reference_operator():
    c, x = random_circuit(5, n_wires=3)
    m = qml.QuantumModule(c, dtype=torch.complex128)
    qc = m.to_qiskit(bind=True, x=torch.tensor(x[1]))
    expected = qiskit_circuit(c, m.theta.detach().numpy(), x[1])
    np.testing.assert_allclose(Operator(qc).data, Operator(expected).data, atol=1e-10)


# -- round trip ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(20))
def test_round_trip_through_qiskit_preserves_the_unitary(seed):
    c, x = random_circuit(100 + seed, max_wires=4)
    c.global_phase = 0.37 * seed
    theta = np.random.default_rng(seed).uniform(-3, 3, c.n_trainable)
    back = qml.from_qiskit(qml.to_qiskit(c), inputs="x")
    assert (back.n_wires, back.n_trainable, back.n_inputs) == (c.n_wires, c.n_trainable, c.n_inputs)
    assert [(op.gate, op.wires) for op in back.ops] == [(op.gate, op.wires) for op in c.ops]
    expected = Operator(qiskit_circuit(c, theta, x[0])).data
    np.testing.assert_allclose(Operator(qml.to_qiskit(back, theta=theta, x=x[0])).data, expected, atol=1e-10)
    np.testing.assert_allclose(_engine_unitary(back, theta, x[0]), expected, atol=1e-10)


def test_round_trip_with_sixteen_features_keeps_feature_order():
    c = qml.Circuit(4).encode("4x4_ryzxy").layer("u3").ring("cu3")
    back = qml.from_qiskit(qml.to_qiskit(c), inputs="x")
    assert [op.params[0].index for op in back.ops[:16]] == list(range(16))


def test_round_trip_keeps_feature_numbering_when_a_feature_is_unused():
    """Features 0 and 2 are used, feature 1 is not: after the round trip feature 2 must still be feature 2."""
    c = qml.Circuit(2, n_inputs=3).rx(0, qml.Input(0)).ry(1, qml.Input(2))
    back = qml.from_qiskit(qml.to_qiskit(c), inputs="x")
    assert back.n_inputs == 3
    assert [op.params[0].index for op in back.ops] == [0, 2]


# -- from_qiskit of hand-written circuits ----------------------------------------------------------------
def test_from_qiskit_linear_expressions_give_qiskit_unitary():
    a, b, x = Parameter("a"), Parameter("b"), Parameter("x")
    qc = QuantumCircuit(3, global_phase=0.4)
    qc.rx(2 * a + 0.5, 0)
    qc.append(CU3Gate(-b, a - 1.0, 0.3), [2, 1])
    qc.rzz(0.25 * x - 1.0, 0, 2)
    qc.u(x, 1.5 * b, 0.1, 1)
    qc.cp(3 * a, 1, 0)
    circuit = qml.from_qiskit(qc, inputs=[x])
    assert circuit.n_trainable == 2 and circuit.n_inputs == 1
    values = {a: 0.7, b: -1.3, x: 0.9}
    got = _engine_unitary(circuit, [values[a], values[b]], [values[x]])
    np.testing.assert_allclose(got, Operator(qc.assign_parameters(values)).data, atol=1e-10)


def test_from_qiskit_expression_becomes_scale_and_offset():
    a = Parameter("a")
    qc = QuantumCircuit(1)
    qc.ry(2 * a + 0.5, 0)
    (ref,) = qml.from_qiskit(qc).ops[0].params
    assert (ref.kind, ref.index) == ("trainable", 0)
    assert ref.scale == pytest.approx(2.0) and ref.offset == pytest.approx(0.5)


def test_from_qiskit_inputs_as_parameter_vector_sets_feature_order():
    v = ParameterVector("f", 3)
    w = Parameter("w")
    qc = QuantumCircuit(2)
    qc.ry(v[2], 0)
    qc.rz(v[0], 1)
    qc.rx(w, 0)
    qc.rxx(v[1], 0, 1)
    circuit = qml.from_qiskit(qc, inputs=list(v))
    assert [(op.gate, op.params[0].kind, op.params[0].index) for op in circuit.ops] == [
        ("ry", "input", 2), ("rz", "input", 0), ("rx", "trainable", 0), ("rxx", "input", 1)]


def test_from_qiskit_rejects_inputs_not_in_the_circuit():
    qc = QuantumCircuit(1)
    qc.rx(Parameter("a"), 0)
    with pytest.raises(qml.ConversionError, match=r"inputs \['zz'\] are not parameters of the circuit"):
        qml.from_qiskit(qc, inputs=[Parameter("zz")])


def test_from_qiskit_constant_global_phase_is_preserved():
    qc = QuantumCircuit(2, global_phase=1.1)
    qc.h(0)
    qc.cx(0, 1)
    circuit = qml.from_qiskit(qc)
    assert circuit.global_phase == pytest.approx(1.1)
    np.testing.assert_allclose(_engine_unitary(circuit), Operator(qc).data, atol=1e-12)


def test_from_qiskit_parameterized_global_phase_is_dropped_with_a_warning():
    a = Parameter("a")
    qc = QuantumCircuit(1, global_phase=a)
    qc.rx(a, 0)
    with pytest.warns(UserWarning, match="dropping a parameterized global phase"):
        circuit = qml.from_qiskit(qc)
    assert circuit.global_phase == 0.0


def test_from_qiskit_skips_barriers_and_final_measurements():
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.barrier()
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    circuit = qml.from_qiskit(qc)
    assert [op.gate for op in circuit.ops] == ["h", "cx"]


def test_from_qiskit_reads_alias_gate_names():
    qc = QuantumCircuit(2)
    qc.append(U1Gate(0.3), [0])
    qc.append(CU1Gate(0.6), [1, 0])
    circuit = qml.from_qiskit(qc)
    assert [op.gate for op in circuit.ops] == ["p", "cp"]
    np.testing.assert_allclose(_engine_unitary(circuit), Operator(qc).data, atol=1e-12)


@pytest.mark.parametrize("expr_of,problem", [
    (lambda a, b: a * b, "depends on several parameters"),
    (lambda a, b: a + b, "depends on several parameters"),
    (lambda a, b: a ** 2, "is not linear in a"),
    (lambda a, b: a.sin(), "is not linear in a"),
    (lambda a, b: 1 / a, "is not linear in a"),
])
def test_from_qiskit_rejects_non_linear_expressions(expr_of, problem):
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.h(1)
    qc.rx(expr_of(a, b), 0)
    with pytest.raises(qml.ConversionError, match=f"qiskit instruction #1 'rx': angle .* {problem}"):
        qml.from_qiskit(qc)


def test_from_qiskit_rejects_reset_naming_it():
    qc = QuantumCircuit(1)
    qc.x(0)
    qc.reset(0)
    with pytest.raises(qml.ConversionError, match="unsupported qiskit instruction #1 'reset'"):
        qml.from_qiskit(qc)


def test_from_qiskit_rejects_custom_gate_naming_it():
    qc = QuantumCircuit(2)
    qc.append(Gate("my_gate", 2, []), [0, 1])
    with pytest.raises(qml.ConversionError, match="unsupported qiskit instruction #0 'my_gate'; supported gates:"):
        qml.from_qiskit(qc)


def test_from_qiskit_rejects_gate_with_extra_angle():
    qc = QuantumCircuit(2)
    qc.cu(0.1, 0.2, 0.3, 0.4, 0, 1)  # CUGate has a fourth angle (gamma) and is not in qml's table
    with pytest.raises(qml.ConversionError, match="qiskit instruction #0 'cu'"):
        qml.from_qiskit(qc)


def test_from_qiskit_rejects_classically_conditioned_block():
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    with pytest.raises(qml.ConversionError, match="qiskit instruction #2 'if_else': classical bits"):
        qml.from_qiskit(qc)


def test_from_qiskit_rejects_mid_circuit_measurement():
    """A measurement followed by gates on the measured qubit changes the state; skipping it would be wrong."""
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.h(0)
    with pytest.raises(qml.ConversionError, match="'measure'"):
        qml.from_qiskit(qc)


def test_from_qiskit_rejects_non_finite_angle():
    qc = QuantumCircuit(1)
    qc.rx(float("inf"), 0)
    with pytest.raises(qml.ConversionError, match="qiskit instruction #0 'rx': angle inf is not finite"):
        qml.from_qiskit(qc)


# -- OpenQASM 3 --------------------------------------------------------------------------------------------
def _qasm_bind(qc: QuantumCircuit, theta, x) -> QuantumCircuit:
    """Bind a circuit loaded from qml's QASM 3 (inputs named _theta_<i>_ and _x_<i>_)."""
    values = {}
    for p in qc.parameters:
        vec, idx = re.fullmatch(r"_(theta|x)_(\d+)_", p.name).groups()
        values[p] = float((theta if vec == "theta" else x)[int(idx)])
    return qc.assign_parameters(values)


def _qasm_test_circuit() -> qml.Circuit:
    c = qml.Circuit(3)
    c.encode("ryzxy").layer("u3").ring("cu3")
    c.rzx(0, 2).ecr(1, 0).iswap(2, 1).u2(1).sxdg(0).ccx(0, 1, 2).cswap(2, 0, 1).cp(1, 2).crx(2, 0)
    c.rxx(0, 1, qml.Input(3, 0.5, 0.1)).ch(0, 2).cy(2, 1).sx(1).t(0).tdg(1).s(2).sdg(0)
    c.global_phase = 0.3
    return c


def test_qasm3_loads_back_with_same_parameters_and_gate_counts():
    c = _qasm_test_circuit()
    loaded = qasm3.loads(qml.to_qasm3(c))
    assert loaded.num_parameters == c.n_trainable + 16
    assert dict(loaded.count_ops()) == c.count_ops()


def test_qasm3_loads_back_to_an_equal_operator_when_bound():
    c = _qasm_test_circuit()
    rng = np.random.default_rng(3)
    theta, x = rng.uniform(-3, 3, c.n_trainable), rng.uniform(-2, 2, c.n_inputs)
    loaded = qasm3.loads(qml.to_qasm3(c))
    expected = Operator(qiskit_circuit(c, theta, x))
    # OpenQASM 3 has no global phase statement, so compare up to a global phase
    assert Operator(_qasm_bind(loaded, theta, x)).equiv(expected, atol=1e-9)


def test_qasm3_with_bound_angles_declares_only_the_features():
    c = qml.Circuit(2).encode("ry").layer("u3").ring("cx")
    text = qml.to_qasm3(c, theta=np.linspace(-1, 1, c.n_trainable))
    assert "theta" not in text
    loaded = qasm3.loads(text)
    assert sorted(p.name for p in loaded.parameters) == sorted(f"_x_{i}_" for i in range(16))


def test_qasm3_text_starts_with_version_and_includes_stdgates():
    text = qml.to_qasm3(qml.Circuit(1).h(0))
    assert text.startswith("OPENQASM 3.0;")
    assert 'include "stdgates.inc";' in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert qasm3.loads(text).count_ops() == {"h": 1}
