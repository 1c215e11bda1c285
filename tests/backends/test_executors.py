"""Executors behind one interface: ``torch`` (qml's engine, noise-free or with a device's noise) and ``aer`` (the
device's Aer twin). Exact values come from qml's engine, itself compared with qiskit in tests/sim; here the
executors must agree with it within shot noise and put each logical wire on the requested physical qubit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import qml
from qml.backends import make_executor
from qml.backends.aer_executor import AerExecutor
from qml.backends.torch_executor import TorchExecutor
from qml.errors import InputError, PluginError
from qml.noise import NoiseModel, load_snapshot
from qml.sim.density import DensityMatrix, readout_probabilities
from qml.sim.measure import z_expectations


def within_shot_noise(estimate: torch.Tensor, exact: torch.Tensor, shots: int, sigmas: float = 4.5) -> bool:
    """Every ⟨Z⟩ estimate within ``sigmas`` standard deviations sqrt((1 - z^2) / shots) of the exact value."""
    estimate, exact = estimate.double(), exact.double()
    sd = ((1 - exact**2).clamp_min(0) / shots).sqrt()
    return bool(((estimate - exact).abs() <= sigmas * sd + 1e-9).all())


@pytest.fixture(scope="module")
def quito():
    return load_snapshot("ibm_quito")


@pytest.fixture(scope="module")
def module():
    torch.manual_seed(21)
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    return qml.QuantumModule(c).double()


@pytest.fixture(scope="module")
def x():
    return torch.tensor(np.random.default_rng(2).uniform(-np.pi, np.pi, (16, 16)))


@pytest.fixture(scope="module")
def exact_z(module, x):
    with torch.no_grad():
        return module(x)


@pytest.fixture(scope="module")
def flip_wire_2():
    """X on wire 2 only: ⟨Z⟩ = (1, 1, -1, 1) whatever the device does with the other qubits."""
    return qml.QuantumModule(qml.Circuit(4).add("x", 2)).double()


# -- torch ---------------------------------------------------------------------------------------------------------
def test_noise_free_torch_executor_equals_the_modules_own_z(module, x, exact_z):
    z = make_executor("torch").expectations(module, x)
    assert z.shape == (16, 4)
    torch.testing.assert_close(z.double(), exact_z, rtol=0, atol=1e-6)


def test_torch_executor_with_shots_is_within_shot_noise_of_exact(module, x, exact_z):
    z = TorchExecutor(seed=0).expectations(module, x, shots=2000)
    assert within_shot_noise(z, exact_z, 2000)
    assert not torch.allclose(z.double(), exact_z, atol=1e-4)  # really sampled


def test_torch_executor_with_shots_is_reproducible_from_its_seed(module, x):
    a = TorchExecutor(seed=5).expectations(module, x, shots=100)
    b = TorchExecutor(seed=5).expectations(module, x, shots=100)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_torch_device_executor_is_the_exact_noisy_average(module, x, quito):
    layout = [4, 3, 1, 0]
    executor = make_executor("torch:ibm_quito", layout=layout, noise_factor=0.7)
    assert executor.noise.layout == tuple(layout) and executor.noise.factor == 0.7
    z = executor.expectations(module, x[:3])
    noise = NoiseModel(quito, layout, 0.7)
    rho = DensityMatrix(module.circuit).run(module.theta.detach(), x[:3],
                                            [ch.table for ch in noise.channels(module.circuit)])
    expected = z_expectations(readout_probabilities(rho, 4, noise.confusion(module.circuit)), 4, (0, 1, 2, 3))
    torch.testing.assert_close(z.double(), expected, rtol=0, atol=1e-6)


def test_torch_device_executor_shrinks_the_expectations(module, x, exact_z):
    z = make_executor("torch:ibm_quito").expectations(module, x)
    assert z.double().abs().mean() < exact_z.abs().mean()


def test_unknown_backend_name_lists_the_installed_ones():
    with pytest.raises(PluginError, match="unknown backend 'nope'.*aer, ibm, torch"):
        make_executor("nope")


def test_unknown_device_for_the_torch_backend_is_a_qml_error():
    with pytest.raises(qml.QmlError, match="unknown device 'ibm_nowhere'"):
        make_executor("torch:ibm_nowhere")


# -- aer -----------------------------------------------------------------------------------------------------------
def test_aer_backend_needs_a_device():
    with pytest.raises(InputError, match="aer:DEVICE"):
        make_executor("aer")


def test_aer_executor_needs_shots(module, x, quito):
    with pytest.raises(InputError, match="shots"):
        AerExecutor(quito).expectations(module, x, shots=None)


def test_aer_executor_without_noise_is_within_shot_noise_of_exact(module, x, exact_z, quito):
    z = AerExecutor(quito, noise=False, seed=1).expectations(module, x, shots=2000)
    assert z.shape == (16, 4)
    assert within_shot_noise(z, exact_z, 2000)


def test_aer_executor_reads_logical_wire_i_from_its_own_clbit(flip_wire_2, quito):
    z = AerExecutor(quito, noise=False).expectations(flip_wire_2, None, shots=64)
    np.testing.assert_array_equal(z.numpy(), [[1, 1, -1, 1]])


def test_aer_executor_keeps_the_wire_order_with_a_permuted_layout(flip_wire_2, quito):
    executor = AerExecutor(quito, [4, 3, 1, 0], noise=False)
    z = executor.expectations(flip_wire_2, None, shots=64)
    np.testing.assert_array_equal(z.numpy(), [[1, 1, -1, 1]])


def test_aer_executor_with_noise_keeps_the_flipped_wires_sign(flip_wire_2, quito):
    z = make_executor("aer:ibm_quito", layout=[4, 3, 1, 0], seed=3).expectations(flip_wire_2, None, shots=2000)
    assert (z[0, [0, 1, 3]] > 0.7).all() and z[0, 2] < -0.7
    assert (z[0].abs() < 1).any()  # readout errors show


def test_transpiled_circuit_sits_on_the_requested_physical_qubits(flip_wire_2, quito):
    executor = AerExecutor(quito, [4, 3, 1, 0], noise=False)
    executor.expectations(flip_wire_2, None, shots=16)
    transpiled = executor.last_transpiled
    assert transpiled.layout.initial_index_layout()[:4] == [4, 3, 1, 0]
    flips = [transpiled.find_bit(inst.qubits[0]).index for inst in transpiled.data if inst.operation.name == "x"]
    assert flips == [1]  # logical wire 2 -> physical qubit 1
    measured = {transpiled.find_bit(inst.qubits[0]).index: transpiled.find_bit(inst.clbits[0]).index
                for inst in transpiled.data if inst.operation.name == "measure"}
    assert measured == {4: 0, 3: 1, 1: 2, 0: 3}


def test_transpiled_circuit_uses_only_the_devices_basis(module, quito):
    executor = AerExecutor(quito, [2, 1, 0, 3], noise=False)
    executor.transpile(module)
    assert set(executor.last_transpiled.count_ops()) <= set(quito.basis_gates) | {"measure", "barrier"}


def test_aer_executor_rejects_a_bad_layout(module, x, quito):
    with pytest.raises(qml.QmlError, match="twice"):
        AerExecutor(quito, [0, 0, 1, 2]).expectations(module, x, shots=16)


def test_batched_evaluation_of_256_inputs_keeps_their_order(module, quito):
    x = torch.tensor(np.random.default_rng(4).uniform(-np.pi, np.pi, (256, 16)))
    z = AerExecutor(quito, noise=False, pub_size=100, seed=2).expectations(module, x, shots=256)
    assert z.shape == (256, 4)
    with torch.no_grad():
        exact = module(x)
    assert float((z.double() - exact).abs().mean()) < 0.1
    assert within_shot_noise(z, exact, 256, sigmas=5.5)
