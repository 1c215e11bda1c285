"""``DensityMatrix``: exact noisy simulation, the reference that sampled noise injection converges to. Noise-free
runs are compared with qiskit's ``Statevector``, Pauli channels with qiskit-aer's ``pauli_error`` and
``depolarizing_error`` applied by qiskit's ``DensityMatrix``, readout confusion with the tensor product of the
per-wire confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import DensityMatrix as QiskitDensityMatrix
from qiskit.quantum_info import Operator, Statevector
from qiskit_aer.noise import depolarizing_error, pauli_error

import qml
from qml.errors import InputError
from qml.noise import pauli
from qml.sim.density import DensityMatrix, apply_confusion, op_matrices, readout_probabilities
from tests.reference import qiskit_circuit, random_circuit, theta_of

MULTI_QUBIT = ["ccx", "cswap", "rzz", "iswap", "ecr", "crx", "cu3", "cx", "swap", "rzx"]
SINGLE_QUBIT = ["h", "sx", "rx", "ry", "rz", "u3", "u2", "t"]
LETTERS = "IXYZ"


def rho_of(circuit: qml.Circuit, x: np.ndarray, channels=None) -> tuple[np.ndarray, qml.QuantumModule]:
    m = qml.QuantumModule(circuit).double()
    rho = DensityMatrix(circuit).run(m.theta.detach(), torch.tensor(x), channels)
    return rho.numpy(), m


def pauli_labels(table: np.ndarray) -> list[tuple[str, float]]:
    """A table as qiskit-aer ``pauli_error`` terms (qiskit labels: qubit 0 rightmost)."""
    k = int(round(np.log(len(table)) / np.log(4)))
    return [("".join(LETTERS[(i // 4**j) % 4] for j in reversed(range(k))), float(p))
            for i, p in enumerate(table) if p > 0]


# -- noise-free: equal to |psi><psi| from qiskit ------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_noise_free_density_matrix_is_the_qiskit_pure_state(seed):
    c, x = random_circuit(500 + seed, n_wires=3 + seed % 2, n_ops=14, gates=MULTI_QUBIT + SINGLE_QUBIT)
    rho, m = rho_of(c, x)
    for b in range(x.shape[0]):
        psi = Statevector(qiskit_circuit(c, theta_of(m), x[b])).data
        np.testing.assert_allclose(rho[b], np.outer(psi, psi.conj()), atol=1e-10, rtol=0)


def test_noise_free_density_matrix_matches_the_modules_own_qiskit_export():
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    x = np.random.default_rng(1).uniform(-np.pi, np.pi, (2, 16))
    rho, m = rho_of(c, x)
    for b in range(2):
        psi = Statevector(m.to_qiskit(bind=True, x=torch.tensor(x[b]))).data
        np.testing.assert_allclose(rho[b], np.outer(psi, psi.conj()), atol=1e-10, rtol=0)


def test_density_matrix_of_a_circuit_without_inputs_has_batch_one():
    c = qml.Circuit(2).add("h", 0).add("cx", (0, 1))
    rho = DensityMatrix(c).run(torch.zeros(0, dtype=torch.float64), None)
    bell = np.zeros((4, 4))
    bell[0, 0] = bell[0, 3] = bell[3, 0] = bell[3, 3] = 0.5
    np.testing.assert_allclose(rho.numpy()[0], bell, atol=1e-12)


@pytest.mark.parametrize("seed,gate", list(enumerate(["cu3", "crx", "ecr", "iswap", "rzz", "ccx"])))
def test_op_matrix_is_qiskits_operator(seed, gate):
    c, x = random_circuit(600 + seed, n_wires=3, n_ops=1, gates=[gate], kinds=("trainable",),
                          n_features=1, all_features_used=False)
    m = qml.QuantumModule(c).double()
    mats = op_matrices(c.ops[0], m.theta.detach(), torch.tensor(x), x.shape[0], torch.complex128)
    single = qml.Circuit(c.ops[0].definition.num_qubits)
    expected = Operator(qiskit_circuit(_local(c, single), theta_of(m))).data
    np.testing.assert_allclose(mats[0].numpy(), expected, atol=1e-12)


def _local(c: qml.Circuit, single: qml.Circuit) -> qml.Circuit:
    """The circuit's only op moved onto wires 0..k-1 of ``single``."""
    from qml.circuit.circuit import Op

    op = c.ops[0]
    single.trainable_init = list(c.trainable_init)
    single.append(Op(op.gate, tuple(range(len(op.wires))), op.params))
    return single


# -- Pauli channels: equal to qiskit-aer's errors applied by qiskit ------------------------------------------------
@pytest.mark.parametrize("p", [0.05, 0.3])
def test_depolarizing_channel_matches_qiskit_aer_depolarizing_error(p):
    c = qml.Circuit(2).add("ry", 0, 1.1).add("rx", 1, -0.4).add("cx", (0, 1)).add("u3", 1, 0.3, 0.2, -0.9)
    table = pauli.depolarizing(1, p)
    channels = [None, None, None, table]
    rho = DensityMatrix(c).run(torch.zeros(0, dtype=torch.float64), None, channels)[0].numpy()
    ref = QiskitDensityMatrix(qiskit_circuit(c))
    ref = ref.evolve(depolarizing_error(4 * p / 3, 1).to_quantumchannel(), qargs=[1])  # lambda = 4p/3
    np.testing.assert_allclose(rho, ref.data, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_random_pauli_channels_after_every_gate_match_qiskit_aer_pauli_errors(seed):
    rng = np.random.default_rng(seed)
    c, x = random_circuit(900 + seed, n_wires=3, n_ops=8, gates=["ccx", "rzz", "cu3", "u3", "ry", "iswap"])
    channels = [rng.dirichlet(np.full(4 ** len(op.wires), 0.3)) for op in c.ops]
    rho, m = rho_of(c, x, channels)
    for b in range(x.shape[0]):
        ref = QiskitDensityMatrix.from_label("0" * c.n_wires)
        for op, table in zip(c.ops, channels, strict=True):
            single = qiskit_circuit(_only(c, op), theta_of(m), x[b])
            ref = ref.evolve(single)
            ref = ref.evolve(pauli_error(pauli_labels(table)).to_quantumchannel(), qargs=list(op.wires))
        np.testing.assert_allclose(rho[b], ref.data, atol=1e-10)


def _only(c: qml.Circuit, op) -> qml.Circuit:
    one = qml.Circuit(c.n_wires, n_inputs=c.n_inputs)
    one.trainable_init = list(c.trainable_init)
    one.append(op)
    return one


def test_noisy_density_matrix_is_a_state():
    c, x = random_circuit(77, n_wires=4, n_ops=12, gates=MULTI_QUBIT)
    channels = [pauli.depolarizing(len(op.wires), 0.2) for op in c.ops]
    rho, _ = rho_of(c, x, channels)
    for r in rho:
        np.testing.assert_allclose(r, r.conj().T, atol=1e-12)
        assert np.trace(r).real == pytest.approx(1.0)
        assert np.linalg.eigvalsh(r).min() > -1e-12


def test_none_channels_are_skipped():
    c, x = random_circuit(78, n_wires=3, n_ops=6, gates=MULTI_QUBIT)
    a, _ = rho_of(c, x)
    b, _ = rho_of(c, x, [None] * len(c.ops))
    np.testing.assert_allclose(a, b, atol=0)


def test_more_than_ten_qubits_is_an_input_error():
    with pytest.raises(InputError, match="limited to 10 qubits"):
        DensityMatrix(qml.Circuit(11))


# -- readout ------------------------------------------------------------------------------------------------------
def test_confusion_of_wire_zero_flips_the_least_significant_bit():
    probs = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    m0 = np.array([[0.9, 0.1], [0.2, 0.8]])
    out = apply_confusion(probs, 2, [m0, None]).numpy()
    np.testing.assert_allclose(out, [[0.9, 0.1, 0.0, 0.0]])


def test_confusion_of_a_prepared_one_uses_the_second_row():
    probs = torch.tensor([[0.0, 0.0, 1.0, 0.0]], dtype=torch.float64)  # wire 1 prepared in 1
    m1 = np.array([[0.97, 0.03], [0.25, 0.75]])
    out = apply_confusion(probs, 2, [None, m1]).numpy()
    np.testing.assert_allclose(out, [[0.25, 0.0, 0.75, 0.0]])


def test_confusion_equals_the_tensor_product_of_the_per_wire_matrices():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(8), size=2)
    mats = [np.array([[1 - a, a], [b, 1 - b]]) for a, b in rng.uniform(0, 0.3, (3, 2))]
    full = np.kron(mats[2], np.kron(mats[1], mats[0]))  # wire 0 is the least significant bit
    out = apply_confusion(torch.tensor(probs), 3, mats).numpy()
    np.testing.assert_allclose(out, probs @ full, atol=1e-14)
    np.testing.assert_allclose(out.sum(1), 1.0)


def test_readout_probabilities_are_the_diagonal_without_confusion():
    c, x = random_circuit(79, n_wires=3, n_ops=6, gates=MULTI_QUBIT)
    rho, _ = rho_of(c, x, [pauli.depolarizing(len(op.wires), 0.1) for op in c.ops])
    probs = readout_probabilities(torch.tensor(rho), 3).numpy()
    np.testing.assert_allclose(probs, np.real(np.einsum("bii->bi", rho)), atol=0)
    np.testing.assert_allclose(probs.sum(1), 1.0)


def test_readout_probabilities_apply_the_confusion():
    c = qml.Circuit(2).add("x", 1)
    rho = DensityMatrix(c).run(torch.zeros(0, dtype=torch.float64), None)
    m1 = np.array([[0.95, 0.05], [0.1, 0.9]])
    probs = readout_probabilities(rho, 2, [None, m1]).numpy()
    np.testing.assert_allclose(probs, [[0.1, 0.0, 0.9, 0.0]], atol=1e-12)
