"""The batched statevector engine against qiskit's Statevector, on seeded random circuits of 1-10 qubits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Operator

import qml
from qml.circuit.gates import GATES
from qml.sim import StatevectorEngine
from qml.sim.plan import MIN_COLUMNS, compile_plan
from tests.reference import qiskit_circuit, random_circuit, reference_states, theta_of

N_RANDOM = 200
TOL = 1e-5


def _module(circuit, dtype, fusion=None):
    return qml.QuantumModule(circuit, dtype=dtype, fusion=fusion)


@pytest.mark.parametrize("seed", range(N_RANDOM))
def test_random_circuit_statevector_matches_qiskit_complex128(seed):
    c, x = random_circuit(seed)
    m = _module(c, torch.complex128)
    got = m.statevector(torch.tensor(x))
    assert got.dtype == torch.complex128 and got.shape == (x.shape[0], 2**c.n_wires)
    np.testing.assert_allclose(got.detach().numpy(), reference_states(c, theta_of(m), x), atol=TOL, rtol=0)


@pytest.mark.parametrize("seed", range(N_RANDOM))
def test_random_circuit_statevector_matches_qiskit_complex64(seed):
    c, x = random_circuit(seed)
    m = _module(c, torch.complex64)
    got = m.statevector(torch.tensor(x, dtype=torch.float32))
    assert got.dtype == torch.complex64
    ref = reference_states(c, theta_of(m), x.astype(np.float32))
    np.testing.assert_allclose(got.detach().numpy(), ref, atol=TOL, rtol=0)


@pytest.mark.parametrize("seed", range(6))
def test_deep_ten_qubit_circuit_matches_qiskit_complex64(seed):
    """Long circuits at the largest width: complex64 error accumulates over ~150 gates, still below 1e-5."""
    c, x = random_circuit(1000 + seed, n_wires=10, n_ops=150)
    m = _module(c, torch.complex64)
    got = m.statevector(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    ref = reference_states(c, theta_of(m), x.astype(np.float32))
    np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)


def test_random_circuits_cover_every_gate_and_every_width():
    gates, widths, kinds = set(), set(), set()
    for seed in range(N_RANDOM):
        c, _ = random_circuit(seed)
        gates |= {op.gate for op in c.ops}
        widths.add(c.n_wires)
        kinds |= {p.kind for op in c.ops for p in op.params}
    assert gates == set(GATES)
    assert widths == set(range(1, 11))
    assert kinds == {"const", "input", "trainable"}


@pytest.mark.parametrize("seed", range(30))
def test_initial_state_path_matches_qiskit_evolve(seed):
    c, x = random_circuit(2000 + seed, max_wires=8)
    rng = np.random.default_rng(seed)
    dim = 2**c.n_wires
    init = rng.normal(size=(x.shape[0], dim)) + 1j * rng.normal(size=(x.shape[0], dim))
    init /= np.linalg.norm(init, axis=1, keepdims=True)
    m = _module(c, torch.complex128)
    got = m.statevector(torch.tensor(x), initial_state=torch.tensor(init)).detach().numpy()
    np.testing.assert_allclose(got, reference_states(c, theta_of(m), x, initial=init), atol=TOL, rtol=0)


def test_single_initial_state_is_broadcast_over_the_batch():
    c, x = random_circuit(7, n_wires=3)
    init = np.zeros(8, dtype=complex)
    init[5] = 1j
    m = _module(c, torch.complex128)
    got = m.statevector(torch.tensor(x), initial_state=torch.tensor(init)).detach().numpy()
    ref = reference_states(c, theta_of(m), x, initial=np.tile(init, (x.shape[0], 1)))
    np.testing.assert_allclose(got, ref, atol=1e-10)


FUSIONS = [{False: 1, True: 1}, {False: 2, True: 1}, {False: 3, True: 2}, {False: 4, True: 3},
           {False: 10, True: 10}]


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f"u{f[False]}b{f[True]}")
@pytest.mark.parametrize("seed", range(8))
def test_fusion_options_give_qiskit_states(fusion, seed):
    c, x = random_circuit(3000 + seed, n_wires=3 + seed % 6)
    m = _module(c, torch.complex128, fusion=fusion)
    got = m.statevector(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, reference_states(c, theta_of(m), x), atol=1e-10, rtol=0)


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f"u{f[False]}b{f[True]}")
def test_fusion_options_give_qiskit_unitary(fusion):
    c, x = random_circuit(77, n_wires=5)
    m = _module(c, torch.complex128, fusion=fusion)
    got = m.unitary(torch.tensor(x[0])).detach().numpy()
    np.testing.assert_allclose(got, Operator(qiskit_circuit(c, theta_of(m), x[0])).data, atol=1e-10)


def test_empty_circuit_gives_the_zero_state():
    m = _module(qml.Circuit(3), torch.complex128)
    expected = np.zeros((1, 8))
    expected[0, 0] = 1
    np.testing.assert_allclose(m.statevector().detach().numpy(), expected)


def test_global_phase_multiplies_the_state():
    c = qml.Circuit(2).h(1)
    c.global_phase = 0.8
    m = _module(c, torch.complex128)
    np.testing.assert_allclose(m.statevector().detach().numpy(), reference_states(c, [], None), atol=1e-12)
    assert np.angle(m.statevector()[0, 0].item()) == pytest.approx(0.8)


def test_engine_called_directly_follows_theta_dtype():
    c = qml.Circuit(2, n_inputs=1).ry(0, qml.Input(0)).crx(0, 1)
    engine = StatevectorEngine(c)
    theta = torch.tensor([0.4], dtype=torch.float64)
    x = torch.tensor([[0.3], [1.2]], dtype=torch.float64)
    out = engine(theta, x)
    assert out.dtype == torch.complex128 and out.shape == (2, 4)
    np.testing.assert_allclose(out.numpy(), reference_states(c, [0.4], x.numpy()), atol=1e-12)
    assert engine(theta.float(), x).dtype == torch.complex64


@pytest.mark.parametrize("seed", range(10))
def test_plan_applies_every_op_once_in_wire_order(seed):
    c, _ = random_circuit(4000 + seed, n_wires=7, n_ops=60)
    for zero_start in (True, False):
        plan = compile_plan(c.ops, c.n_wires, zero_start)
        used = [i for run in plan.prefix for i in run] + [i for b in plan.blocks for i in b.ops]
        assert sorted(used) == list(range(len(c.ops)))
        # on every wire, the ops are applied in circuit order: prefix first, then blocks in sequence
        for w in range(c.n_wires):
            order = plan.prefix[w] + [i for b in plan.blocks for i in b.ops if w in c.ops[i].wires]
            assert order == [i for i, op in enumerate(c.ops) if w in op.wires]


@pytest.mark.parametrize("fusion", FUSIONS[:4], ids=lambda f: f"u{f[False]}b{f[True]}")
def test_plan_blocks_respect_the_fusion_cap(fusion):
    c, _ = random_circuit(4100, n_wires=8, n_ops=80)
    plan = compile_plan(c.ops, c.n_wires, True, fusion)
    for b in plan.blocks:
        widest = max(len(c.ops[i].wires) for i in b.ops)
        assert len(b.wires) <= max(fusion[b.batched], widest)
        assert all(plan.op_batched[i] == b.batched for i in b.ops)


@pytest.mark.parametrize("seed", range(12))
def test_large_batch_layout_matches_qiskit(seed):
    """A batch of 64+ takes the layout that applies blocks in the middle of the state; check a few rows."""
    c, x = random_circuit(3000 + seed, n_wires=6 + seed % 5, n_ops=60)
    rng = np.random.default_rng(seed)
    big = rng.uniform(-3, 3, size=(96, x.shape[1]))
    m = _module(c, torch.complex128)
    got = m.statevector(torch.tensor(big)).detach().numpy()
    rows = [0, 41, 95]
    np.testing.assert_allclose(got[rows], reference_states(c, theta_of(m), big[rows]), atol=TOL, rtol=0)


def test_layout_depends_on_batch_size_but_states_do_not():
    c, _ = random_circuit(4000, n_wires=9, n_ops=80, kinds=("const", "new"), n_features=0,
                          all_features_used=False)
    engine = StatevectorEngine(c)
    small, large = engine.plan(True, 1), engine.plan(True, 256)
    assert [b.span for b in small.blocks] != [b.span for b in large.blocks]
    # B=1: a block leads, ends the state (one product from the right) or leaves products >= MIN_COLUMNS wide
    assert all(b.span[0] == 1 or b.span[1] == 1 or b.span[1] >= MIN_COLUMNS for b in small.blocks)
    theta = torch.rand(c.n_trainable, dtype=torch.float64)
    one = engine(theta, None)
    many = engine(theta, None, torch.nn.functional.one_hot(torch.zeros(128, dtype=torch.long), 512).to(
        torch.complex128))
    np.testing.assert_allclose(many[77].numpy(), one[0].numpy(), atol=1e-12)


def _batch_one(seed):
    c, _ = random_circuit(7000 + seed, n_wires=7 + seed % 4, n_ops=70, kinds=("const", "new", "trainable"),
                          n_features=0, all_features_used=False)
    return c


def test_batch_one_blocks_at_the_state_end_match_qiskit():
    """At B=1 the layout applies blocks where they lie: at the front, in the middle, or on the state's last axes
    (a product from the right); every placement against qiskit's Statevector."""
    tails = 0
    for seed in range(8):
        c = _batch_one(seed)
        m = _module(c, torch.complex128)
        plan = m.engine.plan(True, 1)
        tails += sum(b.span[0] > 1 and b.span[1] == 1 for b in plan.blocks)
        np.testing.assert_allclose(m.statevector().detach().numpy(), reference_states(c, theta_of(m), None),
                                   atol=1e-10, rtol=0)
    assert tails >= 8  # the placement under test was taken


@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
def test_batch_one_gradient_matches_finite_differences_of_qiskit(diff_method):
    from tests.sim.test_module import _fd_gradient, _loss_reference

    c = _batch_one(1)
    labels = ["Z" * c.n_wires, "X" + "I" * (c.n_wires - 2) + "Y", "I" * (c.n_wires - 1) + "Z"]
    weights = np.array([0.7, -1.2, 0.5])
    m = qml.QuantumModule(c, measure=qml.Expval(labels), dtype=torch.complex128, diff_method=diff_method)
    assert any(b.span[0] > 1 and b.span[1] == 1 for b in m.engine.plan(True, 1).blocks)
    (m() * torch.tensor(weights)).sum().backward()
    fd = _fd_gradient(lambda t: _loss_reference(c, t, None, labels, weights), theta_of(m))
    assert np.abs(fd).max() > 1e-2
    np.testing.assert_allclose(m.theta.grad.numpy(), fd, atol=1e-6)
