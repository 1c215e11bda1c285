"""Error mitigation: readout correction with mthree, ZNE by folding two-qubit gates, and both on the Aer twin.

The kernels are checked against hand computations on bits and circuits built here; one Aer run on the Quito
twin (whose readout errors are several percent) checks that mitigated ⟨Z⟩ lands closer to the ideal one."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import qml
from qml.backends.mitigation import Mitigation, MitigationPlan
from qml.backends.readout import assignment_matrices, calibration_circuits, corrected_z, measured_qubits
from qml.backends.zne import extrapolate, fold_two_qubit_gates, two_qubit_count
from qml.errors import InputError

pytest.importorskip("mthree")


def bits_with_ones(rows: list[list[int]], shots: int) -> np.ndarray:
    """Bits (len(rows), shots, n): in row r, clbit i reads 1 in the first rows[r][i] shots."""
    out = np.zeros((len(rows), shots, len(rows[0])), dtype=np.uint8)
    for r, ones in enumerate(rows):
        for i, k in enumerate(ones):
            out[r, :k, i] = 1
    return out


# -- readout -------------------------------------------------------------------------------------------------------
def test_one_qubit_readout_correction_matches_the_hand_computation():
    shots, e0, e1 = 10_000, 0.04, 0.12  # P(1|0), P(0|1)
    cal = bits_with_ones([[round(e0 * shots)], [round((1 - e1) * shots)]], shots)  # prepared 0, prepared 1
    matrices = assignment_matrices(np.array([[0], [1]]), cal)
    np.testing.assert_allclose(matrices[0], [[1 - e0, e1], [e0, 1 - e1]], atol=1e-6)
    ones = [[2000], [6500], [9000]]
    z_raw = 1 - 2 * np.array(ones)[:, 0] / shots
    z = corrected_z(bits_with_ones(ones, shots), matrices)[:, 0]
    np.testing.assert_allclose(z, np.clip((z_raw - (e1 - e0)) / (1 - e0 - e1), -1, 1), atol=1e-5)


def test_readout_correction_applies_each_clbits_own_matrix():
    shots, e = 10_000, 0.2
    exact = np.eye(2, dtype=np.float32)
    noisy = np.array([[1 - e, 0.0], [e, 1.0]], dtype=np.float32)  # clbit 1 reads 1 for 0 a fifth of the time
    bits = bits_with_ones([[0, round(e * shots)]], shots)  # both prepared in 0
    np.testing.assert_allclose(corrected_z(bits, [exact, noisy])[0], [1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(corrected_z(bits, [noisy, exact])[0], [1.0, 1 - 2 * e], atol=1e-5)


def test_calibration_circuits_prepare_the_measured_physical_qubits():
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(5, 2)
    qc.measure([3, 1], [0, 1])  # clbit 0 <- qubit 3, clbit 1 <- qubit 1
    assert measured_qubits(qc) == [3, 1]
    states = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    circuits = calibration_circuits(qc, states)
    flipped = [sorted(qc.find_bit(i.qubits[0]).index for i in c.data if i.operation.name == "x") for c in circuits]
    assert flipped == [[], [3], [1], [1, 3]]
    assert all(measured_qubits(c) == [3, 1] and c.num_qubits == 5 for c in circuits)


def test_without_mthree_readout_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mthree", None)
    with pytest.raises(InputError, match=r"^--mitigate readout needs mthree, .*pip install 'qml-robust\[mitigation\]'"):
        Mitigation(readout=True).check_available()
    Mitigation(zne=True).check_available()  # ZNE needs nothing extra


# -- ZNE -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("two_qubit", ["cx", "ecr", "cz"])
def test_folding_keeps_the_unitary_and_multiplies_the_two_qubit_gates(two_qubit):
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Operator

    qc = QuantumCircuit(3)
    qc.rz(0.3, 0)
    qc.sx(1)
    getattr(qc, two_qubit)(0, 1)
    qc.rz(-1.1, 1)
    qc.sx(2)
    getattr(qc, two_qubit)(1, 2)
    qc.x(0)
    for scale in (1, 3, 5):
        folded = fold_two_qubit_gates(qc, scale)
        assert Operator(folded).equiv(Operator(qc))
        assert two_qubit_count(folded) == 2 * scale
        ops = folded.count_ops()
        assert set(ops) == set(qc.count_ops()) and ops["rz"] == 2 and ops["sx"] == 2  # still native, 1q untouched


def test_folding_refuses_even_scales():
    from qiskit import QuantumCircuit

    with pytest.raises(InputError, match="odd integer"):
        fold_two_qubit_gates(QuantumCircuit(2), 2)


def test_extrapolation_recovers_the_zero_noise_value_of_known_curves():
    scales = [1, 3, 5]
    quadratic = np.array([[0.8 - 0.05 * s + 0.004 * s * s, -0.5 + 0.02 * s] for s in scales])  # (scale, wire)
    np.testing.assert_allclose(extrapolate(scales, quadratic, "richardson"), [0.8, -0.5], atol=1e-12)
    line = np.array([[0.9 - 0.06 * s] for s in scales])
    np.testing.assert_allclose(extrapolate(scales, line, "linear"), [0.9], atol=1e-12)
    np.testing.assert_allclose(extrapolate([1, 3], np.array([[0.9], [0.5]]), "linear"), [1.0])  # 1.1, clipped


def test_mitigation_flags_parse_lists_and_repeats_and_refuse_unknown_methods():
    assert Mitigation.parse(["readout,zne"]) == Mitigation.parse(["readout", "zne"]) == Mitigation(True, True)
    assert Mitigation.parse(None) is None
    assert Mitigation.parse(["zne"], "1,3", "richardson").scales == (1, 3)
    assert Mitigation(True, True).methods == ["readout", "zne", "readout+zne"]
    with pytest.raises(InputError, match="did you mean 'readout'"):
        Mitigation.parse(["readuot"])
    with pytest.raises(InputError, match="odd integers"):
        Mitigation.parse(["zne"], "1,2")
    assert Mitigation.from_dict(Mitigation(False, True, (1, 3, 7)).to_dict()) == Mitigation(False, True, (1, 3, 7))


def test_a_plan_counts_the_extra_executions_of_each_method():
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(5, 4)
    qc.cx(0, 1)
    qc.measure(range(4), range(4))
    plan = MitigationPlan(qc, Mitigation(True, True))
    assert sorted(plan.variants) == ["cal", "fold3", "fold5", "raw"]
    n_cal = len(plan.variants["cal"].circuits)
    assert plan.executions(10, 100) == {"raw": 1000, "readout": 1000 + 100 * n_cal, "zne": 3000,
                                        "readout+zne": 3000 + 100 * n_cal}


# -- on the Aer twin -----------------------------------------------------------------------------------------------
def test_on_the_quito_twin_mitigated_z_is_closer_to_the_ideal_than_raw():
    """X on wires 1 and 3, then CX 1→2 and 2→3 (routed: 5 CX on Quito): ideal ⟨Z⟩ (1, -1, -1, 1)."""
    from qml.backends.aer_executor import AerExecutor

    module = qml.QuantumModule(qml.Circuit(4).add("x", 1).add("x", 3).add("cx", [1, 2]).add("cx", [2, 3])).double()
    ideal = np.array([1.0, -1.0, -1.0, 1.0])
    lines = []
    result = AerExecutor("ibm_quito", seed=3).mitigated_expectations(module, None, 4000, Mitigation(True, True),
                                                                     log=lines.append)
    assert len(lines) == 1 and "readout calibration 8 circuits x 4000 shots = 32,000" in lines[0]
    error = {method: np.abs(z[0] - ideal).mean() for method, z in result.z.items()}  # raw 0.30 with seed 3
    assert error["raw"] > 0.1  # Quito's readout and CX errors are material
    assert error["readout"] < 0.75 * error["raw"]  # 0.16: readout fixed, the CX errors left
    assert error["zne"] < 0.9 * error["raw"]  # 0.23: the CX errors partly extrapolated away, readout left
    assert error["readout+zne"] < 0.5 * error["raw"]  # 0.09
    assert result.executions == {"raw": 4000, "readout": 36_000, "zne": 12_000, "readout+zne": 44_000}
