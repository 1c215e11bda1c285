"""``NoiseModel``: one Pauli channel per logical gate from a device snapshot, readout confusion per wire, layout
checks; and the Pauli tables it is built from (``qml.noise.pauli``), checked against qiskit's channel maths."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Chi, Kraus, Pauli, average_gate_fidelity
from qiskit_aer.noise import QuantumError, thermal_relaxation_error

import qml
from qml.device.target import to_aer_noise_model
from qml.errors import NoiseError
from qml.noise import NoiseModel, load_snapshot, pauli
from qml.noise.model import check_layout

LETTERS = "IXYZ"


def pauli_kraus(table: np.ndarray) -> Kraus:
    """The Pauli channel of a table (index = sum P_j 4^j, P_j on qubit j) as qiskit Kraus operators."""
    k = int(round(np.log(len(table)) / np.log(4)))
    ops = []
    for index, p in enumerate(table):
        if p > 0:
            label = "".join(LETTERS[(index // 4**j) % 4] for j in reversed(range(k)))  # qiskit: qubit 0 rightmost
            ops.append(np.sqrt(p) * Pauli(label).to_matrix())
    return Kraus(ops)


def one_hot(index: int, k: int = 1) -> np.ndarray:
    t = np.zeros(4**k)
    t[index] = 1.0
    return t


@pytest.fixture(scope="module")
def quito():
    return load_snapshot("ibm_quito")


@pytest.fixture(scope="module")
def qnn():
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    return c


@pytest.fixture(scope="module")
def qnn_channels(quito, qnn):
    return NoiseModel(quito).channels(qnn)


def cu3_error(snapshot, layout, **kwargs) -> float:
    c = qml.Circuit(2).add("cu3", (0, 1))
    return NoiseModel(snapshot, layout, **kwargs).channels(c)[0].error


# -- Pauli tables ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("error", [1e-4, 0.01, 0.2])
def test_depolarizing_probability_round_trips_the_average_infidelity(k, error):
    table = pauli.depolarizing(k, pauli.depolarizing_from_error(k, error))
    assert pauli.infidelity(table) == pytest.approx(error, rel=1e-12)


@pytest.mark.parametrize("k,error", [(1, 0.003), (1, 0.3), (2, 0.02)])
def test_depolarizing_infidelity_agrees_with_qiskit_average_gate_fidelity(k, error):
    table = pauli.depolarizing(k, pauli.depolarizing_from_error(k, error))
    assert 1 - average_gate_fidelity(pauli_kraus(table)) == pytest.approx(error, rel=1e-9)


def test_depolarizing_error_is_capped_at_the_fully_depolarizing_channel():
    assert pauli.depolarizing_from_error(1, 5.0) == pytest.approx(0.75)
    assert pauli.depolarizing_from_error(2, 5.0) == pytest.approx(15 / 16)


def test_depolarizing_table_sums_to_one_with_uniform_errors():
    table = pauli.depolarizing(2, 0.3)
    assert table.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(table[1:], 0.02)


def test_compose_x_with_x_is_identity():
    np.testing.assert_array_equal(pauli.compose(one_hot(1), one_hot(1)), one_hot(0))


def test_compose_x_with_z_lands_on_the_y_index():
    np.testing.assert_array_equal(pauli.compose(one_hot(1), one_hot(3)), one_hot(2))


def test_compose_acts_qubit_by_qubit_on_two_qubit_indices():
    x0 = one_hot(1, 2)       # X on qubit 0
    z1 = one_hot(3 * 4, 2)   # Z on qubit 1
    y0z1 = one_hot(2 + 3 * 4, 2)
    np.testing.assert_array_equal(pauli.compose(x0, z1), one_hot(1 + 3 * 4, 2))
    np.testing.assert_array_equal(pauli.compose(x0, y0z1), one_hot(3 + 3 * 4, 2))  # XY = Z up to phase


def test_compose_matches_qiskit_channel_composition():
    rng = np.random.default_rng(0)
    a, b = rng.dirichlet(np.ones(16)), rng.dirichlet(np.ones(16))
    chi = Chi(pauli_kraus(a).compose(pauli_kraus(b)))
    twirl = np.real(np.diag(chi.data)) / 4  # qiskit's Chi has trace d = 4
    # qiskit's Chi basis orders Paulis with qubit 0 as the fast (rightmost) index, like our tables
    np.testing.assert_allclose(twirl, pauli.compose(a, b), atol=1e-12)


def test_thermal_over_zero_duration_is_the_identity():
    np.testing.assert_array_equal(pauli.thermal(0.0, 50e-6, 40e-6), pauli.identity(1))


@pytest.mark.parametrize("duration", [35e-9, 1e-6, 80e-6])
def test_thermal_probabilities_sum_to_one_and_are_non_negative(duration):
    table = pauli.thermal(duration, 50e-6, 70e-6)
    assert table.sum() == pytest.approx(1.0)
    assert (table >= 0).all()


@pytest.mark.parametrize("t1,t2", [(50e-6, 30e-6), (40e-6, 79e-6)])
def test_thermal_is_the_pauli_twirl_of_qiskit_aers_thermal_relaxation(t1, t2):
    duration = 2e-6
    chi = Chi(thermal_relaxation_error(t1, t2, duration).to_quantumchannel())
    twirl = np.real(np.diag(chi.data)) / 2
    np.testing.assert_allclose(pauli.thermal(duration, t1, t2), twirl, atol=1e-12)


def test_scaled_multiplies_the_error_mass_by_the_factor():
    table = pauli.depolarizing(2, 0.04)
    out = pauli.scaled(table, 3.0)
    assert 1 - out[0] == pytest.approx(0.12)
    np.testing.assert_allclose(out[1:], 3 * table[1:])


def test_scaled_caps_the_error_mass_at_one():
    out = pauli.scaled(pauli.depolarizing(1, 0.4), 5.0)
    assert out[0] == pytest.approx(0.0, abs=1e-15)
    assert out.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(out[1:], 1 / 3)


def test_scaled_by_zero_is_the_identity():
    np.testing.assert_array_equal(pauli.scaled(pauli.depolarizing(2, 0.3), 0.0), pauli.identity(2))


# -- channels per op ----------------------------------------------------------------------------------------------
def test_channels_have_one_entry_per_op_on_its_wires(qnn, qnn_channels):
    assert len(qnn_channels) == len(qnn.ops)
    for op, ch in zip(qnn.ops, qnn_channels, strict=True):
        assert ch.wires == op.wires
        assert ch.table.shape == (4 ** len(op.wires),)


def test_channels_are_probability_tables(qnn_channels):
    for ch in qnn_channels:
        assert ch.table.sum() == pytest.approx(1.0)
        assert (ch.table >= -1e-15).all()


def test_pulsed_gates_and_two_qubit_gates_carry_error(qnn, qnn_channels):
    for op, ch in zip(qnn.ops, qnn_channels, strict=True):
        if op.gate != "rz":
            assert 0 < ch.error < 1, op


def test_rz_is_virtual_and_gets_no_error_without_thermal(quito):
    c = qml.Circuit(2).add("rz", 0, 0.3).add("rzz", (0, 1), 0.4).add("rz", 1, qml.Input(0))
    for op, ch in zip(c.ops, NoiseModel(quito, thermal=False).channels(c), strict=True):
        if op.gate == "rz":
            assert ch.error == 0.0
            np.testing.assert_array_equal(ch.table, pauli.identity(1))


def test_same_gate_on_another_qubit_gets_that_qubits_error(quito):
    c = qml.Circuit(4).layer("sx")
    errors = [ch.error for ch in NoiseModel(quito, [0, 1, 2, 3], thermal=False).channels(c)]
    expected = [pauli.depolarizing_from_error(1, quito.gate_error("sx", q)) for q in range(4)]
    np.testing.assert_allclose(errors, expected, rtol=1e-12)


def test_cu3_on_an_uncoupled_pair_pays_for_the_swap_routing_inserts(quito):
    """Quito couples 0-1 and 1-2, not 0-2: routing swaps one wire next to the other; the SWAP's channel is its
    three native cx on that pair (by hand, without relaxation), and the cu3 lands on a coupled pair."""
    assert (0, 2) not in quito.edges and (0, 1) in quito.edges
    c = qml.Circuit(2).add("cu3", (0, 1))
    noise = NoiseModel(quito, [0, 2], thermal=False)
    routing = noise.routing(c)
    ((swap,),) = [s for s in routing.swaps if s]
    assert tuple(sorted(routing.placed[0])) in quito.edges and 1 in swap.qubits
    ((moved,),) = [m for m in noise.moves(c) if m]
    assert None in swap.wires  # the wire moved onto a qubit no wire held: it keeps the channel's marginal
    e = quito.gate_error("cx", swap.qubits) if swap.qubits in quito.coupling_map else \
        quito.gate_error("cx", swap.qubits[::-1])
    three_cx = pauli.depolarizing(2, pauli.depolarizing_from_error(2, 1 - (1 - e) ** 3))
    no_error_on_one_qubit = three_cx[[4 * p for p in range(4)]].sum()  # identity on the first qubit, any on the other
    assert moved.wires == (swap.wires[0] if swap.wires[0] is not None else swap.wires[1],)
    assert moved.error >= 1 - no_error_on_one_qubit - 1e-12
    assert noise.success_rate(c) < NoiseModel(quito, [0, 1], thermal=False).success_rate(c)


def test_cu3_error_includes_its_two_native_cx_gates(quito):
    r = 1 - (1 - quito.gate_error("cx", (0, 1))) ** 2
    assert cu3_error(quito, [0, 1], thermal=False) >= pauli.depolarizing_from_error(2, r) - 1e-12


@pytest.mark.parametrize("gate,qubits", [("sx", (1,)), ("sx", (2,)), ("x", (3,)), ("cx", (0, 1)), ("cx", (1, 3)),
                                         ("cx", (3, 4))])
def test_native_gate_infidelity_matches_qiskit_aers_error_for_it(quito, gate, qubits):
    """Both split the calibrated error into thermal relaxation plus depolarizing; their infidelities agree."""
    aer = to_aer_noise_model(quito).to_dict()
    entry = next(e for e in aer["errors"]
                 if e["type"] == "qerror" and e["operations"] == [gate] and tuple(e["gate_qubits"][0]) == qubits)
    aer_infidelity = 1 - average_gate_fidelity(QuantumError.from_dict(entry).to_quantumchannel())
    c = qml.Circuit(5).add(gate, qubits)
    ours = pauli.infidelity(NoiseModel(quito).channels(c)[0].table)
    assert ours == pytest.approx(aer_infidelity, rel=0.02)


def relaxation_only(snapshot):
    """``snapshot`` with every gate and readout error zero, T1 and T2 kept: thermal relaxation alone."""
    import dataclasses

    return dataclasses.replace(
        snapshot, gates=tuple(dataclasses.replace(g, error=0.0) for g in snapshot.gates),
        qubits=tuple(dataclasses.replace(q, prob_meas1_prep0=0.0, prob_meas0_prep1=0.0, readout_error=0.0)
                     for q in snapshot.qubits))


def test_relaxation_after_native_gates_is_qiskit_aers_thermal_relaxation_exactly(quito):
    """Gates that are one native gate each (x, sx, cx on a cx device): their relaxation happens at the gate's end,
    so the Pauli twirl plus the pull towards |0> is qiskit-aer's thermal relaxation channel, to rounding."""
    from qml.backends.torch_executor import TorchExecutor
    from qml.device import Device
    from tests.reference import aer_twin_reference_z

    snapshot = relaxation_only(quito)
    c = qml.Circuit(4).add("x", (0,)).add("sx", (1,)).add("x", (3,)).add("cx", (0, 1)).add("cx", (1, 3))
    c.add("sx", (0,)).add("x", (3,)).add("cx", (3, 1))
    module = qml.QuantumModule(c).double()
    layout = (0, 1, 2, 3)
    noise = NoiseModel(snapshot, layout)
    assert all(ch.damping for ch in noise.channels(c))
    ours = TorchExecutor(noise).expectations(module, None).numpy()
    device = Device.load(snapshot)
    transpiled, _ = device.transpile_measured(module, layout)
    aer = aer_twin_reference_z(transpiled, None, to_aer_noise_model(snapshot))
    np.testing.assert_allclose(ours, aer, atol=1e-9)
    from qml.sim.density import DensityMatrix, readout_probabilities
    from qml.sim.measure import z_expectations

    rho = DensityMatrix(c).run(module.theta.detach(), None, [ch.table for ch in noise.channels(c)])
    twirled = z_expectations(readout_probabilities(rho, 4), 4, tuple(range(4))).numpy()
    assert np.abs(twirled - aer).max() > 1e-4  # the twirl alone misses the pull towards |0>


def test_gates_the_transpiler_merges_are_charged_what_the_transpiled_circuit_runs(quito):
    """Two u3 with trained (bound) angles become one U (2 sx pulses) once transpiled: together they cost what one
    u3 costs alone. Two u3 of input features stay two (4 pulses): the transpiler cannot merge symbolic angles."""
    from qml.device import Device

    def u3(c, *params):
        return c.add("u3", (0,), *params)

    one = u3(qml.Circuit(1))
    trained = u3(u3(qml.Circuit(1)))
    inputs = u3(u3(qml.Circuit(1), qml.Input(0), qml.Input(1), qml.Input(2)), qml.Input(3), qml.Input(4), qml.Input(5))
    device = Device.load(quito)
    for circuit in (trained, inputs):  # the counts are the device's own transpiled circuit's
        transpiled, _ = device.transpile_measured(qml.QuantumModule(circuit), (2,))
        assert device.native_counts(circuit, (2,)).pulses == {2: transpiled.count_ops().get("sx", 0)}
    model = NoiseModel(quito, (2,))
    single = model.channels(one)[0].error
    assert sum(ch.error for ch in model.channels(trained)) == pytest.approx(single, rel=0.01)  # to first order
    assert sum(ch.error for ch in model.channels(inputs)) == pytest.approx(2 * single, rel=0.01)


def test_cx_relaxation_pulls_both_wires_to_zero_on_a_cx_device_and_the_control_to_one_on_an_ecr_device(quito):
    cx = qml.Circuit(2).add("cx", (0, 1))
    pair = (0, 1)
    cal = quito.gate("cx", pair)
    damping = NoiseModel(quito, pair).channels(cx)[0].damping
    expected = [1 - np.exp(-cal.duration / quito.qubit(q).t1) for q in pair]  # by hand: gamma = 1 - e^(-t/T1)
    np.testing.assert_allclose(damping, expected, rtol=1e-12)
    brisbane = load_snapshot("ibm_brisbane")
    a, b = brisbane.coupling_map[0]
    control, target = NoiseModel(brisbane, (a, b)).channels(cx)[0].damping  # ECR, then X on the control
    assert control < 0 < target


def test_factor_zero_gives_no_gate_error(quito, qnn):
    for ch in NoiseModel(quito, factor=0.0).channels(qnn):
        assert ch.error == 0.0


def test_factor_scales_every_error_probability(quito, qnn, qnn_channels):
    doubled = NoiseModel(quito, factor=2.0).channels(qnn)
    for one, two in zip(qnn_channels, doubled, strict=True):
        np.testing.assert_allclose(two.table[1:], 2 * one.table[1:], rtol=1e-12, atol=0)


def test_with_factor_keeps_device_and_layout(quito):
    model = NoiseModel(quito, [1, 0, 2, 3], 0.5, thermal=False).with_factor(1.5)
    assert (model.factor, model.layout, model.thermal, model.snapshot) == (1.5, (1, 0, 2, 3), False, quito)


@pytest.mark.parametrize("factor", [-0.1, float("nan"), float("inf"), "1"])
def test_bad_factor_is_a_noise_error(quito, factor):
    with pytest.raises(NoiseError, match="noise factor"):
        NoiseModel(quito, factor=factor)


def test_layout_moves_a_gates_error_to_the_chosen_physical_qubits(quito):
    c = qml.Circuit(2).add("cx", (0, 1))
    on_12 = NoiseModel(quito, [1, 2], thermal=False).channels(c)[0].error
    on_13 = NoiseModel(quito, [1, 3], thermal=False).channels(c)[0].error
    assert on_12 == pytest.approx(pauli.depolarizing_from_error(2, quito.gate_error("cx", (1, 2))))
    assert on_13 == pytest.approx(pauli.depolarizing_from_error(2, quito.gate_error("cx", (1, 3))))


# -- readout and success rate --------------------------------------------------------------------------------------
def test_confusion_is_the_readout_of_the_qubit_qiskit_measures_each_wire_on(quito, qnn):
    """The ring of cu3 needs routing on this layout: wires end where qiskit's transpiled circuit measures them."""
    from qml.device import Device

    layout = [4, 3, 1, 0]
    transpiled, _ = Device.load(quito).transpile_measured(qml.QuantumModule(qnn), layout)
    measured = {transpiled.find_bit(i.clbits[0]).index: transpiled.find_bit(i.qubits[0]).index
                for i in transpiled.data if i.operation.name == "measure"}
    assert [measured[w] for w in range(4)] != layout  # routing moved some wire
    confusion = NoiseModel(quito, layout).confusion(qnn)
    assert len(confusion) == 4
    for w, m in enumerate(confusion):
        np.testing.assert_array_equal(m, quito.readout_confusion(measured[w]))
        np.testing.assert_allclose(m.sum(1), 1.0)


def test_confusion_is_none_without_readout(quito, qnn):
    assert NoiseModel(quito, readout=False).confusion(qnn) == [None] * 4


def test_success_rate_is_a_probability_that_falls_with_the_factor(quito, qnn):
    rates = [NoiseModel(quito, factor=f).success_rate(qnn) for f in (0.0, 0.5, 1.0, 2.0)]
    assert all(0 < r <= 1 for r in rates)
    assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]


def test_success_rate_is_the_product_of_gate_swap_and_readout_fidelities(quito, qnn, qnn_channels):
    noise = NoiseModel(quito)
    expected = np.prod([1 - ch.error for ch in qnn_channels + [m for ms in noise.moves(qnn) for m in ms]])
    for q in noise.routing(qnn).final:
        m = quito.readout_confusion(q)
        expected *= 1 - (m[0, 1] + m[1, 0]) / 2
    assert NoiseModel(quito).success_rate(qnn) == pytest.approx(expected, rel=1e-12)


# -- layouts ---------------------------------------------------------------------------------------------------
def assert_one_line_noise_error(excinfo, *words):
    message = str(excinfo.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_circuit_wider_than_the_device_is_a_noise_error(quito):
    with pytest.raises(NoiseError) as excinfo:
        NoiseModel(quito).channels(qml.Circuit(6).layer("x"))
    assert_one_line_noise_error(excinfo, "6 qubits", "ibm_quito", "only 5")


def test_layout_using_a_qubit_twice_is_a_noise_error(quito, qnn):
    with pytest.raises(NoiseError) as excinfo:
        NoiseModel(quito, [0, 0, 1, 2]).channels(qnn)
    assert_one_line_noise_error(excinfo, "physical qubit 0 twice")


def test_layout_with_a_qubit_off_the_device_is_a_noise_error(quito, qnn):
    with pytest.raises(NoiseError) as excinfo:
        NoiseModel(quito, [0, 1, 2, 7]).channels(qnn)
    assert_one_line_noise_error(excinfo, "qubit 7 is not on device ibm_quito", "0..4")


def test_layout_of_the_wrong_length_is_a_noise_error(quito, qnn):
    with pytest.raises(NoiseError) as excinfo:
        NoiseModel(quito, [0, 1, 2]).confusion(qnn)
    assert_one_line_noise_error(excinfo, "3 physical qubits for 4 logical wires")


def test_negative_qubit_in_a_layout_is_a_noise_error():
    with pytest.raises(NoiseError, match="qubit -1 is not on device"):
        check_layout([0, -1], 2, 5, "ibm_quito")


def test_check_layout_defaults_to_the_trivial_layout():
    assert check_layout(None, 3, 5, "ibm_quito") == (0, 1, 2)


def test_check_layout_rejects_a_device_narrower_than_the_circuit():
    with pytest.raises(NoiseError, match="the circuit has 4 qubits but device tiny has only 3"):
        check_layout(None, 4, 3, "tiny")


# -- ECR- and CZ-native devices ------------------------------------------------------------------------------------
@pytest.mark.parametrize("device,native", [("ibm_brisbane", "ecr"), ("ibm_torino", "cz")])
def test_channels_on_current_native_gate_sets(device, native, qnn):
    snap = load_snapshot(device)
    assert snap.two_qubit_gate == native
    channels = NoiseModel(snap).channels(qnn)
    assert len(channels) == len(qnn.ops)
    for op, ch in zip(qnn.ops, channels, strict=True):
        assert ch.table.sum() == pytest.approx(1.0)
        if op.gate == "cu3":
            assert 0 < ch.error < 1


@pytest.mark.parametrize("device", ["ibm_brisbane", "ibm_torino"])
def test_cu3_on_current_devices_pays_for_its_native_gates(device):
    snap = load_snapshot(device)
    cal = next(g for g in snap.gates if g.gate == snap.two_qubit_gate)
    a, b = cal.qubits
    r = 1 - (1 - cal.error) ** 2
    assert cu3_error(snap, [a, b], thermal=False) >= pauli.depolarizing_from_error(2, r) - 1e-12
