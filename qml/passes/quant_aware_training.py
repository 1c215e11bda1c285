"""Quantization-aware training: fake quantization of weights (range recomputed from the weights each step) and of
layer inputs (running-average ranges) in the forward pass, a straight-through gradient in the backward pass, and
``context.finetune`` training the model for ``epochs``; the ranges are frozen at the end."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.nn.utils import parametrize

from qml.passes.base import TORCH, Pass, PassContext, PassPlan
from qml.passes.config import option
from qml.passes.layers import weight_layers
from qml.passes.linear_quant import LinearQuantConfig, calibrate, quant_plan, quantize_layers, set_input_mode
from qml.passes.parametrizations import FakeQuant


@dataclass(frozen=True)
class QuantAwareTrainingConfig(LinearQuantConfig):
    """The post-training options (calibration initialises the input ranges), plus the training ones."""

    bits: int = option(4, "weight bit width", low=2, high=16)
    calibration_batches: int = option(4, "batches of context.calibration to initialise input ranges", low=0)
    epochs: int = option(5, "epochs of training with fake quantization (context.finetune)", low=1)
    momentum: float = option(0.05, "running-average rate of the input ranges", low=0.0, high=1.0, low_open=True)


class QuantAwareTraining(Pass):
    """Quantization-aware training with fake quantization and a straight-through estimator."""

    name = "qat"
    applies_to = frozenset({TORCH})
    requires = ("finetune",)
    changes = ("weights", "forward")
    Config = QuantAwareTrainingConfig

    def plan(self, model: nn.Module) -> PassPlan:
        return quant_plan(self.name, model, self.config)

    def run(self, model: nn.Module, context: PassContext):
        c = self.config
        layers = quantize_layers(model, c, dynamic=True, momentum=c.momentum)
        if context.calibration is not None and c.calibration_batches and c.act_bits is not None:
            calibrate(model, context.calibration, c.calibration_batches)
        set_input_mode(model, "track")
        context.finetune(model, c.epochs)
        for _, layer in weight_layers(model):
            for p in layer.parametrizations["weight"] if parametrize.is_parametrized(layer, "weight") else []:
                if isinstance(p, FakeQuant):
                    p.freeze(layer.parametrizations["weight"].original)
        set_input_mode(model, "frozen")
        return model, {"layers": layers, "bits": c.bits, "epochs": c.epochs}

