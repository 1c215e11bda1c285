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


def test_from_qiskit_rejects_reset_naming_it():
    qc = QuantumCircuit(1)
    qc.x(0)
    qc.reset(0)
    with pytest.raises(qml.ConversionError, match="unsupported qiskit instruction #1 'reset'"):
        qml.from_qiskit(qc)


def test_from_qiskit_rejects_a_gate_without_definition_naming_it():
    qc = QuantumCircuit(2)
    qc.append(Gate("my_gate", 2, []), [0, 1])
    with pytest.raises(qml.ConversionError, match="unsupported qiskit instruction #0 'my_gate': not one of qml's "
                                                  "gates .* and it has no definition to expand"):
        qml.from_qiskit(qc)


def test_from_qiskit_expands_a_standard_gate_qml_lacks_through_its_definition():
    qc = QuantumCircuit(2)
    qc.cu(0.1, 0.2, 0.3, 0.4, 0, 1)  # CUGate has a fourth angle (gamma): not in qml's table
    circuit = qml.from_qiskit(qc)
    assert "cu" not in {op.gate for op in circuit.ops}
    np.testing.assert_allclose(_engine_unitary(circuit), Operator(qc).data, atol=1e-12)


def _qasm2(body: str) -> QuantumCircuit:
    from qiskit import qasm2

    return qasm2.loads('OPENQASM 2.0; include "qelib1.inc"; ' + body)


@pytest.mark.parametrize("qc", [
    # a file's own gate whose name differs from a built-in only by case
    _qasm2("qreg q[2]; gate sWAP a,b { cx a,b; } x q[0]; sWAP q[0],q[1];"),
    # a file's own gate under a built-in's exact name
    _qasm2("qreg q[2]; gate rzx(t) a,b { cx a,b; rz(2*t) b; } h q[0]; rzx(0.7) q[0],q[1];"),
    # a benchmark's cH: the same operator as CH up to a phase (qelib1's ch body without its last 's a')
    _qasm2("qreg q[2]; gate cH a,b { h b; sdg b; cx a,b; h b; t b; cx a,b; t b; h b; s b; x b; } "
           "h q[0]; cH q[0],q[1];"),
], ids=["sWAP", "own-rzx", "cH"])
def test_from_qiskit_identifies_gates_by_class_not_name(qc):
    circuit = qml.from_qiskit(qc)
    np.testing.assert_allclose(_engine_unitary(circuit), Operator(qc).data, atol=1e-12)


def test_from_qasm2_reads_the_issues_swap_file_as_qiskit_does():
    text = ('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; gate sWAP a,b { cx a,b; } '
            'x q[0]; sWAP q[0],q[1]; measure q -> c;')
    probs = qml.QuantumModule(qml.from_qasm2(text), measure=qml.Probs()).double()()[0].detach().numpy()
    qc = _qasm2("qreg q[2]; gate sWAP a,b { cx a,b; } x q[0]; sWAP q[0],q[1];")
    np.testing.assert_allclose(probs, np.abs(Operator(qc).data[:, 0]) ** 2, atol=1e-12)
    assert probs[3] == pytest.approx(1.0)


def test_from_qasm2_reads_every_qelib1_gate_family_like_qiskit():
    body = ("qreg q[3]; u3(0.1,0.2,0.3) q[0]; u2(0.4,0.5) q[1]; u1(0.6) q[2]; cx q[0],q[1]; ccx q[0],q[1],q[2]; "
            "crz(0.7) q[2],q[0]; cu3(0.8,0.9,1.0) q[1],q[2]; rx(1.1) q[1]; "
            "sdg q[0]; tdg q[1]; ch q[0],q[2]; cy q[1],q[0]; cu1(1.3) q[0],q[2]; id q[2];")
    circuit = qml.from_qasm2('OPENQASM 2.0; include "qelib1.inc"; ' + body)
    assert circuit.n_trainable == 0 and circuit.n_inputs == 0
    np.testing.assert_allclose(_engine_unitary(circuit), Operator(_qasm2(body)).data, atol=1e-12)


def test_from_qasm2_parse_error_is_one_conversion_error():
    with pytest.raises(qml.ConversionError, match=r"^OpenQASM 2 text does not parse: [^\n]*$"):
        qml.from_qasm2('OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; nosuchgate q[0];')


def test_from_qiskit_expands_a_gate_named_like_a_built_in_but_defined_otherwise():
    inner = QuantumCircuit(2)
    inner.cz(0, 1)
    fake_cx = Gate("CX", 2, [])
    fake_cx.definition = inner
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.append(fake_cx, [0, 1])
    circuit = qml.from_qiskit(qc)
    assert [op.gate for op in circuit.ops] == ["h", "h", "cz"]
    np.testing.assert_allclose(_engine_unitary(circuit), Operator(qc).data, atol=1e-12)


def test_from_qiskit_open_controls_follow_the_definition():
    from qiskit.circuit.library import CRYGate, CXGate

    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.append(CXGate(ctrl_state=0), [0, 1])
    qc.append(CRYGate(0.4, ctrl_state=0), [2, 0])
    np.testing.assert_allclose(_engine_unitary(qml.from_qiskit(qc)), Operator(qc).data, atol=1e-12)


def test_from_qiskit_rejects_definitions_nested_too_deep():
    gate = QuantumCircuit(1)
    gate.x(0)
    op = gate.to_gate(label="g0")
    for level in range(1, 20):
        wrap = QuantumCircuit(1, name=f"g{level}")
        wrap.append(op, [0])
        op = wrap.to_gate()
    qc = QuantumCircuit(1)
    qc.append(op, [0])
    with pytest.raises(qml.ConversionError, match="nests more than 16 levels"):
        qml.from_qiskit(qc)


def _states_agree(qc: QuantumCircuit, dtype, atol: float) -> None:
    from qiskit.quantum_info import Statevector

    m = qml.QuantumModule(qml.from_qiskit(qc), dtype=dtype)
    got = m.statevector().detach().numpy()[0]
    np.testing.assert_allclose(got, Statevector(qc).data, atol=atol, rtol=0)


def test_from_qiskit_imports_every_standard_gate_without_decompose():
    """Every unitary gate of qiskit's standard gate mapping, with random angles, on random qubits."""
    from qiskit.circuit import Gate as QiskitGate
    from qiskit.circuit.library import get_standard_gate_name_mapping

    rng = np.random.default_rng(0)
    gates = [g for g in get_standard_gate_name_mapping().values() if isinstance(g, QiskitGate)]
    assert len(gates) >= 50
    for gate in gates:
        n = max(gate.num_qubits, 1)
        qc = QuantumCircuit(n + 1)
        qc.h(range(n + 1))
        qc.ry(0.3, range(n + 1))
        op = gate
        if gate.params:
            op = gate.to_mutable()
            op.params = [float(v) for v in rng.uniform(-3, 3, len(gate.params))]
        qc.append(op, [int(q) for q in rng.permutation(n + 1)[: gate.num_qubits]])
        _states_agree(qc, torch.complex128, 1e-10)


N_QISKIT_RANDOM = 300


def test_from_qiskit_agrees_with_statevector_on_qiskit_random_circuits():
    """qiskit's own random_circuit (all its standard gates, 1-10 qubits, up to 4 operands), complex128 and
    complex64, with no .decompose()."""
    from qiskit.circuit.random import random_circuit as qiskit_random_circuit

    for seed in range(N_QISKIT_RANDOM):
        qc = qiskit_random_circuit(1 + seed % 10, 1 + seed % 7, max_operands=min(4, 1 + seed % 10), seed=seed)
        _states_agree(qc, torch.complex128, 1e-10)
        if seed % 3 == 0:
            _states_agree(qc, torch.complex64, 1e-5)


@pytest.mark.parametrize("name", ["qft", "real_amplitudes", "efficient_su2", "zz_feature_map", "pauli_two_design",
                                  "grover"])
def test_from_qiskit_imports_qiskit_library_circuits_bound(name):
    from qiskit.circuit import library as lib

    rng = np.random.default_rng(1)
    if name == "qft":
        qc = lib.QFTGate(5).definition
    elif name == "grover":
        oracle = QuantumCircuit(3)
        oracle.ccz(0, 1, 2)
        qc = lib.grover_operator(oracle)
    else:
        qc = getattr(lib, name)(4)
    qc = qc.assign_parameters(rng.uniform(-2, 2, qc.num_parameters)) if qc.num_parameters else qc
    _states_agree(qc, torch.complex128, 1e-10)


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


N_ROUND_TRIPS = 300


def test_qasm3_round_trip_keeps_slots_features_and_input_shape():
    """300 random qml circuits with >= 11 trainable slots and features some of which are unused: to_qasm3 ->
    from_qasm3 gives a model with the same slots, features and statevector for the same theta and inputs; so does
    qiskit's own qasm3.loads -> from_qiskit(inputs="x") given the sizes (qiskit sorts _theta_10_ before _theta_2_)."""
    checked_unused = 0
    for seed in range(N_ROUND_TRIPS):
        c, _ = random_circuit(9000 + seed, max_wires=5, n_ops=24, kinds=("new", "input", "const", "new"),
                              n_features=6, all_features_used=False)
        if c.n_trainable < 11:
            continue
        rng = np.random.default_rng(seed)
        theta, x = rng.uniform(-3, 3, c.n_trainable), rng.uniform(-2, 2, (2, c.n_inputs))
        text = qml.to_qasm3(c)
        loaded = qasm3.loads(text)
        checked_unused += len(loaded.parameters) < c.n_trainable + c.n_inputs
        expected = _engine_states(c, theta, x)
        back = qml.from_qasm3(text)
        assert (back.n_trainable, back.n_inputs) == (c.n_trainable, c.n_inputs)
        assert [op.wires for op in back.ops] == [op.wires for op in c.ops]  # built-ins, not expanded (id -> u)
        np.testing.assert_allclose(_engine_states(back, theta, x), expected, atol=1e-10)
        plain = qml.from_qiskit(loaded, inputs="x", n_trainable=c.n_trainable, n_inputs=c.n_inputs)
        got = _engine_states(plain, theta, x)  # OpenQASM 3 has no global phase: equal up to one for the batch
        top = np.argmax(np.abs(expected[0]))
        np.testing.assert_allclose(got * (expected[0, top] / got[0, top]), expected, atol=1e-10)
    assert checked_unused >= 50


def _engine_states(circuit, theta, x) -> np.ndarray:
    m = qml.QuantumModule(circuit, dtype=torch.complex128)
    with torch.no_grad():
        m.theta.copy_(torch.as_tensor(theta, dtype=torch.float64))
    return m.statevector(torch.as_tensor(x)).detach().numpy()


def test_from_qiskit_rejects_fewer_slots_than_used():
    loaded = qasm3.loads(qml.to_qasm3(qml.Circuit(1).rx(0).ry(0)))
    with pytest.raises(qml.ConversionError, match="n_trainable=1, but the circuit uses 2"):
        qml.from_qiskit(loaded, n_trainable=1)


def test_from_qasm3_reports_unparsable_text_in_one_line():
    with pytest.raises(qml.ConversionError, match="OpenQASM 3 text does not parse"):
        qml.from_qasm3("OPENQASM 3.0; qubit[1] q; notagate q[0];")
