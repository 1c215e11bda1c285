"""The adjoint gradient: the same gradients as backpropagation (itself checked against qiskit and PennyLane) for
every kind of block, measurement and input, while the forward pass keeps a few states instead of one per block;
``"auto"`` picks it when backpropagation would keep too much."""

from __future__ import annotations

import pytest
import torch

import qml
from qml.sim import engine


def reuploading(n: int = 6) -> qml.Circuit:
    c = qml.Circuit(n)
    c.encode("ryzxy")
    for _ in range(2):
        c.layer("u3").ring("cu3")
    c.encode("ryzxy")  # the inputs again: per-sample (batched) blocks after trainable ones
    c.layer("u3").ring("crx")
    c.add("rzz", (0, n - 1))
    return c


def gradients(circuit, diff_method: str, measure="z", initial: bool = False, dtype=torch.complex128):
    torch.manual_seed(1)
    m = qml.QuantumModule(circuit, measure=measure, dtype=dtype, diff_method=diff_method, fusion={False: 2, True: 2})
    x = torch.rand(5, circuit.n_inputs, dtype=m.theta.dtype, generator=torch.Generator().manual_seed(2))
    x.requires_grad_(circuit.n_inputs > 0)
    if initial:
        psi = torch.randn(5, 1 << circuit.n_wires, dtype=dtype, generator=torch.Generator().manual_seed(3))
        psi = (psi / psi.norm(dim=1, keepdim=True)).requires_grad_()
        state = m.engine(m.theta, x, psi)
        out = (state.abs() ** 2) @ torch.linspace(-1, 1, 1 << circuit.n_wires, dtype=m.theta.dtype)
        inputs = (m.theta, x, psi) if circuit.n_inputs else (m.theta, psi)
    else:
        out = m(x)
        inputs = (m.theta, x)
    weights = torch.linspace(0.5, 2.0, out.numel(), dtype=out.dtype).view(out.shape)
    return out.detach(), torch.autograd.grad((out * weights).sum(), inputs)


@pytest.mark.parametrize("measure", ["z", "probs", qml.Expval(["ZZIIII", "XIXIIY"])])
def test_adjoint_gradients_equal_backprops(measure):
    c = reuploading()
    out_b, grads_b = gradients(c, "backprop", measure)
    out_a, grads_a = gradients(c, "adjoint", measure)
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=1e-12)
    for a, b in zip(grads_a, grads_b, strict=True):
        assert b.abs().max() > 1e-3  # the gradient is not trivially zero
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_adjoint_gradient_of_an_initial_state_equals_backprops():
    c = qml.Circuit(5).layer("u3").ring("cu3").layer("ry").ring("cx")
    _, grads_b = gradients(c, "backprop", initial=True)
    _, grads_a = gradients(c, "adjoint", initial=True)
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_adjoint_in_single_precision_stays_within_1e_5_of_backprop_relative():
    c = reuploading(8)
    _, grads_b = gradients(c, "backprop", dtype=torch.complex64)
    _, grads_a = gradients(c, "adjoint", dtype=torch.complex64)
    for a, b in zip(grads_a, grads_b, strict=True):
        assert ((a - b).abs().max() / b.abs().max()) < 1e-5


def saved_states(module, x) -> int:
    """How many complex tensors of at least a whole state's size autograd saves during one forward pass."""
    amplitudes = x.shape[0] << module.n_wires
    saved = []

    def pack(t):
        if t.is_complex() and t.numel() >= amplitudes:
            saved.append(t.numel() // amplitudes)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x).sum()
    return sum(saved)


def test_adjoint_keeps_one_state_where_backprop_keeps_one_per_block():
    c = qml.Circuit(12).layer("u3").ring("cu3").layer("u3").ring("cu3").layer("u3").ring("cu3")
    backprop = qml.QuantumModule(c, diff_method="backprop", fusion={False: 3, True: 3})
    adjoint = qml.QuantumModule(c, diff_method="adjoint", fusion={False: 3, True: 3})
    blocks = len(backprop.engine.plan(True, 1).blocks)
    assert blocks >= 8
    assert saved_states(backprop, torch.zeros(1, 0)) >= blocks
    assert saved_states(adjoint, torch.zeros(1, 0)) == 1  # the final state; the rest is uncomputed


def test_auto_takes_the_adjoint_method_when_backprop_would_keep_too_much(monkeypatch):
    c = reuploading()
    m = qml.QuantumModule(c)
    x = torch.rand(5, 16)
    assert m(x).grad_fn is not None and not m.engine.uses_adjoint(5)
    monkeypatch.setattr(engine, "ADJOINT_ABOVE", 1024)
    assert m.engine.uses_adjoint(5)
    seen = []
    original = engine._Adjoint.apply
    monkeypatch.setattr(engine._Adjoint, "apply", lambda *args: seen.append(1) or original(*args))
    m(x).sum().backward()
    assert seen and m.theta.grad.abs().max() > 0


def test_an_unknown_diff_method_is_an_input_error():
    with pytest.raises(qml.InputError, match="diff_method must be one of auto, backprop, adjoint, got 'parameter'"):
        qml.QuantumModule(qml.Circuit(2).add("ry", 0), diff_method="parameter")
