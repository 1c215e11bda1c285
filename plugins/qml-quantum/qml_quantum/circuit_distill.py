"""Circuit distillation: a student circuit (fewer blocks or qubits) learns from a teacher — a larger circuit or a
classical network — through qml's temperature KD loss on the measured outputs (the student's logits are its
scaled ⟨Z⟩ values)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from qml.passes import CIRCUIT, DistillConfig, Pass, PassContext, PassPlan, PlanItem, distill_epochs
from qml_quantum.angles import circuit_module


@dataclass(frozen=True)
class CircuitDistillConfig(DistillConfig):
    pass


class CircuitDistill(Pass):
    """Knowledge distillation into a circuit student."""

    name = "circuit_distill"
    applies_to = frozenset({CIRCUIT})
    requires = ("teacher", "train_loader")
    changes = ("weights",)
    Config = CircuitDistillConfig

    def plan(self, model: nn.Module) -> PassPlan:
        m = circuit_module(model, self.name)
        c = self.config
        return PassPlan(self.name, (PlanItem("theta", f"train {m.theta.numel()} angles {c.epochs} epochs on the "
                                                      f"teacher's outputs at T={c.temperature:g}"),))

    def run(self, model: nn.Module, context: PassContext):
        circuit_module(model, self.name)
        losses = distill_epochs(model, context.teacher, context.train_loader, self.config, context.log)
        return model, {"epoch_loss": losses}
