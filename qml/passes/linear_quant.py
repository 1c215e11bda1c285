"""Post-training linear quantization: weights per tensor or per output channel, symmetric or asymmetric, and
the inputs of each layer quantized with ranges observed on calibration batches. Quantization is simulated (fake
quantization in float) as in PyTorch's and NNCF's research flows; the report counts storage at the bit width."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from qml.passes.base import TORCH, Pass, PassContext, PassPlan, PlanItem
from qml.passes.config import PassConfig, option
from qml.passes.layers import weight_layers
from qml.passes.parametrizations import FakeQuant, InputQuant, attach_input_quant


@dataclass(frozen=True)
class LinearQuantConfig(PassConfig):
    bits: int = option(8, "weight bit width", low=2, high=16)
    granularity: str = option("channel", "one range per output channel or per tensor", choices=("channel", "tensor"))
    symmetric: bool = option(True, "symmetric (zero point 0) or asymmetric weight ranges")
    act_bits: int | None = option(8, "bit width of layer inputs (none: weights only)", low=2, high=16)
    observer: str = option("minmax", "activation range: min/max, or percentiles", choices=("minmax", "percentile"))
    percentile: float = option(99.99, "upper percentile for the percentile observer", low=50.0, high=100.0)
    calibration_batches: int = option(16, "batches of context.calibration observed", low=1)


def quantize_layers(model: nn.Module, config, *, dynamic: bool, momentum: float = 0.05) -> list[str]:
    """Fake-quantize the weights (and inputs, when ``config.act_bits`` is set) of every Linear / Conv layer."""
    names = []
    for name, layer in weight_layers(model):
        quant = FakeQuant(layer.weight, config.bits, config.granularity == "channel", config.symmetric, dynamic)
        parametrize.register_parametrization(layer, "weight", quant)
        if config.act_bits is not None:
            percentile = config.percentile if getattr(config, "observer", "minmax") == "percentile" else None
            attach_input_quant(layer, InputQuant(config.act_bits, momentum, percentile).to(layer.weight.device))
        names.append(name)
    return names


def set_input_mode(model: nn.Module, mode: str) -> None:
    for m in model.modules():
        if isinstance(m, InputQuant):
            m.mode = mode


def calibrate(model: nn.Module, batches, limit: int) -> int:
    """Run up to ``limit`` calibration batches through the model so the input observers record their ranges."""
    device = next(model.parameters()).device
    seen = 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for batch in batches:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            model(x.to(device))
            seen += 1
            if seen >= limit:
                break
    model.train(was_training)
    return seen


def quant_plan(pass_name: str, model: nn.Module, config) -> PassPlan:
    scheme = f"{config.bits}-bit {'symmetric' if config.symmetric else 'asymmetric'} per {config.granularity}"
    acts = f", inputs {config.act_bits}-bit" if config.act_bits is not None else ""
    return PassPlan(pass_name, tuple(PlanItem(n, f"weights {scheme}{acts}") for n, _ in weight_layers(model)))


class LinearQuant(Pass):
    """Post-training linear quantization with calibration."""

    name = "linear_quant"
    applies_to = frozenset({TORCH})
    changes = ("weights", "forward")
    Config = LinearQuantConfig

    def needs(self, context: PassContext) -> tuple[str, ...]:
        return ("calibration",) if self.config.act_bits is not None else ()

    def plan(self, model: nn.Module) -> PassPlan:
        return quant_plan(self.name, model, self.config)

    def run(self, model: nn.Module, context: PassContext):
        layers = quantize_layers(model, self.config, dynamic=False)
        details = {"layers": layers, "bits": self.config.bits}
        if self.config.act_bits is not None:
            details["calibration_batches"] = calibrate(model, context.calibration, self.config.calibration_batches)
            set_input_mode(model, "frozen")
        return model, details
