"""QuantumNAT's post-measurement steps: normalisation per qubit over the batch (running statistics for a single
sample) and quantization to evenly spaced levels in [-2, 2] with a straight-through gradient and an MSE term."""

from __future__ import annotations

import pytest
import torch

from qml.errors import InputError
from qml.train.postprocess import PostMeasurement


@pytest.fixture
def z():
    """A noisy-looking batch: shrunk and shifted ⟨Z⟩ values, different per qubit."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(64, 4, generator=g, dtype=torch.float64) * torch.tensor([0.2, 0.5, 0.1, 0.9]) + 0.3


# -- normalisation -------------------------------------------------------------------------------------------------
def test_normalisation_gives_zero_mean_and_unit_std_per_qubit(z):
    out = PostMeasurement(4, norm=True)(z)
    torch.testing.assert_close(out.mean(0), torch.zeros(4, dtype=z.dtype), rtol=0, atol=1e-12)
    torch.testing.assert_close(out.std(0), torch.ones(4, dtype=z.dtype), rtol=0, atol=1e-12)


def test_normalisation_in_eval_mode_also_uses_the_batch_statistics(z):
    post = PostMeasurement(4, norm=True).eval()
    out = post(z)
    torch.testing.assert_close(out.mean(0), torch.zeros(4, dtype=z.dtype), rtol=0, atol=1e-12)


def test_training_batches_update_the_running_statistics_with_momentum(z):
    post = PostMeasurement(4, norm=True, momentum=0.25)
    post(z)
    torch.testing.assert_close(post.running_mean, 0.25 * z.mean(0).float(), rtol=0, atol=1e-6)
    torch.testing.assert_close(post.running_std, 0.75 + 0.25 * z.std(0).float(), rtol=0, atol=1e-6)


def test_eval_batches_leave_the_running_statistics_alone(z):
    post = PostMeasurement(4, norm=True).eval()
    post(z)
    assert (post.running_mean == 0).all() and (post.running_std == 1).all()


def test_a_single_sample_is_normalised_with_the_running_statistics(z):
    post = PostMeasurement(4, norm=True, momentum=1.0)
    post(z)  # momentum 1: the running statistics are this batch's
    post.eval()
    one = z[:1]
    expected = (one - z.mean(0)) / z.std(0)
    torch.testing.assert_close(post(one), expected, rtol=0, atol=1e-6)


def test_a_single_sample_in_training_does_not_update_the_running_statistics(z):
    post = PostMeasurement(4, norm=True)
    post(z[:1])
    assert (post.running_mean == 0).all() and (post.running_std == 1).all()


def test_constant_qubit_does_not_divide_by_zero():
    z = torch.ones(8, 2, dtype=torch.float64)
    assert torch.isfinite(PostMeasurement(2, norm=True)(z)).all()


def test_running_statistics_are_saved_in_the_state_dict():
    assert set(PostMeasurement(3, norm=True).state_dict()) == {"running_mean", "running_std"}


def test_without_norm_or_levels_the_values_pass_through(z):
    post = PostMeasurement(4)
    assert not post.active
    assert post(z) is z


# -- quantization --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("levels", [2, 3, 5, 6])
def test_quantized_values_take_only_the_levels_in_minus_two_to_two(levels):
    z = torch.linspace(-3.5, 3.5, 701, dtype=torch.float64)[:, None]
    out = PostMeasurement(1, levels=levels)(z)
    grid = torch.linspace(-2, 2, levels, dtype=torch.float64)
    distance = (out.flatten()[:, None] - grid[None, :]).abs()
    assert (distance.min(1).values < 1e-12).all()      # every value is a level
    assert (distance.min(0).values < 1e-12).all()      # and every level is used


def test_quantization_rounds_to_the_nearest_level():
    z = torch.tensor([[-0.4, 0.6, 1.4, -1.6, 7.0]], dtype=torch.float64)
    torch.testing.assert_close(PostMeasurement(5, levels=5)(z), torch.tensor([[0.0, 1.0, 1.0, -2.0, 2.0]],
                                                                              dtype=torch.float64))


def test_quantization_gradient_is_straight_through():
    z = torch.tensor([[-2.7, -0.3, 0.2, 1.2]], dtype=torch.float64, requires_grad=True)
    out = PostMeasurement(4, levels=3)(z)
    upstream = torch.tensor([[0.5, -1.0, 2.0, 3.0]], dtype=torch.float64)
    out.backward(upstream)
    torch.testing.assert_close(z.grad, upstream, rtol=0, atol=0)


def test_quant_loss_is_the_mse_between_quantized_and_unquantized_values(z):
    post = PostMeasurement(4, levels=4)
    out = post(z)
    assert post.quant_loss is not None
    torch.testing.assert_close(post.quant_loss, torch.mean((out - z) ** 2), rtol=0, atol=1e-15)


def test_quant_loss_pulls_values_towards_the_levels():
    z = torch.tensor([[0.3, -0.8]], dtype=torch.float64, requires_grad=True)
    post = PostMeasurement(2, levels=5)
    out = post(z)
    post.quant_loss.backward()
    torch.testing.assert_close(torch.sign(-z.grad), torch.sign(out - z).detach())  # 0.3 -> 0, -0.8 -> -1


def test_quantization_follows_normalisation(z):
    post = PostMeasurement(4, norm=True, levels=3)
    out = post(z)
    normed = PostMeasurement(4, norm=True)(z)
    expected = torch.round(normed.clamp(-2, 2) / 2) * 2
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("levels", [1, 0, 65, 2.5, "5"])
def test_bad_level_counts_are_input_errors(levels):
    with pytest.raises(InputError, match="quantization levels must be an integer from 2 to 64"):
        PostMeasurement(4, levels=levels)


# -- read-out: the values before rounding ----------------------------------------------------------------------
def test_readout_gives_the_output_and_the_values_before_clamping_and_rounding():
    z = torch.tensor([[-0.4, 0.6, 1.4, -1.6, 7.0]], dtype=torch.float64)
    out, unrounded = PostMeasurement(5, levels=5).readout(z)
    torch.testing.assert_close(out, torch.tensor([[0.0, 1.0, 1.0, -2.0, 2.0]], dtype=torch.float64), rtol=0, atol=0)
    torch.testing.assert_close(unrounded, z, rtol=0, atol=0)


def test_readout_values_before_rounding_are_the_normalised_ones(z):
    _, unrounded = PostMeasurement(4, norm=True, levels=5).readout(z)
    torch.testing.assert_close(unrounded, PostMeasurement(4, norm=True)(z), rtol=0, atol=0)


def test_forward_is_the_readouts_output(z):
    post = PostMeasurement(4, norm=True, levels=5)
    torch.testing.assert_close(post(z), post.readout(z)[0], rtol=0, atol=0)


def test_values_that_round_to_one_level_come_out_bit_identical():
    """Ties between quantized outputs are exact, so they can be found with ``==``."""
    out = PostMeasurement(4, levels=6)(torch.tensor([[0.05, 0.61, -0.13, 0.3]], dtype=torch.float32))
    assert out[0, 0] == out[0, 1] == out[0, 3] != out[0, 2]
    torch.testing.assert_close(out, torch.tensor([[0.4, 0.4, -0.4, 0.4]]))  # 6 levels: ±2, ±1.2, ±0.4


# -- the classifier's logit scale ------------------------------------------------------------------------------
def _classifier(norm: bool):
    from qml.circuit import Circuit, Input
    from qml.sim import QuantumModule
    from qml.train import QuantumClassifier

    circuit = Circuit(2).add("ry", 0, Input(0)).add("ry", 1, Input(1))
    return QuantumClassifier(QuantumModule(circuit), 2, norm=norm).double()


def test_raw_expectations_are_scaled_by_five_into_logits():
    x = torch.tensor([[0.3, 1.2], [2.0, 0.1]], dtype=torch.float64)
    logits = _classifier(norm=False).eval()(x)
    torch.testing.assert_close(logits, 5 * torch.cos(x), rtol=0, atol=1e-12)  # <Z> after RY(x) is cos x


def test_normalised_expectations_are_the_logits_unscaled():
    """Normalised values have unit variance already; scaling them by 5 saturates the softmax (bench/README.md)."""
    x = torch.tensor([[0.3, 1.2], [2.0, 0.1], [1.0, 0.7]], dtype=torch.float64)
    z = torch.cos(x)
    logits = _classifier(norm=True).eval()(x)
    torch.testing.assert_close(logits, (z - z.mean(0)) / z.std(0), rtol=0, atol=1e-12)
