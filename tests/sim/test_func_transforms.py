"""``torch.func`` on a module: vmap, grad, jacrev, jacfwd and hessian, with both gradient methods.

Oracles: qiskit's ``Statevector`` ⟨Z⟩ (``tests.reference``) and its central finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, vmap

import qml
from tests.reference import reference_z

H = 1e-5


def _circuit() -> qml.Circuit:
    c = qml.Circuit(3)
    for w in range(3):
        c.ry(w, qml.Input(w))
    c.rzz(0, 2, qml.Input(1, scale=0.5))
    c.layer("u3").ring("cu3").layer("rx")
    return c


@pytest.fixture(params=["backprop", "adjoint"])
def module(request):
    m = qml.QuantumModule(_circuit(), diff_method=request.param).double()
    with torch.no_grad():
        m.theta.copy_(torch.tensor(np.random.default_rng(1).uniform(-np.pi, np.pi, m.theta.numel())))
    return m


@pytest.fixture
def x():
    return torch.tensor(np.random.default_rng(2).uniform(-1, 1, (4, 3)))


def _theta(m) -> np.ndarray:
    return m.theta.detach().numpy().copy()


def _fd_theta(m, xs: np.ndarray) -> np.ndarray:
    """d<Z>/d theta from qiskit: (B, wires, T)."""
    theta = _theta(m)
    cols = [(reference_z(m.circuit, theta + H * e, xs) - reference_z(m.circuit, theta - H * e, xs)) / (2 * H)
            for e in np.eye(theta.size)]
    return np.stack(cols, -1)


def _fd_x(m, row: np.ndarray) -> np.ndarray:
    """d<Z>/dx of one sample from qiskit: (wires, F)."""
    theta = _theta(m)
    cols = [(reference_z(m.circuit, theta, (row + H * e)[None]) - reference_z(m.circuit, theta, (row - H * e)[None]))
            [0] / (2 * H) for e in np.eye(row.size)]
    return np.stack(cols, -1)


def test_vmap_over_samples_equals_qiskit(module, x):
    out = vmap(module)(x)
    np.testing.assert_allclose(out.detach().numpy(), reference_z(module.circuit, _theta(module), x.numpy()),
                               atol=1e-12)


@pytest.mark.parametrize("transform", [jacrev, jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobian_in_theta_equals_finite_differences_of_qiskit(module, x, transform):
    jac = transform(lambda theta: functional_call(module, {"theta": theta}, (x,)))(module.theta.detach())
    np.testing.assert_allclose(jac.detach().numpy(), _fd_theta(module, x.numpy()), atol=1e-8)


@pytest.mark.parametrize("transform", [jacrev, jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobian_in_the_features_equals_finite_differences_of_qiskit(module, x, transform):
    jac = transform(module)(x[0])
    np.testing.assert_allclose(jac.detach().numpy(), _fd_x(module, x[0].numpy()), atol=1e-8)


def test_per_sample_gradients_with_vmap_of_grad(module, x):
    def loss(params, row):
        return functional_call(module, params, (row,))[0]  # <Z_0> of one sample

    grads = vmap(grad(loss), in_dims=(None, 0))({"theta": module.theta.detach()}, x)["theta"]
    np.testing.assert_allclose(grads.numpy(), _fd_theta(module, x.numpy())[:, 0], atol=1e-8)


def test_hessian_in_the_features_equals_second_differences_of_qiskit(module, x):
    row = x[1].numpy()
    hess = hessian(lambda r: module(r)[2])(x[1]).detach().numpy()
    theta, h = _theta(module), 1e-4

    def z2(r):
        return reference_z(module.circuit, theta, r[None])[0, 2]

    eye = np.eye(3)
    expected = np.array([[(z2(row + h * eye[i] + h * eye[j]) - z2(row + h * eye[i] - h * eye[j])
                           - z2(row - h * eye[i] + h * eye[j]) + z2(row - h * eye[i] - h * eye[j])) / (4 * h * h)
                          for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(hess, expected, atol=1e-6)


def test_double_backward_of_the_adjoint_method_equals_backprops(x):
    out = []
    for diff_method in ("adjoint", "backprop"):
        m = qml.QuantumModule(_circuit(), diff_method=diff_method).double()
        with torch.no_grad():
            m.theta.copy_(torch.linspace(-2, 2, m.theta.numel(), dtype=torch.float64))
        xs = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(m(xs).sum(), xs, create_graph=True)
        out.append(torch.autograd.grad((g ** 2).sum(), m.theta)[0])
    torch.testing.assert_close(out[0], out[1], atol=1e-10, rtol=0)
