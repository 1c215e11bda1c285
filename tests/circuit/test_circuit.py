"""The circuit IR: builders, angle sources, encoders, composition and the errors for badly built circuits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Operator

import qml
from qml.circuit.circuit import Op
from qml.circuit.params import ParamRef
from tests.reference import qiskit_circuit


# -- building ---------------------------------------------------------------------------------------
def test_missing_angles_become_new_trainable_slots():
    c = qml.Circuit(2)
    c.u3(0)
    c.rx(1, 0.5)
    assert c.n_trainable == 3
    assert [p.kind for p in c.ops[0].params] == ["trainable"] * 3
    assert [p.index for p in c.ops[0].params] == [0, 1, 2]
    assert c.ops[1].params == (ParamRef("const", 0, 0.0, 0.5),)


def test_partial_angles_fill_the_rest_with_trainable_slots():
    c = qml.Circuit(1)
    c.u3(0, 0.1)
    kinds = [p.kind for p in c.ops[0].params]
    assert kinds == ["const", "trainable", "trainable"]
    assert c.n_trainable == 2


def test_trainable_with_index_shares_an_existing_slot():
    c = qml.Circuit(2)
    c.rx(0, qml.Trainable(init=0.3))
    c.ry(1, qml.Trainable(index=0, scale=2.0, offset=0.1))
    assert c.n_trainable == 1
    assert c.trainable_init == [0.3]
    assert c.ops[1].params[0] == ParamRef("trainable", 0, 2.0, 0.1)


def test_input_angle_records_feature_scale_and_offset():
    c = qml.Circuit(1)
    c.rz(0, qml.Input(3, 0.5, -1.0))
    assert c.ops[0].params[0] == ParamRef("input", 3, 0.5, -1.0)
    assert c.ops[0].is_batched
    assert c.n_inputs == 4


def test_declared_n_inputs_wins_over_used_features():
    c = qml.Circuit(1, n_inputs=5)
    c.rz(0, qml.Input(1))
    assert c.n_inputs == 5


def test_gate_methods_accept_wires_as_arguments_or_a_sequence():
    c = qml.Circuit(3)
    c.cx(0, 2).cx([2, 1]).cnot((1, 0)).ccx(0, 1, 2).crx(2, 0, 0.4)
    assert [op.wires for op in c.ops] == [(0, 2), (2, 1), (1, 0), (0, 1, 2), (2, 0)]
    assert [op.gate for op in c.ops] == ["cx", "cx", "cx", "ccx", "crx"]
    assert c.ops[-1].params[0].offset == pytest.approx(0.4)


def test_layer_puts_one_gate_on_each_wire_with_own_slots():
    c = qml.Circuit(3).layer("u3")
    assert [op.wires for op in c.ops] == [(0,), (1,), (2,)]
    assert c.n_trainable == 9


def test_ring_connects_neighbours_and_closes_the_ring():
    c = qml.Circuit(4).ring("cu3")
    assert [op.wires for op in c.ops] == [(0, 1), (1, 2), (2, 3), (3, 0)]


def test_ring_on_two_wires_is_a_single_pair():
    c = qml.Circuit(2).ring("cx")
    assert [op.wires for op in c.ops] == [(0, 1)]


def test_ring_needs_two_wires():
    with pytest.raises(qml.CircuitError, match="ring of cx needs at least 2 wires"):
        qml.Circuit(3).ring("cx", wires=[1])


def test_count_ops_and_len():
    c = qml.Circuit(2).h(0).h(1).cx(0, 1)
    assert len(c) == 3
    assert c.count_ops() == {"h": 2, "cx": 1}


def test_compose_shifts_trainable_slots_and_adds_global_phase():
    a = qml.Circuit(2).rx(0, qml.Trainable(init=0.1))
    a.global_phase = 0.2
    b = qml.Circuit(2).ry(1, qml.Trainable(init=0.7)).crz(0, 1, qml.Trainable(index=0, scale=2.0))
    b.global_phase = 0.3
    a.compose(b)
    assert a.n_trainable == 2
    assert a.trainable_init == [0.1, 0.7]
    assert [op.params[0].index for op in a.ops] == [0, 1, 1]
    assert a.ops[2].params[0].scale == 2.0
    assert a.global_phase == pytest.approx(0.5)


def test_composed_circuit_has_the_product_unitary():
    a = qml.Circuit(2).h(0).rx(1, qml.Trainable(init=0.3))
    b = qml.Circuit(2).cx(0, 1).ry(0, qml.Trainable(init=-1.1))
    a.compose(b)
    got = qml.QuantumModule(a, dtype=torch.complex128).unitary().detach().numpy()
    expected = Operator(qiskit_circuit(a, [0.3, -1.1])).data
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_compose_rejects_a_wider_circuit():
    with pytest.raises(qml.CircuitError, match="cannot compose a 3-wire circuit into 2 wires"):
        qml.Circuit(2).compose(qml.Circuit(3))


def test_append_validates_like_add():
    c = qml.Circuit(2)
    with pytest.raises(qml.CircuitError, match="wire 5 out of range"):
        c.append(Op("h", (5,)))


# -- encoders ----------------------------------------------------------------------------------------
def test_encoder_4x4_ryzxy_puts_feature_i_on_wire_i_mod_4_in_ry_rz_rx_ry_layers():
    c = qml.Circuit(4).encode("4x4_ryzxy")
    layers = ["ry", "rz", "rx", "ry"]
    expected = [(layers[i // 4], (i % 4,), ParamRef("input", i, 1.0, 0.0)) for i in range(16)]
    assert [(op.gate, op.wires, op.params[0]) for op in c.ops] == expected
    assert c.n_inputs == 16
    assert c.n_trainable == 0


def test_encoder_letters_cycle_sixteen_features_over_the_wires():
    c = qml.Circuit(3).encode("ry")
    assert len(c) == 16
    assert [op.wires[0] for op in c.ops] == [j % 3 for j in range(16)]
    assert {op.gate for op in c.ops} == {"ry"}
    assert [op.params[0].index for op in c.ops] == list(range(16))


def test_encoder_on_chosen_wires_with_a_feature_offset():
    c = qml.Circuit(6).encode("4x4_ryzxy", wires=[5, 4, 3, 2], first_feature=2)
    assert c.ops[0].wires == (5,) and c.ops[0].params[0].index == 2
    assert c.ops[3].wires == (2,) and c.ops[3].params[0].index == 5
    assert c.n_inputs == 18


def test_encoder_for_other_width_is_rejected():
    with pytest.raises(qml.CircuitError, match="encoder '4x4_ryzxy' is for 4 wires, the circuit has 3"):
        qml.Circuit(3).encode("4x4_ryzxy")


@pytest.mark.parametrize("name", ["foo", "rq", "4x4_abc", "angle"])
def test_unknown_encoder_is_rejected(name):
    with pytest.raises(qml.CircuitError, match=f"unknown encoder '{name}'"):
        qml.Circuit(4).encode(name)


# -- errors naming the op and the problem --------------------------------------------------------------
def test_wire_out_of_range_names_op_and_range():
    c = qml.Circuit(3).h(0)
    with pytest.raises(qml.CircuitError, match=r"op #1 cx: wire 3 out of range for a 3-wire circuit \(wires 0\.\.2\)"):
        c.cx(0, 3)


def test_negative_wire_is_out_of_range():
    with pytest.raises(qml.CircuitError, match="op #0 h: wire -1 out of range"):
        qml.Circuit(2).h(-1)


def test_repeated_wire_in_one_gate_is_rejected():
    with pytest.raises(qml.CircuitError, match=r"op #0 rxx: repeated wire in \[1, 1\]"):
        qml.Circuit(2).rxx(1, 1)


def test_wrong_number_of_wires_is_rejected():
    with pytest.raises(qml.CircuitError, match=r"op #0 cx: acts on 2 wire\(s\), got 1"):
        qml.Circuit(2).add("cx", 0)


def test_unknown_gate_suggests_the_closest_name():
    with pytest.raises(qml.CircuitError, match=r"op #0: unknown gate 'cnto' \(did you mean 'cnot'\?\)"):
        qml.Circuit(2).add("cnto", (0, 1))


def test_unknown_gate_without_close_match_lists_known_gates():
    with pytest.raises(qml.CircuitError, match=r"unknown gate 'qqqq' \(known: ccx, ch, "):
        qml.Circuit(2).add("qqqq", 0)


def test_too_many_angles_names_the_gate_and_its_parameters():
    with pytest.raises(qml.CircuitError, match=r"op #0 rx: takes 1 angle\(s\) \['theta'\], got 2"):
        qml.Circuit(1).rx(0, 0.1, 0.2)


def test_constant_gate_rejects_any_angle():
    with pytest.raises(qml.CircuitError, match=r"op #0 h: takes 0 angle\(s\)"):
        qml.Circuit(1).add("h", 0, 0.5)


def test_non_integer_wire_in_gate_method_is_rejected():
    with pytest.raises(qml.CircuitError, match="op #0 h: wires must be integers, got 1.5"):
        qml.Circuit(2).h(1.5)


def test_non_integer_wire_in_a_wire_list_is_rejected():
    with pytest.raises(qml.CircuitError, match="op #0 cx: wires must be integers, got '1'"):
        qml.Circuit(2).add("cx", [0, "1"])


def test_non_integer_wire_passed_to_add_is_rejected_with_a_circuit_error():
    """``add`` with a bare non-integer wire must give the same CircuitError as the gate methods."""
    with pytest.raises(qml.CircuitError, match="op #0 h: wires must be integers, got 1.5"):
        qml.Circuit(2).add("h", 1.5)


def test_non_finite_constant_angle_is_rejected():
    with pytest.raises(qml.CircuitError, match="op #0 rx: constant angle must be finite, got nan"):
        qml.Circuit(1).rx(0, float("nan"))


def test_unknown_trainable_slot_is_rejected():
    with pytest.raises(qml.CircuitError, match=r"op #0 rx: trainable slot 4 does not exist \(0 slots\)"):
        qml.Circuit(1).rx(0, qml.Trainable(index=4))


def test_feature_beyond_declared_inputs_is_rejected():
    with pytest.raises(qml.CircuitError, match=r"op #0 ry: feature index 2 out of range \(expected 0\.\.1\)"):
        qml.Circuit(1, n_inputs=2).ry(0, qml.Input(2))


def test_negative_feature_index_is_rejected():
    with pytest.raises(qml.CircuitError, match="op #0 ry: feature index -1 out of range"):
        qml.Circuit(1).ry(0, qml.Input(-1))


def test_angle_of_wrong_type_is_rejected():
    with pytest.raises(qml.CircuitError,
                       match="op #0 rx: angle must be None, a number, qml.Input, qml.Trainable or qml.Expr"):
        qml.Circuit(1).rx(0, "0.5")


def test_gate_name_must_be_a_string():
    with pytest.raises(qml.CircuitError, match="op #0: gate name must be a string"):
        qml.Circuit(1).add(3, 0)


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_circuit_width_must_be_a_positive_integer(n):
    with pytest.raises(qml.CircuitError, match="n_wires must be a positive integer"):
        qml.Circuit(n)


def test_circuit_errors_are_value_errors_and_qml_errors():
    assert issubclass(qml.CircuitError, ValueError)
    assert issubclass(qml.CircuitError, qml.QmlError)
