"""Post-measurement normalisation and quantization (QuantumNAT) as deployment passes: they switch on the
classifier's own post-measurement stage (``qml.train.postprocess``, the trainer's mechanism) on a trained model,
optionally finetuning with it."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from qml.errors import PassError
from qml.passes import CIRCUIT, Pass, PassConfig, PassContext, PassPlan, PlanItem, option


def _post(model: nn.Module, name: str):
    post = getattr(model, "post", None)
    from qml.train import PostMeasurement

    if not isinstance(post, PostMeasurement):
        raise PassError(f"{name} applies to a qml QuantumClassifier (a model with a post-measurement stage), "
                        f"got {type(model).__name__}")
    return post


@dataclass(frozen=True)
class MeasureNormConfig(PassConfig):
    epochs: int = option(0, "finetuning epochs with normalisation on (needs context.finetune)", low=0)


@dataclass(frozen=True)
class MeasureQuantConfig(PassConfig):
    levels: int = option(5, "quantization levels in [-2, 2] (QuantumNAT: 3-6)", low=2, high=64)
    epochs: int = option(0, "finetuning epochs with quantization on (needs context.finetune)", low=0)


class MeasureNorm(Pass):
    """Post-measurement normalisation: each qubit's ⟨Z⟩ standardised over the batch."""

    name = "measure_norm"
    applies_to = frozenset({CIRCUIT})
    changes = ("forward",)
    Config = MeasureNormConfig
    finetune_option = "epochs"

    def plan(self, model: nn.Module) -> PassPlan:
        _post(model, self.name)
        return PassPlan(self.name, (PlanItem("post", "normalise outputs per qubit over the batch"),))

    def run(self, model: nn.Module, context: PassContext):
        _post(model, self.name).norm = True
        if self.config.epochs:
            context.finetune(model, self.config.epochs)
        return model, {}


class MeasureQuant(Pass):
    """Post-measurement quantization to ``levels`` values in [-2, 2] (straight-through gradient)."""

    name = "measure_quant"
    applies_to = frozenset({CIRCUIT})
    changes = ("forward",)
    Config = MeasureQuantConfig
    finetune_option = "epochs"

    def plan(self, model: nn.Module) -> PassPlan:
        _post(model, self.name)
        return PassPlan(self.name, (PlanItem("post", f"quantize outputs to {self.config.levels} levels"),))

    def run(self, model: nn.Module, context: PassContext):
        _post(model, self.name).levels = self.config.levels
        if self.config.epochs:
            context.finetune(model, self.config.epochs)
        return model, {"levels": self.config.levels}
