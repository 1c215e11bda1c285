"""Executors behind one interface: ``torch`` (qml's engine, noise-free or with a device's noise) and ``aer`` (the
device's Aer twin). The oracles are qiskit's: ``Statevector`` for noise-free ⟨Z⟩, and qiskit-aer's density-matrix
method for noisy ⟨Z⟩ — with the noise model's Pauli channels for the torch executor, with the device's Aer noise
model on the very circuit the aer executor transpiled for the aer executor. Sampled values must agree within shot
noise and put each logical wire on the requested physical qubit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import qml
from qml.backends import make_executor
from qml.backends.aer_executor import AerExecutor
from qml.backends.torch_executor import TorchExecutor
from qml.device import Device
from qml.errors import InputError, PluginError
from qml.noise import NoiseModel, load_snapshot
from tests.reference import aer_twin_reference_z, noisy_reference_z, reference_z, theta_of

LAYOUT = [4, 3, 1, 0]


def within_shot_noise(estimate: torch.Tensor, exact: torch.Tensor, shots: int, sigmas: float = 4.5) -> bool:
    """Every ⟨Z⟩ estimate within ``sigmas`` standard deviations sqrt((1 - z^2) / shots) of the exact value."""
    estimate, exact = estimate.double(), exact.double()
    sd = ((1 - exact**2).clamp_min(0) / shots).sqrt()
    return bool(((estimate - exact).abs() <= sigmas * sd + 1e-9).all())


def scaled_by_hand(table: np.ndarray, factor: float) -> np.ndarray:
    """A Pauli channel with its error mass (every non-identity probability) multiplied by ``factor``."""
    assert factor * (1 - table[0]) <= 1
    out = factor * np.asarray(table, dtype=np.float64)
    out[0] = 1 - out[1:].sum()
    return out


def torch_oracle(module, x, snapshot, layout, factor: float = 1.0) -> torch.Tensor:
    """Exact ⟨Z⟩ from qiskit-aer's density-matrix method with the factor-1 noise model's channels (the ops' and the
    routing SWAPs', each a Pauli table and its amplitude damping), scaled by hand, and its readout."""
    noise = NoiseModel(snapshot, layout, 1.0)
    tables = [(scaled_by_hand(ch.table, factor), tuple(factor * g for g in ch.damping))
              for ch in noise.channels(module.circuit)]
    before = [[(ch.wires, scaled_by_hand(ch.table, factor), tuple(factor * g for g in ch.damping)) for ch in at]
              for at in noise.moves(module.circuit)]
    assert any(any(t[1]) for t in tables)  # thermal relaxation's damping is in the oracle too
    assert sum(map(len, before)) > 0 or layout is None  # a layout that routes: the SWAPs' channels are checked too
    return torch.tensor(noisy_reference_z(module.circuit, theta_of(module), x.numpy(), tables,
                                          noise.confusion(module.circuit), before))


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
    """Noise-free ⟨Z⟩ from qiskit's ``Statevector``."""
    return torch.tensor(reference_z(module.circuit, theta_of(module), x.numpy()))


@pytest.fixture(scope="module")
def flip_wire_2():
    """X on wire 2 only: ⟨Z⟩ = (1, 1, -1, 1) whatever the device does with the other qubits."""
    return qml.QuantumModule(qml.Circuit(4).add("x", 2)).double()


# -- torch ---------------------------------------------------------------------------------------------------------
def test_noise_free_torch_executor_equals_the_qiskit_statevector(module, x, exact_z):
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


def test_torch_device_executor_equals_an_aer_density_matrix_with_the_noise_models_channels(module, x, quito):
    executor = make_executor("torch:ibm_quito", layout=LAYOUT)
    assert executor.noise.layout == tuple(LAYOUT) and executor.noise.factor == 1.0
    z = executor.expectations(module, x[:4])
    torch.testing.assert_close(z.double(), torch_oracle(module, x[:4], quito, LAYOUT), rtol=0, atol=1e-8)


def test_torch_device_executor_scales_every_channel_error_by_its_noise_factor(module, x, quito):
    half = make_executor("torch:ibm_quito", layout=LAYOUT, noise_factor=0.5).expectations(module, x[:4]).double()
    full = make_executor("torch:ibm_quito", layout=LAYOUT).expectations(module, x[:4]).double()
    assert (half - full).abs().max() > 0.01
    torch.testing.assert_close(half, torch_oracle(module, x[:4], quito, LAYOUT, 0.5), rtol=0, atol=1e-8)


def test_torch_device_executor_shrinks_the_expectations(module, x, exact_z):
    z = make_executor("torch:ibm_quito").expectations(module, x)
    assert z.double().abs().mean() < exact_z.abs().mean()


def test_unknown_backend_name_lists_the_installed_ones():
    with pytest.raises(PluginError, match="unknown backend 'nope'.*aer, ibm, torch"):
        make_executor("nope")


def test_unknown_device_for_the_torch_backend_is_a_qml_error():
    with pytest.raises(qml.QmlError, match="unknown device 'ibm_nowhere'"):
        make_executor("torch:ibm_nowhere")


def test_torch_backend_without_a_device_refuses_a_noise_factor_and_names_one():
    with pytest.raises(InputError, match=r"backend 'torch' cannot scale noise: noise factor 0.5 given, only 1 .*"
                                         r"name a device, e.g. torch:ibm_quito"):
        make_executor("torch", noise_factor=0.5)


def test_torch_backend_without_a_device_refuses_a_layout():
    with pytest.raises(InputError, match=r"backend 'torch' does not place circuits on physical qubits; drop the "
                                         r"layout \[1, 0\] or name a device, e.g. torch:ibm_quito"):
        make_executor("torch", layout=[1, 0])


# -- aer -----------------------------------------------------------------------------------------------------------
def test_aer_backend_needs_a_device():
    with pytest.raises(InputError, match="aer:DEVICE"):
        make_executor("aer")


def test_aer_backend_refuses_a_noise_factor():
    with pytest.raises(InputError, match=r"backend 'aer:ibm_quito' cannot scale noise: noise factor 0.5 given, "
                                         r"only 1 \(the device as calibrated\) is possible$"):
        make_executor("aer:ibm_quito", noise_factor=0.5)


def test_aer_executor_needs_shots(module, x, quito):
    with pytest.raises(InputError, match="shots"):
        AerExecutor(quito).expectations(module, x, shots=None)


def test_aer_executor_without_noise_is_within_shot_noise_of_the_qiskit_statevector(module, x, exact_z, quito):
    z = AerExecutor(quito, LAYOUT, noise=False, seed=1).expectations(module, x, shots=2000)
    assert z.shape == (16, 4)
    assert within_shot_noise(z, exact_z, 2000, 5)


def test_aer_executor_with_noise_is_within_shot_noise_of_an_aer_density_matrix_with_the_same_noise_model(
        module, x, exact_z):
    device = Device.load("ibm_quito")
    executor = AerExecutor(device, LAYOUT, seed=3)
    z = executor.expectations(module, x, shots=4000)
    exact = torch.tensor(aer_twin_reference_z(executor.last_transpiled, x.numpy(), device.aer_noise_model))
    assert float((exact - exact_z).abs().mean()) > 5 / 4000**0.5  # the noise is larger than the shot noise
    assert within_shot_noise(z, exact, 4000, 5)


def test_aer_noise_model_is_built_once_per_device(module, x, quito, monkeypatch):
    import qml.device.target

    builds, build = [], qml.device.target.to_aer_noise_model

    def counting(snapshot, **options):
        builds.append(snapshot.device)
        return build(snapshot, **options)

    monkeypatch.setattr(qml.device.target, "to_aer_noise_model", counting)
    device = Device(quito)
    executor = AerExecutor(device, seed=0)
    for shots in (16, 32, 16):
        executor.expectations(module, x[:2], shots=shots)
    AerExecutor(device, LAYOUT, seed=0).expectations(module, x[:2], shots=16)
    AerExecutor(device, LAYOUT, seed=1).expectations(module, x[:2], shots=16)
    # one model per region of the device the circuit lands on: the trivial layout's and LAYOUT's
    assert sorted(builds) == ["ibm_quito[0,1,2,3]", "ibm_quito[0,1,3,4]"]


def test_a_routed_circuit_on_its_active_qubits_has_exactly_the_whole_devices_output(module, x):
    """Jakarta (7 qubits) with a layout that routes through qubits outside it: the executor's compacted circuit on
    the region's noise model gives the same exact ⟨Z⟩ as the whole transpiled circuit on the whole device's."""
    device = Device.load("ibm_jakarta")
    executor = AerExecutor(device, [0, 2, 3, 4], seed=0)
    whole = executor.transpile(module)
    compacted, region = executor._on_active_qubits(whole)
    assert region is not None and 4 < len(region) < 7  # routing used qubits beyond the layout, not all of them
    assert compacted.num_qubits == len(region)
    oracle = aer_twin_reference_z(whole, x[:4].numpy(), device.aer_noise_model)
    mine = aer_twin_reference_z(compacted, x[:4].numpy(), device.region(region).aer_noise_model)
    np.testing.assert_allclose(mine, oracle, rtol=0, atol=1e-10)
    assert np.abs(oracle - reference_z(module.circuit, theta_of(module), x[:4].numpy())).mean() > 0.01  # noisy


def test_a_small_circuit_on_a_133_qubit_twin_simulates_only_its_qubits(flip_wire_2):
    executor = AerExecutor("ibm_torino", [0, 1, 2, 3], seed=3)
    z = executor.expectations(flip_wire_2, None, shots=2000)
    ((_, region),) = executor._samplers
    assert region == (0, 1, 2, 3)
    # wires 0, 1, 3 see no gate: ⟨Z⟩ = 1 - 2 P(read 1 | prepared 0) of their physical qubit, by hand
    snapshot = executor.device.snapshot
    idle = torch.tensor([1 - 2 * snapshot.qubit(q).prob_meas1_prep0 for q in (0, 1, 3)], dtype=z.dtype)
    assert within_shot_noise(z[0, [0, 1, 3]], idle, 2000)
    assert z[0, 2] < -0.5


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
