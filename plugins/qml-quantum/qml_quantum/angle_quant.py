"""Angle quantization: every trainable rotation angle restricted to k = 2^bits levels in [-pi, pi) (step 2 pi / k),
post-training or quantization-aware (straight-through gradient, ``context.finetune`` for ``epochs``). With
``clifford`` the levels are the multiples of pi/2, so every rotation becomes a Clifford gate."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from qml.passes import CIRCUIT, Pass, PassConfig, PassContext, PassPlan, PlanItem, option
from qml_quantum.angles import circuit_module, wrap


@dataclass(frozen=True)
class AngleQuantConfig(PassConfig):
    bits: int = option(3, "angles take 2^bits levels in [-pi, pi)", low=1, high=12)
    clifford: bool = option(False, "levels are multiples of pi/2 (same as bits=2)")
    epochs: int = option(0, "quantization-aware finetuning epochs (0: post-training; needs context.finetune)",
                         low=0)


def angle_levels(bits: int) -> Tensor:
    k = 2**bits
    return -math.pi + 2 * math.pi * torch.arange(k, dtype=torch.float64) / k


def quantize_angles(theta: Tensor, bits: int) -> Tensor:
    """Nearest of the 2^bits levels (on the circle), mapped to [-pi, pi)."""
    k = 2**bits
    step = 2 * math.pi / k
    index = torch.round((wrap(theta) + math.pi) / step).remainder(k)
    return index * step - math.pi


class AngleQuantizer(nn.Module):
    """``theta -> quantized theta`` with a straight-through gradient."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = bits

    def forward(self, theta: Tensor) -> Tensor:
        return theta + (quantize_angles(theta, self.bits) - theta).detach()


class AngleQuant(Pass):
    """Rotation angles restricted to 2^bits levels (or Clifford angles)."""

    name = "angle_quant"
    applies_to = frozenset({CIRCUIT})
    changes = ("weights",)
    Config = AngleQuantConfig

    @property
    def bits(self) -> int:
        return 2 if self.config.clifford else self.config.bits

    def needs(self, context: PassContext) -> tuple[str, ...]:
        return ("finetune",) if self.config.epochs > 0 else ()

    def plan(self, model: nn.Module) -> PassPlan:
        m = circuit_module(model, self.name)
        return PassPlan(self.name, (PlanItem("theta", f"{m.theta.numel()} angles to {2**self.bits} levels"),))

    def run(self, model: nn.Module, context: PassContext):
        m = circuit_module(model, self.name)
        parametrize.register_parametrization(m, "theta", AngleQuantizer(self.bits))
        if self.config.epochs:
            context.finetune(model, self.config.epochs)
        with torch.no_grad():
            distinct = int(torch.unique(m.theta.detach()).numel())
        return model, {"levels": 2**self.bits, "distinct_angles": distinct}
