"""Parameter-shift gradients (``qml.backends.shift``). The oracle is torch autograd through the statevector engine
(``QuantumModule`` backprop, complex128): the shift gradient of the same loss on the exact ``TorchExecutor`` must
equal it to 1e-6 for every parameterized gate and for shared, scaled and expression angles; sampled executors
must land within a shot-noise bound computed by hand from the shift coefficients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import qml
from qml.backends.base import Executor
from qml.backends.shift import (
    ShiftCounter,
    ShiftPlan,
    expectations_with_shift,
    measure_by_shift,
    shift_rule,
)
from qml.backends.torch_executor import TorchExecutor
from qml.circuit.gates import GATES
from qml.errors import CircuitError, InputError

PARAMETERIZED = sorted(name for name, g in GATES.items() if g.num_params)
X = torch.tensor([[0.3, -1.1], [1.7, 0.4], [-0.6, 2.2]], dtype=torch.float64)


def sandwich(gate: str) -> qml.Circuit:
    """``gate`` with trainable angles between fixed non-trivial gates and a feature-encoding layer."""
    g = GATES[gate]
    n = max(2, g.num_qubits)
    c = qml.Circuit(n, n_inputs=2)
    for w in range(n):
        c.h(w).ry(w, qml.Input(w % 2, scale=0.8, offset=0.1)).rz(w, 0.4 + 0.3 * w)
    c.cx(0, 1)
    c.add(gate, tuple(range(g.num_qubits)))
    for w in range(n):
        c.rx(w, 0.9 - 0.2 * w).ry(w, -0.5)
    c.cz(1, 0)
    return c


def loss_of(z: torch.Tensor) -> torch.Tensor:
    """A loss whose gradient differs per sample and per wire."""
    weights = torch.tensor([1.0, -0.7, 0.4], dtype=z.dtype)[: z.shape[1]]
    return (z * weights).sum() + 0.3 * (z**2).sum()


def module_of(circuit: qml.Circuit) -> qml.QuantumModule:
    module = qml.QuantumModule(circuit, dtype=torch.complex128, diff_method="backprop")
    with torch.no_grad():
        module.theta.copy_(torch.linspace(-2.1, 2.6, module.theta.numel(), dtype=torch.float64))
    return module


def backprop_grad(module: qml.QuantumModule, x) -> torch.Tensor:
    module.theta.grad = None
    loss_of(module(x)).backward()
    return module.theta.grad.clone()


def shift_grad(module: qml.QuantumModule, x, executor=None, **kwargs) -> torch.Tensor:
    module.theta.grad = None
    loss_of(measure_by_shift(executor or TorchExecutor(), module, x, **kwargs)).backward()
    return module.theta.grad.clone()


class CountingExecutor(Executor):
    """Forwards to an executor and records each call's number of rows."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def expectations(self, module, x, shots=None):
        self.calls.append(1 if x is None else x.shape[0])
        return self.inner.expectations(module, x, shots)


@pytest.mark.parametrize("gate", PARAMETERIZED)
def test_shift_gradient_equals_backprop_for_every_gate(gate):
    module = module_of(sandwich(gate))
    exact = backprop_grad(module, X)
    assert exact.abs().max() > 1e-3
    torch.testing.assert_close(shift_grad(module, X), exact, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("gate", "terms"), [("rx", 2), ("rzz", 2), ("p", 2), ("cp", 2), ("crx", 4), ("crz", 4)])
def test_rotations_and_phases_take_two_terms_controlled_rotations_four(gate, terms):
    rule = shift_rule(gate, 0)
    assert len(rule.shifts) == len(rule.coeffs) == terms


def test_cu3_theta_takes_four_terms_and_its_phases_two():
    assert [len(shift_rule("cu3", j).shifts) for j in range(3)] == [4, 2, 2]
    assert [len(shift_rule("u3", j).shifts) for j in range(3)] == [2, 2, 2]


def test_a_spectrum_that_is_not_equidistant_is_refused(monkeypatch):
    import qml.backends.shift as shift

    fake = GATES["rz"].__class__("fake_uneven", 2, "trig", ("theta",))
    monkeypatch.setitem(GATES, "fake_uneven", fake)
    monkeypatch.setattr(shift, "matrix_np", lambda name, angles: np.diag(np.exp(-1j * angles[0] * np.array(
        [0.0, 1.0, math.sqrt(2), 0.0]))))
    with pytest.raises(CircuitError, match="not equidistant"):
        shift.shift_rule("fake_uneven", 0)


def shared_slot() -> qml.Circuit:
    c = sandwich("ry")
    c.rx(1, qml.Trainable(0)).crz(0, 1, qml.Trainable(0, scale=-0.6))
    return c


def affine_slot() -> qml.Circuit:
    c = sandwich("rz")
    c.ry(1, qml.Trainable(scale=1.7, offset=0.4)).cry(1, 0, qml.Trainable(1, scale=-2.5, offset=-1.0))
    return c


def expr_angle() -> qml.Circuit:
    c = sandwich("u3")
    f0, f1 = qml.Expr.feature(0), qml.Expr.feature(1)
    c.rz(0, 2 * f0 * qml.Expr.slot(1) + qml.Expr.slot(2))
    c.crx(0, 1, f1 * qml.Expr.slot(0).sin() - 0.3 * qml.Expr.slot(1) * qml.Expr.slot(2))
    c.h(0).h(1)
    return c


@pytest.mark.parametrize("build", [shared_slot, affine_slot, expr_angle])
def test_shared_scaled_and_expression_angles_follow_the_chain_rule(build):
    module = module_of(build())
    torch.testing.assert_close(shift_grad(module, X), backprop_grad(module, X), rtol=0, atol=1e-6)


def test_one_executor_call_per_gradient_and_circuits_as_planned():
    module = module_of(expr_angle())
    executor, counter = CountingExecutor(TorchExecutor()), ShiftCounter()
    plan = ShiftPlan(module.circuit)
    shift_grad(module, X, executor, plan=plan, counter=counter)
    assert executor.calls == [plan.circuits(len(X))] == [counter.circuits]
    assert plan.circuits(len(X)) == len(X) * (1 + 2 + 2 + 2 + 2 + 4)  # u3: 3 x 2, rz: 2, crx: 4
    assert counter.calls == 1 and counter.executions == 0


def test_inactive_slots_get_exactly_zero_and_active_ones_the_exact_value():
    module = module_of(expr_angle())
    exact = backprop_grad(module, X)
    active = torch.tensor([True, False, True])  # slot 1 off, though the active exprs use it
    executor = CountingExecutor(TorchExecutor())
    plan = ShiftPlan(module.circuit)
    grad = shift_grad(module, X, executor, active=active, plan=plan)
    assert bool((grad[~active] == 0).all())
    torch.testing.assert_close(grad[active], exact[active], rtol=0, atol=1e-6)
    assert executor.calls == [plan.circuits(len(X), active)] == [len(X) * (1 + 2 + 2 + 2 + 4)]  # u3 θ, λ, rz, crx


def test_without_gradient_only_the_unshifted_rows_run():
    module = module_of(shared_slot())
    executor = CountingExecutor(TorchExecutor())
    with torch.no_grad():
        z = measure_by_shift(executor, module, X)
    module.eval()
    measure_by_shift(executor, module, X[0])
    assert executor.calls == [len(X), 1]
    torch.testing.assert_close(z, module(X).detach(), rtol=0, atol=1e-12)
    assert z.dtype == torch.float64


def test_expectations_with_shift_gives_values_and_derivatives_per_angle():
    module = module_of(sandwich("crz"))
    plan = ShiftPlan(module.circuit)
    z, dz = expectations_with_shift(TorchExecutor(), plan, module.theta, X, None)
    assert z.shape == (len(X), 2) and dz.shape == (len(X), plan.n_angles, 2)
    torch.testing.assert_close(z, module(X).detach(), rtol=0, atol=1e-12)
    jac = torch.autograd.functional.jacobian(lambda t: plan.module(torch.float64)(
        torch.cat([X, plan.angles(t, X)], 1)), module.theta.detach())
    torch.testing.assert_close(dz[:, 0], jac[..., 0], rtol=0, atol=1e-9)


def test_a_plan_of_another_circuit_and_features_wanting_gradients_are_refused():
    module = module_of(sandwich("rx"))
    with pytest.raises(InputError, match="another circuit"):
        measure_by_shift(TorchExecutor(), module, X, plan=ShiftPlan(sandwich("ry")))
    with pytest.raises(InputError, match="detach"):
        measure_by_shift(TorchExecutor(), module, X.clone().requires_grad_(True))


def shot_bound(module: qml.QuantumModule, z: torch.Tensor, shots: int, sigmas: float = 5.0) -> torch.Tensor:
    """``sigmas`` standard errors of each slot's sampled gradient, by hand: every shifted row is an independent
    estimate whose per-shot loss term is bounded by sum_w |dL/dz_w|, weighted by its rule's coefficient (all angles
    here are plain slots of scale 1)."""
    z = z.detach().clone().requires_grad_(True)
    (dl_dz,) = torch.autograd.grad(loss_of(z), z)
    per_row = dl_dz.abs().sum(1) ** 2 / shots  # (B,)
    var = torch.zeros_like(module.theta)
    for op in module.circuit.ops:
        for j, ref in enumerate(op.params):
            if ref.kind == "trainable":
                coeffs = torch.tensor(shift_rule(op.gate, j).coeffs, dtype=var.dtype)
                var[ref.index] += (ref.scale * coeffs).pow(2).sum() * per_row.sum()
    return sigmas * var.sqrt()


def test_sampled_gradient_is_within_shot_noise_of_the_exact_one():
    module = module_of(sandwich("cu3"))
    exact, z = backprop_grad(module, X), module(X)
    shots = 4000
    grad = shift_grad(module, X, TorchExecutor(seed=7), shots=shots)
    bound = shot_bound(module, z, shots)
    assert bool(((grad - exact).abs() <= bound).all()), (grad, exact, bound)
    assert bool((grad != exact).any())  # it really sampled


def test_aer_twin_gradient_is_within_shot_noise_in_one_call():
    from qml.backends.aer_executor import AerExecutor

    c = qml.Circuit(2, n_inputs=2)
    c.ry(0, qml.Input(0)).ry(1, qml.Input(1)).ry(0).rx(1).cx(0, 1).rz(1).ry(1, 0.7).rx(0)
    module = module_of(c)
    x = X[:2]
    exact, z = backprop_grad(module, x), module(x)
    executor = CountingExecutor(AerExecutor("ibm_quito", noise=False, seed=3))
    shots = 4000
    grad = shift_grad(module, x, executor, shots=shots)
    assert len(executor.calls) == 1
    bound = shot_bound(module, z, shots)
    assert bool(((grad - exact).abs() <= bound).all()), (grad, exact, bound)
