"""QuantumModule: nn.Module behaviour, output shapes, input validation, gradients and CPU/CUDA agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Operator

import qml
from tests.reference import qiskit_circuit, random_circuit, reference_expvals, reference_states, theta_of


def _small_model(measure="z", dtype=torch.complex64):
    c = qml.Circuit(3, n_inputs=4)
    c.ry(0, qml.Input(0)).rz(1, qml.Input(1)).rx(2, qml.Input(2)).ry(0, qml.Input(3))
    c.layer("u3").ring("cu3")
    return qml.QuantumModule(c, measure=measure, dtype=dtype)


X4 = torch.tensor([[0.1, -0.4, 0.9, 1.3], [0.5, 0.2, -1.1, 0.0], [2.0, -2.0, 0.3, 0.7]])


# -- nn.Module behaviour ------------------------------------------------------------------------------
def test_module_is_an_nn_module_with_theta_as_its_only_parameter():
    m = _small_model()
    assert isinstance(m, torch.nn.Module)
    params = list(m.parameters())
    assert len(params) == 1 and params[0] is m.theta
    assert m.theta.shape == (m.circuit.n_trainable,) == (18,)
    assert m.theta.dtype == torch.float32 and m.theta.requires_grad
    assert list(m.state_dict()) == ["theta"]


def test_initial_values_of_trainable_slots_are_used():
    c = qml.Circuit(1).rx(0, qml.Trainable(init=0.25)).ry(0).rz(0, qml.Trainable(init=-2.0))
    theta = qml.QuantumModule(c, dtype=torch.complex128).theta.detach()
    assert theta[0].item() == 0.25 and theta[2].item() == -2.0
    assert -np.pi <= theta[1].item() <= np.pi


def test_state_dict_round_trip_through_torch_load_weights_only(tmp_path):
    m = _small_model()
    path = tmp_path / "model.pt"
    torch.save(m.state_dict(), path)
    fresh = _small_model()
    assert not torch.equal(fresh.theta, m.theta)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    assert torch.equal(fresh.theta, m.theta)
    torch.testing.assert_close(fresh(X4), m(X4), atol=0, rtol=0)


def test_double_switches_to_complex128_states():
    m = _small_model().double()
    assert m.theta.dtype == torch.float64
    state = m.statevector(X4.double())
    assert state.dtype == torch.complex128
    ref = reference_states(m.circuit, theta_of(m), X4.double().numpy())
    np.testing.assert_allclose(state.detach().numpy(), ref, atol=1e-12, rtol=0)
    assert m(X4).dtype == torch.float64


def test_float_switches_back_to_complex64():
    m = _small_model(dtype=torch.complex128).float()
    assert m.statevector(X4).dtype == torch.complex64


def test_dtype_argument_must_be_complex():
    with pytest.raises(qml.InputError, match="dtype must be torch.complex64 or torch.complex128"):
        _small_model(dtype=torch.float32)


def test_one_dimensional_input_gives_an_unbatched_output():
    m = _small_model()
    single = m(X4[1])
    assert single.shape == (3,)
    torch.testing.assert_close(single, m(X4)[1])
    assert m.statevector(X4[1]).shape == (8,)


def test_circuit_without_inputs_runs_without_x_as_a_batch_of_one():
    c = qml.Circuit(2).h(0).cx(0, 1)
    m = qml.QuantumModule(c, measure=qml.Expval(["ZZ", "XX", "YY"]), dtype=torch.complex128)
    np.testing.assert_allclose(m().detach().numpy(), [[1.0, 1.0, -1.0]], atol=1e-12)


@pytest.mark.parametrize("measure,width", [
    ("z", 3), (qml.ExpZ(), 3), (qml.ExpZ(wires=(2,)), 1), (qml.Expval(["XYZ", "IIZ"]), 2), ("probs", 8),
    (qml.Probs(), 8), (qml.Probs(wires=(0, 2)), 4), (qml.Counts(10), 8), (qml.Counts(10, wires=(1,)), 2),
    (qml.ExpZ(shots=10), 3)])
def test_output_shape_of_each_measurement(measure, width):
    m = _small_model(measure)
    assert m.n_outputs == width
    assert m(X4).shape == (3, width)
    assert m(X4[0]).shape == (width,)


def test_numpy_arrays_lists_and_integer_tensors_are_accepted_as_features():
    m = _small_model(dtype=torch.complex128)
    expected = m(X4.double())
    torch.testing.assert_close(m(X4.double().numpy()), expected)
    torch.testing.assert_close(m(X4.double().tolist()), expected)
    ints = torch.tensor([[1, 0, -1, 2]])
    torch.testing.assert_close(m(ints), m(ints.double()))


def test_repr_names_wires_inputs_and_trainable_count():
    text = repr(_small_model())
    assert "wires=3" in text and "inputs=4" in text and "trainable=18" in text


def test_unitary_for_a_feature_sample_matches_qiskit_operator():
    m = _small_model(dtype=torch.complex128)
    x = X4[2].double()
    expected = Operator(qiskit_circuit(m.circuit, theta_of(m), x.numpy())).data
    np.testing.assert_allclose(m.unitary(x).detach().numpy(), expected, atol=1e-12)


# -- bad input --------------------------------------------------------------------------------------------
def test_wrong_number_of_features_is_an_input_error():
    with pytest.raises(qml.InputError, match=r"input features must have shape \(batch, 4\) for this circuit, "
                                             r"got \(3, 3\)"):
        _small_model()(X4[:, :3])


def test_three_dimensional_features_are_an_input_error():
    with pytest.raises(qml.InputError, match=r"got \(1, 3, 4\)"):
        _small_model()(X4.unsqueeze(0))


def test_missing_features_are_an_input_error():
    with pytest.raises(qml.InputError, match="this circuit takes 4 input features per sample; got none"):
        _small_model()()


def test_empty_batch_is_an_input_error():
    with pytest.raises(qml.InputError, match="input batch is empty"):
        _small_model()(torch.zeros(0, 4))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_feature_is_an_input_error_naming_sample_and_feature(bad):
    x = X4.clone()
    x[2, 1] = bad
    with pytest.raises(qml.InputError, match=f"input features must be finite: sample 2, feature 1 is {bad}"):
        _small_model()(x)


def test_complex_features_are_an_input_error():
    with pytest.raises(qml.InputError, match="input features must be real numbers, got dtype torch.complex64"):
        _small_model()(X4.to(torch.complex64))


def test_boolean_features_are_an_input_error():
    with pytest.raises(qml.InputError, match="input features must be real numbers, got dtype torch.bool"):
        _small_model()(X4 > 0)


def test_non_numeric_features_are_an_input_error():
    with pytest.raises(qml.InputError, match=r"input features must be numeric of shape \(batch, 4\)"):
        _small_model()([["a", "b", "c", "d"]])


def test_unitary_takes_one_sample():
    with pytest.raises(qml.InputError, match="unitary\\(\\) takes one sample of features, got 3"):
        _small_model().unitary(X4)


def test_unitary_without_features_for_a_circuit_with_inputs_is_an_input_error():
    with pytest.raises(qml.InputError, match="4 input features"):
        _small_model().unitary()


def test_initial_state_of_wrong_size_is_an_input_error():
    with pytest.raises(qml.InputError, match=r"initial_state must have shape \(batch, 8\), got \(3, 4\)"):
        _small_model().statevector(X4, initial_state=torch.zeros(3, 4, dtype=torch.complex64))


def test_initial_state_batch_must_match_the_features():
    with pytest.raises(qml.InputError, match="initial_state batch 2 does not match the features' 3"):
        _small_model().statevector(X4, initial_state=torch.zeros(2, 8, dtype=torch.complex64))


# -- gradients ----------------------------------------------------------------------------------------------
SHIFT_GATES = ["rx", "ry", "rz", "rxx", "ryy", "rzz", "rzx", "p", "cp"]
CONST_GATES = ["h", "cx", "sx", "cz", "s"]


def _rotation_circuit(seed: int):
    """Every slot used once, scale 1: the two-term parameter-shift rule is exact for these gates."""
    rng = np.random.default_rng(seed)
    n = 4
    c = qml.Circuit(n, n_inputs=2)
    c.ry(0, qml.Input(0)).rx(3, qml.Input(1, 0.5, 0.2))
    for j in range(14):
        name = SHIFT_GATES[j % len(SHIFT_GATES)] if j % 3 else CONST_GATES[int(rng.integers(len(CONST_GATES)))]
        k = qml.circuit.gate_def(name).num_qubits
        c.add(name, tuple(int(w) for w in rng.permutation(n)[:k]))
    return c


def _loss_reference(c, theta, x, labels, weights):
    return float((reference_expvals(c, theta, x, labels) * weights).sum())


@pytest.mark.parametrize("seed", range(4))
def test_theta_gradient_matches_parameter_shift_rule(seed):
    c = _rotation_circuit(seed)
    labels = ["ZIII", "IXZI", "YIIZ", "ZZZZ"]
    weights = np.array([1.0, -0.5, 0.8, 1.3])
    x = np.array([[0.3, -0.7], [1.1, 0.4]])
    m = qml.QuantumModule(c, measure=qml.Expval(labels), dtype=torch.complex128)
    (m(torch.tensor(x)) * torch.tensor(weights)).sum().backward()
    theta = theta_of(m)
    shift = np.zeros_like(theta)
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = np.pi / 2
        shift[i] = (_loss_reference(c, theta + e, x, labels, weights)
                    - _loss_reference(c, theta - e, x, labels, weights)) / 2
    assert np.abs(shift).max() > 1e-2
    np.testing.assert_allclose(m.theta.grad.numpy(), shift, atol=1e-10)


def _fd_gradient(f, values, h=1e-5):
    grad = np.zeros_like(values)
    for idx in np.ndindex(values.shape):
        e = np.zeros_like(values)
        e[idx] = h
        grad[idx] = (f(values + e) - f(values - e)) / (2 * h)
    return grad


GENERAL_GATES = ["u3", "cu3", "crx", "cry", "crz", "u2", "u", "p", "cp", "rxx", "ryy", "rzx", "h", "cx", "ecr",
                 "iswap", "ccx", "ry", "rz"]


@pytest.mark.parametrize("seed", range(5))
def test_theta_gradient_matches_finite_differences_for_general_circuits(seed):
    c, x = random_circuit(6000 + seed, n_wires=3 + seed % 2, n_ops=14, gates=GENERAL_GATES)
    labels = ["Z" * c.n_wires, "X" + "I" * (c.n_wires - 2) + "Y", "I" * (c.n_wires - 1) + "Z"]
    weights = np.array([0.7, -1.2, 0.5])
    m = qml.QuantumModule(c, measure=qml.Expval(labels), dtype=torch.complex128)
    (m(torch.tensor(x)) * torch.tensor(weights)).sum().backward()
    fd = _fd_gradient(lambda t: _loss_reference(c, t, x, labels, weights), theta_of(m))
    assert np.abs(fd).max() > 1e-2
    np.testing.assert_allclose(m.theta.grad.numpy(), fd, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_input_gradient_matches_finite_differences(seed):
    c, x = random_circuit(6100 + seed, n_wires=3, n_ops=14, gates=GENERAL_GATES, kinds=("input", "new", "const"))
    labels = ["ZZZ", "IXI", "YIZ"]
    weights = np.array([1.0, 0.6, -0.9])
    m = qml.QuantumModule(c, measure=qml.Expval(labels), dtype=torch.complex128)
    xt = torch.tensor(x, requires_grad=True)
    (m(xt) * torch.tensor(weights)).sum().backward()
    fd = _fd_gradient(lambda v: _loss_reference(c, theta_of(m), v, labels, weights), x)
    assert np.abs(fd).max() > 1e-2
    np.testing.assert_allclose(xt.grad.numpy(), fd, atol=1e-6)


def test_shared_slot_gradient_sums_over_its_uses():
    c = qml.Circuit(3, n_inputs=1)
    c.h(0).cu3(0, 1, qml.Trainable(init=0.4), None, qml.Trainable(index=0, scale=-2.0, offset=0.3))
    c.crx(1, 2, qml.Trainable(index=0, scale=0.5)).rzz(0, 2, qml.Input(0)).ry(2, qml.Trainable(index=1, scale=3.0))
    labels = ["ZZZ", "XIY"]
    weights = np.array([1.0, -0.7])
    x = np.array([[0.4], [-1.3]])
    m = qml.QuantumModule(c, measure=qml.Expval(labels), dtype=torch.complex128)
    (m(torch.tensor(x)) * torch.tensor(weights)).sum().backward()
    fd = _fd_gradient(lambda t: _loss_reference(c, t, x, labels, weights), theta_of(m))
    np.testing.assert_allclose(m.theta.grad.numpy(), fd, atol=1e-6)


def test_complex64_gradient_matches_finite_differences_loosely():
    c, x = random_circuit(6200, n_wires=4, n_ops=20, gates=GENERAL_GATES)
    labels = ["ZIII", "IIZI", "XXII"]
    weights = np.array([1.0, 0.5, -0.5])
    m = qml.QuantumModule(c, measure=qml.Expval(labels), dtype=torch.complex64)
    (m(torch.tensor(x, dtype=torch.float32)) * torch.tensor(weights)).sum().backward()
    x32 = x.astype(np.float32).astype(np.float64)
    fd = _fd_gradient(lambda t: _loss_reference(c, t, x32, labels, weights), theta_of(m))
    np.testing.assert_allclose(m.theta.grad.numpy(), fd, atol=1e-4)


# -- CUDA ----------------------------------------------------------------------------------------------------
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("measure", ["z", "probs", qml.Expval(["XYZI", "ZZII"])])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_cuda_outputs_and_gradients_match_cpu(measure, dtype):
    c, x = random_circuit(7000, n_wires=4, n_ops=30)
    cpu = qml.QuantumModule(c, measure=measure, dtype=dtype)
    gpu = qml.QuantumModule(c, measure=measure, dtype=dtype)
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.to("cuda")
    assert gpu.theta.device.type == "cuda"
    x_cpu = torch.tensor(x, requires_grad=True)
    x_gpu = torch.tensor(x, device="cuda", requires_grad=True)
    out_cpu, out_gpu = cpu(x_cpu), gpu(x_gpu)
    assert out_gpu.device.type == "cuda"
    tol = 1e-5 if dtype == torch.complex64 else 1e-10
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, atol=tol, rtol=0)
    out_cpu.square().sum().backward()
    out_gpu.square().sum().backward()
    torch.testing.assert_close(gpu.theta.grad.cpu(), cpu.theta.grad, atol=10 * tol, rtol=0)
    torch.testing.assert_close(x_gpu.grad.cpu(), x_cpu.grad, atol=10 * tol, rtol=0)


@cuda
def test_cuda_statevector_matches_qiskit():
    c, x = random_circuit(7100, n_wires=6, n_ops=40)
    m = qml.QuantumModule(c, dtype=torch.complex128).to("cuda")
    got = m.statevector(torch.tensor(x)).cpu().detach().numpy()
    np.testing.assert_allclose(got, reference_states(c, theta_of(m), x), atol=1e-10)
