"""Memory and depth: the size guard refuses, in one line and before allocating, a simulation the machine cannot
hold; a deep circuit's plan grows with its gates (no padding to the longest block); single precision stays within
1e-5 of qiskit's ``Statevector`` on thousands of gates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

import qml
from qml.errors import MemoryBudgetError
from qml.sim import engine, memory
from qml.sim.engine import _Prepared
from qml.sim.plan import MAX_BLOCK_OPS


def test_forty_qubits_is_refused_before_anything_is_allocated():
    c = qml.Circuit(40).layer("ry").ring("cx")
    with pytest.raises(MemoryBudgetError) as err:
        qml.QuantumModule(c)()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("simulating 40 qubits at batch 1 needs about 49152.0 GiB (6 states of 8192.0 GiB for "
                              "the adjoint gradient)")  # 2^40 amplitudes x 8 B: 8 TiB a state; auto: adjoint
    assert "GiB are available" in message and "torch.no_grad()" in message


def test_a_simulation_over_the_available_memory_says_how_much_and_what_to_do(monkeypatch):
    monkeypatch.setattr(memory, "CHECK_ABOVE", 0)
    monkeypatch.setattr(memory, "available_bytes", lambda device: 16 << 20)  # 16 MiB
    c = qml.Circuit(12).layer("ry").ring("cx").layer("ry").ring("cx")
    module = qml.QuantumModule(c)
    x = None
    # 12 qubits at batch 1: a 32 KiB state; with a batch of 256 states of 8 MiB, one kept per fused block
    state = 256 * 2**12 * 8
    engine = module.engine
    with pytest.raises(MemoryBudgetError, match=r"simulating 12 qubits at batch 256 needs about \d+ MiB \(one 8 MiB "
                                                r"state kept per fused block \(\d+\) for backpropagation\); 16 MiB "
                                                r"are available in memory: use a smaller batch, torch.no_grad\(\)"):
        engine.check_memory(256, torch.complex64, grad=True)
    engine.check_memory(1, torch.complex64, grad=True)  # 32 KiB states fit
    need, one = memory.estimate(12, 256, 8, 10, (0, 0), grad=False)
    assert one == state and need == 3 * state  # without gradients: three states at a time
    module(x)  # batch 1 runs


def test_a_deep_block_is_split_and_padding_stays_within_twice_the_ops():
    c = qml.Circuit(3)
    for _ in range(1000):  # 2000 gates on wires 0-1 would be one block of 2048 padded entries without the cap
        c.add("ry", 0).add("cx", (0, 1))
    c.add("cx", (1, 2))
    c.add("ry", 2)
    engine = qml.QuantumModule(c).engine
    plan = engine.plan(True, 1)
    assert max(len(b.ops) for b in plan.blocks) <= MAX_BLOCK_OPS
    prep = _Prepared(plan, 0, c.n_trainable, torch.device("cpu"), torch.complex64)
    entries = sum(g.index.numel() for g in prep.block_groups)
    own = sum(len(b.ops) << (2 * len(b.wires)) for b in plan.blocks)
    assert own <= entries <= 2 * own


def test_single_precision_stays_within_1e_5_of_qiskit_on_a_twelve_thousand_gate_circuit(monkeypatch):
    """Every H rounds 1/sqrt(2) in float32, so the norm shrinks block after block: -3.0e-5 after 12 000 gates
    without the final renormalisation, within 1e-6 with it."""
    rng = np.random.default_rng(0)
    c = qml.Circuit(10)
    for _ in range(12000):
        if rng.random() < 0.6:
            c.add(str(rng.choice(["rx", "ry", "rz", "u3", "h"])), int(rng.integers(10)))
        else:
            a, b = rng.choice(10, 2, replace=False)
            c.add(str(rng.choice(["cx", "cz", "crx", "rzz"])), (int(a), int(b)))
    torch.manual_seed(0)
    module = qml.QuantumModule(c)
    reference = Statevector(qml.to_qiskit(c, theta=module.theta.detach().double().numpy())).data

    def state() -> np.ndarray:
        with torch.no_grad():
            return module.engine(module.theta, None)[0].to(torch.complex128).numpy()

    renormalised = state()
    assert np.abs(renormalised - reference).max() < 1e-5
    assert abs(np.linalg.norm(renormalised) - 1) < 1e-5
    monkeypatch.setattr(engine, "RENORMALIZE_FROM", 0)
    assert abs(np.linalg.norm(state()) - 1) > 1e-5  # what the renormalisation corrects


@pytest.mark.parametrize("seed", range(3))
def test_a_permutation_of_thirty_axes_is_done_in_stages_of_under_25_axes_each(seed):
    """Registers of 25 qubits and more have more axes than torch's CUDA kernels take (25): a permutation scattering
    them is split into stages, each of which merges to under 25 axes, and the result is the permutation's."""
    import random

    from qml.sim.kernels import permute_stages, permuted
    from qml.sim.plan import axis_runs as _runs

    shape = [2] * 22 + [1] * 8  # 30 axes, 4 Mi elements
    random.Random(seed).shuffle(shape)
    t = torch.arange(math.prod(shape), dtype=torch.int32).reshape(shape)
    perm = list(range(30))
    random.Random(100 + seed).shuffle(perm)
    stages = permute_stages(perm)
    assert len(_runs(perm)) >= 25 and len(stages) > 1
    assert all(len(_runs(stage)) < 25 for stage in stages)
    assert torch.equal(permuted(t, perm), t.permute(perm).contiguous())
