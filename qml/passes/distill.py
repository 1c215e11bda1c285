"""Knowledge distillation (Hinton et al. 2015): the student learns from the teacher's softened outputs,
loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy(student, labels)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from qml.passes.base import CIRCUIT, TORCH, Pass, PassContext, PassPlan, PlanItem
from qml.passes.config import PassConfig, option


@dataclass(frozen=True)
class DistillConfig(PassConfig):
    temperature: float = option(4.0, "softmax temperature T of teacher and student", low=0.0, low_open=True)
    alpha: float = option(0.9, "weight of the distillation term against the label term", low=0.0, high=1.0)
    epochs: int = option(20, "epochs over context.train_loader", low=1)
    lr: float = option(1e-3, "Adam learning rate", low=0.0, low_open=True)
    weight_decay: float = option(0.0, "Adam weight decay", low=0.0)


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor | None, temperature: float,
            alpha: float) -> Tensor:
    """The distillation loss; the T^2 factor keeps the soft term's gradient scale independent of T."""
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=-1),
                    F.log_softmax(teacher_logits / temperature, dim=-1), reduction="batchmean", log_target=True)
    loss = alpha * temperature**2 * soft
    if labels is not None and alpha < 1:
        loss = loss + (1 - alpha) * F.cross_entropy(student_logits, labels)
    return loss


def distill_epochs(student: nn.Module, teacher: nn.Module, loader, config: DistillConfig, log=None) -> list[float]:
    """Train ``student`` in place; returns the mean loss of each epoch."""
    device = next(student.parameters()).device
    optimizer = torch.optim.Adam(student.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    teacher.eval()
    losses = []
    for epoch in range(config.epochs):
        student.train()
        total, count = 0.0, 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                target = teacher(x)
            loss = kd_loss(student(x), target, y, config.temperature, config.alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + float(loss.detach()) * len(x), count + len(x)
        losses.append(total / max(count, 1))
        if log:
            log(f"distill: epoch {epoch + 1}/{config.epochs} loss {losses[-1]:.4f}")
    student.eval()
    return losses


class Distill(Pass):
    """Trains the model (the student) to match a teacher's softened outputs and the labels."""

    name = "distill"
    applies_to = frozenset({TORCH, CIRCUIT})
    requires = ("teacher", "train_loader")
    changes = ("weights",)
    Config = DistillConfig

    def plan(self, model: nn.Module) -> PassPlan:
        c = self.config
        return PassPlan(self.name, (PlanItem("model", f"train {c.epochs} epochs on the teacher's outputs at "
                                                      f"T={c.temperature:g}, alpha={c.alpha:g}"),))

    def run(self, model: nn.Module, context: PassContext):
        losses = distill_epochs(model, context.teacher, context.train_loader, self.config, context.log)
        return model, {"epoch_loss": losses}
