"""Pure quantization arithmetic: integer ranges, scale and zero point from a value range, fake quantization with a
straight-through gradient, and 1-D k-means for weight sharing."""

from __future__ import annotations

import torch
from torch import Tensor


def int_range(bits: int, symmetric: bool) -> tuple[int, int]:
    """Symmetric: the restricted signed range (-(2^(b-1)-1) .. 2^(b-1)-1) so zero sits in the middle;
    asymmetric: unsigned 0 .. 2^b - 1."""
    if symmetric:
        top = 2 ** (bits - 1) - 1
        return -top, top
    return 0, 2**bits - 1


def scale_and_zero_point(lo: Tensor, hi: Tensor, bits: int, symmetric: bool) -> tuple[Tensor, Tensor]:
    """Scale and integer zero point mapping ``[lo, hi]`` (widened to contain 0) onto the integer range."""
    qmin, qmax = int_range(bits, symmetric)
    lo, hi = torch.minimum(lo, torch.zeros_like(lo)), torch.maximum(hi, torch.zeros_like(hi))
    tiny = torch.finfo(torch.float32).tiny
    if symmetric:
        scale = (torch.maximum(-lo, hi) / qmax).clamp_min(tiny)
        return scale, torch.zeros_like(scale)
    scale = ((hi - lo) / (qmax - qmin)).clamp_min(tiny)
    zero_point = (qmin - torch.round(lo / scale)).clamp(qmin, qmax)
    return scale, zero_point


def quantize(x: Tensor, scale: Tensor, zero_point: Tensor, bits: int, symmetric: bool) -> Tensor:
    """Integer codes (as a float tensor) of ``x``."""
    qmin, qmax = int_range(bits, symmetric)
    return torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)


def fake_quantize(x: Tensor, scale: Tensor, zero_point: Tensor, bits: int, symmetric: bool) -> Tensor:
    """Quantize and dequantize; the gradient passes straight through inside the range and is zero outside it
    (the clipped straight-through estimator)."""
    qmin, qmax = int_range(bits, symmetric)
    scaled = x / scale + zero_point
    dequant = (quantize(x, scale, zero_point, bits, symmetric) - zero_point) * scale
    inside = ((scaled >= qmin - 0.5) & (scaled <= qmax + 0.5)).to(x.dtype)
    return dequant.detach() + (x - x.detach()) * inside


def channel_range(w: Tensor, per_channel: bool) -> tuple[Tensor, Tensor]:
    """Min and max of ``w`` over everything (shape ()) or per output channel (shape (C, 1, 1, ...))."""
    if not per_channel:
        return w.min(), w.max()
    flat = w.reshape(w.shape[0], -1)
    shape = (w.shape[0],) + (1,) * (w.dim() - 1)
    return flat.min(1).values.reshape(shape), flat.max(1).values.reshape(shape)


def kmeans_1d(values: Tensor, k: int, iterations: int = 30) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means on a 1-D tensor with centroids initialised evenly between min and max (the linear
    initialisation Deep Compression found best). Returns sorted centroids (k,) and each value's label."""
    values = values.detach().flatten().float()
    lo, hi = values.min(), values.max()
    centroids = torch.linspace(float(lo), float(hi), k, device=values.device)
    labels = torch.zeros_like(values, dtype=torch.long)
    for _ in range(iterations):
        mids = (centroids[1:] + centroids[:-1]) / 2
        labels = torch.bucketize(values, mids)
        sums = torch.zeros(k, device=values.device).scatter_add_(0, labels, values)
        counts = torch.zeros(k, device=values.device).scatter_add_(0, labels, torch.ones_like(values))
        new = torch.where(counts > 0, sums / counts.clamp_min(1), centroids)
        new, _ = torch.sort(new)
        if torch.allclose(new, centroids):
            centroids = new
            break
        centroids = new
    labels = torch.bucketize(values, (centroids[1:] + centroids[:-1]) / 2)
    return centroids, labels
