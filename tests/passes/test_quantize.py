"""The pure quantization kernels: integer ranges, scale and zero point, fake quantization with a clipped
straight-through gradient, and 1-D k-means."""

from __future__ import annotations

import pytest
import torch

from qml.passes.quantize import fake_quantize, int_range, kmeans_1d, quantize, scale_and_zero_point


def test_symmetric_range_is_restricted_so_zero_sits_in_the_middle():
    assert int_range(8, symmetric=True) == (-127, 127)


def test_asymmetric_range_is_unsigned():
    assert int_range(8, symmetric=False) == (0, 255)


def test_symmetric_ranges_have_zero_point_zero():
    lo, hi = torch.tensor([-0.3, -2.0, 0.5]), torch.tensor([1.0, 0.1, 0.7])
    scale, zero_point = scale_and_zero_point(lo, hi, 8, symmetric=True)
    assert (zero_point == 0).all()
    torch.testing.assert_close(scale, torch.tensor([1.0, 2.0, 0.7]) / 127)


def test_asymmetric_zero_point_maps_zero_to_an_integer_exactly():
    scale, zero_point = scale_and_zero_point(torch.tensor(-0.3), torch.tensor(1.0), 8, symmetric=False)
    assert float(quantize(torch.tensor(0.0), scale, zero_point, 8, False)) == float(zero_point)
    assert float(fake_quantize(torch.tensor(0.0), scale, zero_point, 8, False)) == 0.0


@pytest.mark.parametrize("symmetric", [True, False])
def test_fake_quantize_is_idempotent(symmetric):
    x = torch.randn(1000)
    scale, zero_point = scale_and_zero_point(torch.tensor(-1.5), torch.tensor(1.5), 4, symmetric)
    once = fake_quantize(x, scale, zero_point, 4, symmetric)
    torch.testing.assert_close(fake_quantize(once, scale, zero_point, 4, symmetric), once, atol=1e-6, rtol=0)


@pytest.mark.parametrize("symmetric", [True, False])
def test_fake_quantize_takes_at_most_2_to_the_bits_values(symmetric):
    x = torch.randn(1000)
    scale, zero_point = scale_and_zero_point(x.min(), x.max(), 3, symmetric)
    assert len(torch.unique(fake_quantize(x, scale, zero_point, 3, symmetric))) <= 2**3


def test_fake_quantize_gradient_is_one_inside_the_range_and_zero_outside():
    scale, zero_point = scale_and_zero_point(torch.tensor(-1.0), torch.tensor(1.0), 4, symmetric=True)
    inside, outside = torch.tensor([-0.9, -0.2, 0.0, 0.5, 0.99]), torch.tensor([-3.0, -1.5, 1.5, 4.0])
    x = torch.cat([inside, outside]).requires_grad_(True)
    fake_quantize(x, scale, zero_point, 4, symmetric=True).sum().backward()
    torch.testing.assert_close(x.grad, torch.cat([torch.ones(5), torch.zeros(4)]))


def test_fake_quantize_clips_values_outside_the_range():
    scale, zero_point = scale_and_zero_point(torch.tensor(-1.0), torch.tensor(1.0), 4, symmetric=True)
    out = fake_quantize(torch.tensor([-3.0, 4.0]), scale, zero_point, 4, symmetric=True)
    torch.testing.assert_close(out, torch.tensor([-1.0, 1.0]))


def test_kmeans_1d_recovers_the_centroids_of_clustered_data():
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([-1.5, -0.2, 0.9, 2.5])
    truth = torch.cat([torch.full((n,), i) for i, n in enumerate([40, 300, 120, 25])])
    values = centres[truth] + 0.05 * torch.randn(len(truth), generator=generator)
    order = torch.randperm(len(values), generator=generator)
    centroids, labels = kmeans_1d(values[order], 4)
    torch.testing.assert_close(centroids, centres, atol=0.03, rtol=0)
    assert torch.equal(labels, truth[order])


def test_kmeans_1d_returns_sorted_centroids_and_a_label_per_value():
    values = torch.randn(3, 50)
    centroids, labels = kmeans_1d(values, 8)
    assert torch.equal(centroids, centroids.sort().values)
    assert labels.shape == (150,) and int(labels.min()) >= 0 and int(labels.max()) < 8
