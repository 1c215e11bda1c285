"""QuantumNAT's post-measurement steps on ⟨Z⟩ values (B, n):

- normalisation: each qubit's values to zero mean and unit variance over the batch (during training and
  inference alike, which is what removes the shrinking and shifting that noise causes); a batch of one sample
  uses the running statistics gathered in training;
- quantization: values clamped to [-2, 2] and rounded to ``levels`` evenly spaced levels, with a
  straight-through gradient; ``quant_loss`` holds the MSE between quantized and unquantized values of the last
  call, which the trainer adds with weight lambda.

Quantized logits take few values, so two classes often share the top one (with 5 levels, 21-53 % of digits4's
test inputs in ``bench/tie_readout.py``), and ``argmax`` would then pick the lowest class index.
``predicted_class`` is the one read-out of a class: the class with the top quantized logit, a tie broken by the
normalised values before rounding — what the measurement gave before the quantizer rounded it, available at
inference (simulated or measured ⟨Z⟩ alike). Rounding never reverses an order, so this is the argmax of the
unrounded values, and never contradicts a quantized logit that is alone at the top."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from qml.errors import InputError

CLAMP = 2.0


class PostMeasurement(nn.Module):
    def __init__(self, n_outputs: int, norm: bool = False, levels: int | None = None, momentum: float = 0.1):
        super().__init__()
        if levels is not None and not (isinstance(levels, int) and 2 <= levels <= 64):
            raise InputError(f"quantization levels must be an integer from 2 to 64, got {levels!r}")
        self.norm, self.levels, self.momentum = norm, levels, momentum
        self.register_buffer("running_mean", torch.zeros(n_outputs))
        self.register_buffer("running_std", torch.ones(n_outputs))
        self.quant_loss: Tensor | None = None

    def extra_repr(self) -> str:
        return f"norm={self.norm}, levels={self.levels}"

    @property
    def active(self) -> bool:
        return self.norm or self.levels is not None

    def forward(self, z: Tensor) -> Tensor:
        return self.readout(z)[0]

    def readout(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """(the stage's output, the same values before rounding): the second breaks ties in the first."""
        if self.norm:
            if z.shape[0] > 1:
                mean, std = z.mean(0), z.std(0).clamp_min(1e-6)
                if self.training:
                    with torch.no_grad():
                        self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
                        self.running_std.lerp_(std.detach().to(self.running_std.dtype), self.momentum)
            else:
                mean, std = self.running_mean.to(z.dtype), self.running_std.to(z.dtype)
            z = (z - mean) / std
        if self.levels is not None:
            clamped = z.clamp(-CLAMP, CLAMP)
            step = 2 * CLAMP / (self.levels - 1)
            q = torch.round((clamped + CLAMP) / step) * step - CLAMP
            self.quant_loss = torch.mean((q.detach() - z) ** 2)
            return z + (q - z).detach(), z
        return z, z


def tied_top(logits: Tensor) -> Tensor:
    """Per input (row), whether two or more classes share the top logit exactly."""
    return (logits == logits.amax(1, keepdim=True)).sum(1) > 1


def predicted_class(logits: Tensor, tiebreak: Tensor | None = None) -> Tensor:
    """The class of each input (row): the top logit; among classes tied at the top, the one with the largest
    ``tiebreak`` (same shape; the values before rounding); a tie left after that goes to the lowest index.
    Without ``tiebreak`` this is ``argmax``."""
    if tiebreak is None:
        return logits.argmax(1)
    top = logits == logits.amax(1, keepdim=True)
    return tiebreak.masked_fill(~top, float("-inf")).argmax(1)
