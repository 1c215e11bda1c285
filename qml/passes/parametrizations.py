"""Compression state as ``torch.nn.utils.parametrize`` parametrizations, so it stays applied through training
and lives in ``state_dict``: a pruning mask, fake quantization of a weight, weights shared through a k-means
codebook; and an observer that fake-quantizes a layer's input activations."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from qml.passes.quantize import channel_range, fake_quantize, kmeans_1d, scale_and_zero_point


class Mask(nn.Module):
    """``weight = original * mask``; the mask is a buffer (1 keeps, 0 prunes)."""

    def __init__(self, mask: Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask.to(torch.float32))

    def forward(self, w: Tensor) -> Tensor:
        return w * self.mask.to(w.dtype)


class FakeQuant(nn.Module):
    """Linear fake quantization of a weight, per tensor or per output channel, symmetric or not.

    ``dynamic`` recomputes the range from the current weight on every call (quantization-aware training);
    otherwise the range is fixed at construction (post-training)."""

    def __init__(self, w: Tensor, bits: int, per_channel: bool, symmetric: bool, dynamic: bool = False) -> None:
        super().__init__()
        self.bits, self.per_channel, self.symmetric, self.dynamic = bits, per_channel, symmetric, dynamic
        scale, zero_point = self._params(w.detach())
        self.register_buffer("scale", scale)
        self.register_buffer("zero_point", zero_point)

    def _params(self, w: Tensor) -> tuple[Tensor, Tensor]:
        lo, hi = channel_range(w, self.per_channel and w.dim() > 1)
        return scale_and_zero_point(lo, hi, self.bits, self.symmetric)

    def freeze(self, w: Tensor) -> None:
        """Fix the range at the current weight and stop recomputing it."""
        scale, zero_point = self._params(w.detach())
        self.scale.copy_(scale)
        self.zero_point.copy_(zero_point)
        self.dynamic = False

    def forward(self, w: Tensor) -> Tensor:
        if self.dynamic:
            scale, zero_point = self._params(w.detach())
        else:
            scale, zero_point = self.scale, self.zero_point
        return fake_quantize(w, scale, zero_point, self.bits, self.symmetric)


class SharedWeights(nn.Module):
    """``weight = centroids[labels]``: 2^bits shared values per layer (k-means). The centroids are trainable;
    their gradient is the sum of the gradients of the weights that share them."""

    def __init__(self, w: Tensor, bits: int, iterations: int) -> None:
        super().__init__()
        centroids, labels = kmeans_1d(w, 2**bits, iterations)
        self.bits = bits
        self.extra_bits = 32 * centroids.numel()  # the codebook
        self.centroids = nn.Parameter(centroids.to(w.dtype))
        self.register_buffer("labels", labels.reshape(w.shape))

    def forward(self, w: Tensor) -> Tensor:
        return self.centroids[self.labels]


class InputQuant(nn.Module):
    """Fake-quantizes the input of the layer it is attached to (asymmetric, per tensor).

    ``mode``: ``"calibrate"`` records the min/max (or percentiles) it sees and passes values through unchanged;
    ``"track"`` (quantization-aware training) follows the range with a running average while training and
    quantizes; ``"frozen"`` quantizes with the recorded range."""

    def __init__(self, bits: int, momentum: float = 0.05, percentile: float | None = None) -> None:
        super().__init__()
        self.bits, self.momentum, self.percentile = bits, momentum, percentile
        self.mode = "calibrate"
        self.register_buffer("lo", torch.tensor(float("inf")))
        self.register_buffer("hi", torch.tensor(float("-inf")))

    def _range(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = x.detach().float()
        if self.percentile is None:
            return x.min(), x.max()
        flat = x.flatten()
        if flat.numel() > 1_000_000:
            flat = flat[torch.randperm(flat.numel(), device=flat.device)[:1_000_000]]
        q = torch.tensor([1 - self.percentile / 100, self.percentile / 100], device=flat.device)
        lo, hi = torch.quantile(flat, q)
        return lo, hi

    def forward(self, x: Tensor) -> Tensor:
        if self.mode == "calibrate":
            lo, hi = self._range(x)
            self.lo.copy_(torch.minimum(self.lo, lo))
            self.hi.copy_(torch.maximum(self.hi, hi))
            return x
        if self.mode == "track" and self.training:
            lo, hi = self._range(x)
            if torch.isfinite(self.lo):
                lo, hi = self.lo.lerp(lo, self.momentum), self.hi.lerp(hi, self.momentum)
            self.lo.copy_(lo)
            self.hi.copy_(hi)
        if not torch.isfinite(self.lo):
            return x
        scale, zero_point = scale_and_zero_point(self.lo, self.hi, self.bits, symmetric=False)
        return fake_quantize(x, scale, zero_point, self.bits, symmetric=False)


def _quantize_input_hook(module: nn.Module, args: tuple) -> tuple:
    return (module.input_quant(args[0]), *args[1:])


def attach_input_quant(layer: nn.Module, quant: InputQuant) -> None:
    """Give ``layer`` an ``input_quant`` submodule (saved in its ``state_dict``) applied before its forward."""
    layer.input_quant = quant
    layer.register_forward_pre_hook(_quantize_input_hook)


def plain_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """``model.state_dict()`` as the model runs now, without its parametrizations: each parametrized tensor (a
    pruned ``theta``, a fake-quantized weight) under its own name with the values it has through them, and the
    parametrizations' own entries (``original``, masks, scales) left out. It loads (``strict``) into a fresh model
    built the same way, which has no parametrizations; the model itself is not changed (``squash`` changes it)."""
    values = {}  # "prefix.parametrizations.name." -> ("prefix.name", the tensor as it runs)
    for prefix, module in model.named_modules():
        if parametrize.is_parametrized(module):
            head = f"{prefix}." if prefix else ""
            for name in module.parametrizations:
                values[f"{head}parametrizations.{name}."] = (f"{head}{name}", getattr(module, name).detach().clone())
    out = {}
    for key, tensor in model.state_dict().items():
        inner = next((start for start in values if key.startswith(start)), None)
        if inner is None:
            out[key] = tensor
        elif values[inner][0] not in out:  # in the place of the parametrization's first entry
            out[values[inner][0]] = values[inner][1]
    return out


def parametrizations_of(module: nn.Module, name: str = "weight") -> list[nn.Module]:
    if not parametrize.is_parametrized(module, name):
        return []
    return list(module.parametrizations[name])
