"""Angle quantization: every trainable rotation angle restricted to k = 2^bits levels in [-pi, pi) (step 2 pi / k;
the angle of a controlled rotation, whose period is 4 pi, to the same grid in [-2 pi, 2 pi)),
post-training or quantization-aware (straight-through gradient, ``context.finetune`` for ``epochs``). With
``clifford`` the levels are the multiples of pi/2, so every rotation becomes a Clifford gate."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from qml.passes import CIRCUIT, Pass, PassConfig, PassContext, PassPlan, PlanItem, option
from qml_quantum.angles import angle_periods, circuit_module, wrap


@dataclass(frozen=True)
class AngleQuantConfig(PassConfig):
    bits: int = option(3, "angles take 2^bits levels in [-pi, pi)", low=1, high=12)
    clifford: bool = option(False, "levels are multiples of pi/2 (same as bits=2)")
    epochs: int = option(0, "quantization-aware finetuning epochs (0: post-training; needs context.finetune)",
                         low=0)


def quantize_angles(theta: Tensor, bits: int, periods: Tensor | float = 2 * math.pi) -> Tensor:
    """Nearest multiple of 2 pi / 2^bits on each angle's circle: in [-pi, pi) for an angle of period 2 pi; an
    angle of period 4 pi (a controlled rotation, whose 2 pi turn is a Z on the control) keeps its own turn and
    lands in [-2 pi, 2 pi). An angle of infinite period (a slot read inside an angle expression) is kept."""
    step = 2 * math.pi / 2**bits
    half = torch.as_tensor(periods, dtype=theta.dtype, device=theta.device) / 2
    q = torch.round(wrap(theta, 2 * half) / step) * step
    q = torch.where(q >= half - step / 2, q - 2 * half, q)
    return torch.where(torch.isfinite(half), q, theta)


class AngleQuantizer(nn.Module):
    """``theta -> quantized theta`` with a straight-through gradient."""

    def __init__(self, bits: int, periods: Tensor | None = None) -> None:
        super().__init__()
        self.bits = bits
        self.register_buffer("periods", torch.full((1,), 2 * math.pi) if periods is None else periods.float())

    def forward(self, theta: Tensor) -> Tensor:
        return theta + (quantize_angles(theta, self.bits, self.periods.to(theta.dtype)) - theta).detach()


class AngleQuant(Pass):
    """Rotation angles restricted to 2^bits levels (or Clifford angles)."""

    name = "angle_quant"
    applies_to = frozenset({CIRCUIT})
    changes = ("weights",)
    Config = AngleQuantConfig
    finetune_option = "epochs"

    @property
    def bits(self) -> int:
        return 2 if self.config.clifford else self.config.bits

    def plan(self, model: nn.Module) -> PassPlan:
        m = circuit_module(model, self.name)
        return PassPlan(self.name, (PlanItem("theta", f"{m.theta.numel()} angles to {2**self.bits} levels"),))

    def run(self, model: nn.Module, context: PassContext):
        m = circuit_module(model, self.name)
        parametrize.register_parametrization(m, "theta", AngleQuantizer(self.bits, angle_periods(m)))
        if self.config.epochs:
            context.finetune(model, self.config.epochs)
        with torch.no_grad():
            distinct = int(torch.unique(m.theta.detach()).numel())
        return model, {"levels": 2**self.bits, "distinct_angles": distinct}
