"""K-means (weight-sharing) quantization, as in Deep Compression: each layer's weights are replaced by 2^bits
shared values found by k-means, stored as a ``bits``-wide index per weight plus a float32 codebook. Finetuning
(optional) trains the shared values: each gets the summed gradient of the weights that use it."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.nn.utils import parametrize

from qml.passes.base import TORCH, Pass, PassContext, PassPlan, PlanItem
from qml.passes.config import PassConfig, option
from qml.passes.layers import weight_layers
from qml.passes.parametrizations import SharedWeights


@dataclass(frozen=True)
class KMeansQuantConfig(PassConfig):
    bits: int = option(4, "index bit width: 2^bits shared values per layer", low=1, high=8)
    iterations: int = option(30, "k-means iterations", low=1)
    finetune_epochs: int = option(0, "epochs training the shared values afterwards (needs context.finetune)", low=0)


class KMeansQuant(Pass):
    """Weight sharing through a per-layer k-means codebook."""

    name = "kmeans_quant"
    applies_to = frozenset({TORCH})
    changes = ("weights",)
    Config = KMeansQuantConfig
    finetune_option = "finetune_epochs"

    def plan(self, model: nn.Module) -> PassPlan:
        k = 2**self.config.bits
        return PassPlan(self.name, tuple(PlanItem(n, f"{layer.weight.numel()} weights -> {k} shared values")
                                         for n, layer in weight_layers(model)))

    def run(self, model: nn.Module, context: PassContext):
        used = {}
        for name, layer in weight_layers(model):
            shared = SharedWeights(layer.weight.detach(), self.config.bits, self.config.iterations)
            parametrize.register_parametrization(layer, "weight", shared)
            layer.parametrizations["weight"].original.requires_grad_(False)
            used[name] = int(shared.labels.unique().numel())
        if self.config.finetune_epochs:
            context.finetune(model, self.config.finetune_epochs)
        return model, {"bits": self.config.bits, "distinct_values": used}
