"""What a pass report measures about a model: parameters, non-zeros, storage at the chosen bit widths,
multiply-accumulates and latency on an example input, and accuracy when an evaluation function is given."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

DEFAULT_BITS = 32


@dataclass(frozen=True)
class ModelStats:
    """Size and quality of a model at one moment.

    ``size_bytes`` stores every parameter densely at its bit width (32 unless a quantization pass set fewer, plus
    any codebook); ``sparse_bytes`` stores only the non-zeros at that width (index overhead not counted)."""

    parameters: int
    nonzeros: int
    size_bytes: float
    sparse_bytes: float
    macs: int | None = None
    latency_ms: float | None = None
    accuracy: float | None = None

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nonzeros / self.parameters if self.parameters else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "sparsity": self.sparsity}


def effective_parameters(model: nn.Module):
    """Yield ``(qualified name, module, value, bits, extra bits)`` for every parameter as the model uses it:
    through its parametrizations (masks, fake quantization, shared weights), counted once."""
    for prefix, module in model.named_modules():
        if ".parametrizations." in f".{prefix}." or isinstance(module, parametrize.ParametrizationList):
            continue
        names = [n for n, _ in module.named_parameters(recurse=False)]
        if parametrize.is_parametrized(module):
            names += list(module.parametrizations.keys())
        for name in names:
            value = getattr(module, name)
            bits, extra = DEFAULT_BITS, 0
            if parametrize.is_parametrized(module, name):
                for p in module.parametrizations[name]:
                    bits = min(bits, getattr(p, "bits", DEFAULT_BITS))
                    extra += getattr(p, "extra_bits", 0)
            yield (f"{prefix}.{name}" if prefix else name), module, value, bits, extra


def count_macs(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulates of Linear and Conv layers for one forward pass of ``example`` (the whole batch)."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            kernel = module.weight[0].numel()  # in_channels / groups * prod(kernel_size)
            total += output.numel() * kernel

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return total


def measure_latency(model: nn.Module, example: torch.Tensor, repeats: int = 30) -> float:
    """Median milliseconds of one no-grad forward pass of ``example`` after a warm-up."""
    with torch.no_grad():
        for _ in range(3):
            model(example)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(example)
            times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def model_stats(model: nn.Module, evaluate: Callable[[nn.Module], float] | None = None,
                example: torch.Tensor | None = None, latency: bool = False) -> ModelStats:
    parameters = nonzeros = 0
    size_bits = sparse_bits = 0.0
    with torch.no_grad():
        for _, _, value, bits, extra in effective_parameters(model):
            n, nz = value.numel(), int(torch.count_nonzero(value))
            parameters += n
            nonzeros += nz
            size_bits += n * bits + extra
            sparse_bits += nz * bits + extra
    was_training = model.training
    model.eval()
    try:
        macs = count_macs(model, example) if example is not None else None
        ms = measure_latency(model, example) if example is not None and latency else None
        accuracy = float(evaluate(model)) if evaluate is not None else None
    finally:
        model.train(was_training)
    return ModelStats(parameters, nonzeros, size_bits / 8, sparse_bits / 8, macs, ms, accuracy)
