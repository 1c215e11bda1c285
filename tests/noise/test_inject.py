"""``NoiseInjector``: Pauli errors drawn per sample after every gate and readout confusion on the measured values.
The mean of many injected runs converges to the exact density-matrix result with the same channels, and the
torch noise model is close to the device's Aer twin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import qml
from qml.errors import NoiseError
from qml.noise import NoiseModel, load_snapshot
from qml.noise.inject import NoiseInjector, slotted_circuit
from qml.sim.density import DensityMatrix, readout_probabilities
from qml.sim.measure import Expval, z_expectations

RUNS = 20_000
STRONG = 3.0  # noise factor: errors large enough that a wrong channel or readout moves the mean visibly


@pytest.fixture(scope="module")
def quito():
    return load_snapshot("ibm_quito")


@pytest.fixture(scope="module")
def module():
    torch.manual_seed(11)
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    return qml.QuantumModule(c).double()


@pytest.fixture(scope="module")
def x_one():
    return torch.tensor(np.random.default_rng(5).uniform(-np.pi, np.pi, (1, 16)))


def exact(module, x, noise: NoiseModel) -> torch.Tensor:
    """(B, 2^n) measured probabilities from the density matrix with the model's Pauli channels (what injection
    draws from: the twirl of thermal relaxation, without its amplitude damping) and readout."""
    c = module.circuit
    rho = DensityMatrix(c).run(module.theta.detach(), x, [ch.table for ch in noise.channels(c)],
                               before=[[m.twirled() for m in at] for at in noise.moves(c)])
    return readout_probabilities(rho, c.n_wires, noise.confusion(c))


# -- convergence to the exact noisy result ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def injected_runs(module, quito, x_one):
    noise = NoiseModel(quito, factor=STRONG)
    injector = NoiseInjector(module, noise, torch.Generator().manual_seed(0))
    with torch.no_grad():
        z = injector(x_one.expand(RUNS, -1))
    return z, noise


def test_mean_of_injected_runs_converges_to_the_density_matrix(module, x_one, injected_runs):
    z, noise = injected_runs
    expected = z_expectations(exact(module, x_one, noise), 4, (0, 1, 2, 3))[0]
    mean, stderr = z.mean(0), z.std(0) / RUNS**0.5
    print(f"injected mean {mean.numpy().round(4)}, exact {expected.numpy().round(4)}, "
          f"standard error {stderr.numpy().round(4)}")
    assert ((mean - expected).abs() < 4 * stderr).all()


def test_strong_noise_moves_the_result_far_from_noise_free(module, x_one, injected_runs):
    """Guards the convergence test: with factor 3 the noisy mean is many standard errors from noise-free."""
    z, _ = injected_runs
    with torch.no_grad():
        clean = module(x_one)[0]
    stderr = z.std(0) / RUNS**0.5
    assert ((z.mean(0) - clean).abs() > 20 * stderr).any()


def test_mean_of_injected_probabilities_converges_to_the_density_matrix(quito, x_one):
    torch.manual_seed(2)
    c = qml.Circuit(3)
    c.add("ry", 0, qml.Input(0)).add("rx", 1, qml.Input(1))
    c.layer("u3").add("cu3", (0, 1)).add("cu3", (1, 2))
    m = qml.QuantumModule(c, measure="probs").double()
    noise = NoiseModel(quito, [0, 1, 2], factor=STRONG)
    injector = NoiseInjector(m, noise, torch.Generator().manual_seed(1))
    x = x_one[:, :2]
    with torch.no_grad():
        probs = injector(x.expand(RUNS, -1))
    expected = exact(m, x, noise)[0]
    stderr = probs.std(0) / RUNS**0.5
    assert ((probs.mean(0) - expected).abs() < 4 * stderr + 1e-12).all()


# -- per-sample draws ----------------------------------------------------------------------------------------------
def test_identical_inputs_in_a_batch_get_different_errors(module, quito, x_one):
    injector = NoiseInjector(module, NoiseModel(quito, factor=STRONG), torch.Generator().manual_seed(3))
    with torch.no_grad():
        z = injector(x_one.expand(8, -1))
    assert len({tuple(row.tolist()) for row in z}) > 1


def test_same_generator_seed_repeats_the_draws(module, quito, x_one):
    noise = NoiseModel(quito, factor=STRONG)
    runs = [NoiseInjector(module, noise, torch.Generator().manual_seed(4))(x_one.expand(8, -1)) for _ in range(2)]
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)


def test_factor_zero_without_readout_equals_the_noise_free_module(module, quito, x_one):
    injector = NoiseInjector(module, NoiseModel(quito, factor=0.0, readout=False), torch.Generator().manual_seed(0))
    x = x_one.expand(5, -1)
    torch.testing.assert_close(injector(x), module(x), rtol=0, atol=1e-12)


def test_factor_zero_keeps_the_calibrated_readout_error(module, quito, x_one):
    noise = NoiseModel(quito, factor=0.0)
    injector = NoiseInjector(module, noise)
    expected = z_expectations(exact(module, x_one, noise), 4, (0, 1, 2, 3))
    torch.testing.assert_close(injector(x_one), expected, rtol=0, atol=1e-12)


def test_single_sample_input_gives_a_single_output(module, quito, x_one):
    out = NoiseInjector(module, NoiseModel(quito))(x_one[0])
    assert out.shape == (4,)


def test_slotted_circuit_has_a_u3_slot_after_every_op_on_each_wire(module):
    noisy, slots = slotted_circuit(module.circuit, module.n_inputs)
    n_slots = sum(len(op.wires) for op in module.circuit.ops)
    assert len(slots) == n_slots and len(noisy.ops) == len(module.circuit.ops) + n_slots
    assert noisy.n_inputs == module.n_inputs + 3 * n_slots


def test_set_noise_switches_the_factor(module, quito, x_one):
    injector = NoiseInjector(module, NoiseModel(quito, factor=STRONG, readout=False))
    injector.set_noise(NoiseModel(quito, factor=0.0, readout=False))
    torch.testing.assert_close(injector(x_one), module(x_one), rtol=0, atol=1e-12)


def test_measurements_other_than_z_and_probs_are_rejected(quito):
    m = qml.QuantumModule(qml.Circuit(2).layer("u3"), measure=Expval(("XX",)))
    with pytest.raises(NoiseError, match="ExpZ and Probs"):
        NoiseInjector(m, NoiseModel(quito))


# -- gradients -------------------------------------------------------------------------------------------------------
def test_gradients_flow_to_theta_through_the_injector(module, quito, x_one):
    gen = torch.Generator()
    injector = NoiseInjector(module, NoiseModel(quito, factor=STRONG), gen)
    x = x_one.expand(6, -1)

    def loss(theta_shift: torch.Tensor | None = None) -> torch.Tensor:
        gen.manual_seed(9)  # the same Pauli draws on every call
        if theta_shift is None:
            return injector(x).pow(2).sum()
        with torch.no_grad():
            module.theta += theta_shift
            value = injector(x).pow(2).sum()
            module.theta -= theta_shift
        return value

    module.theta.grad = None
    loss().backward()
    grad = module.theta.grad.clone()
    module.theta.grad = None
    assert grad.abs().sum() > 0
    eps = 1e-6
    for i in (0, 5, 17, len(grad) - 1):
        shift = torch.zeros_like(module.theta)
        shift[i] = eps
        numeric = (loss(shift) - loss(-shift)) / (2 * eps)
        assert float(numeric) == pytest.approx(float(grad[i]), abs=1e-6)


# -- the torch noise model against the device's Aer twin ------------------------------------------------------------
def test_torch_noise_model_is_close_to_the_aer_twin(quito):
    """2-qubit gates only on coupled Quito pairs (0-1, 1-2, 1-3), so no routing differs between the two."""
    from qml.backends.aer_executor import AerExecutor

    torch.manual_seed(3)
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3")
    for a, b in [(0, 1), (1, 2), (1, 3)]:
        c.add("cu3", (a, b))
    c.layer("u3")
    for a, b in [(1, 0), (2, 1), (3, 1)]:
        c.add("cu3", (a, b))
    m = qml.QuantumModule(c).double()
    x = torch.tensor(np.random.default_rng(8).uniform(-np.pi, np.pi, (8, 16)))
    noisy = z_expectations(exact(m, x, NoiseModel(quito)), 4, (0, 1, 2, 3))
    with torch.no_grad():
        clean = m(x)
    aer = AerExecutor(quito, seed=7).expectations(m, x, shots=20_000).double()
    noisy_gap, clean_gap = float((noisy - aer).abs().mean()), float((clean - aer).abs().mean())
    print(f"mean |<Z> torch noise model - Aer twin| = {noisy_gap:.4f}; noise-free - Aer twin = {clean_gap:.4f}")
    assert noisy_gap < 0.05
    assert clean_gap > 3 * noisy_gap
