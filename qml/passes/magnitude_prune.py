"""Fine-grained magnitude pruning of Linear / Conv weights to a target sparsity, globally or per layer, in one
shot or over an iterative schedule with finetuning between steps. Masks are parametrizations, so the pruned
weights stay zero through later training; ``keep_masks=False`` folds them into plain weights at the end."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from qml.passes.base import TORCH, Pass, PassContext, PassPlan, PlanItem
from qml.passes.config import PassConfig, option
from qml.passes.layers import weight_layers
from qml.passes.parametrizations import Mask, parametrizations_of


@dataclass(frozen=True)
class MagnitudePruneConfig(PassConfig):
    sparsity: float = option(0.7, "fraction of weights set to zero", low=0.0, high=1.0, high_open=True)
    scope: str = option("global", "rank weights across all layers or within each layer", choices=("global", "layer"))
    steps: int = option(1, "pruning steps; the sparsity is ramped to the target over them", low=1, high=1000)
    schedule: str = option("cubic", "ramp of the sparsity over the steps (cubic: Zhu & Gupta 2017)",
                           choices=("linear", "cubic"))
    finetune_epochs: int = option(0, "epochs of finetuning after each step (needs context.finetune)", low=0)
    bias: bool = option(False, "prune biases too")
    keep_masks: bool = option(True, "keep the masks as parametrizations so later training keeps the zeros")


def sparsity_at(step: int, steps: int, target: float, schedule: str) -> float:
    """Sparsity after ``step`` of ``steps`` (1-based)."""
    t = step / steps
    return target * t if schedule == "linear" else target * (1.0 - (1.0 - t) ** 3)


def _prunable(model: nn.Module, bias: bool) -> list[tuple[str, nn.Module, str]]:
    out = []
    for name, layer in weight_layers(model):
        out.append((name, layer, "weight"))
        if bias and getattr(layer, "bias", None) is not None:
            out.append((name, layer, "bias"))
    return out


def magnitude_masks(tensors: list[torch.Tensor], sparsity: float, scope: str) -> list[torch.Tensor]:
    """Masks keeping the largest-magnitude values: exactly ``round(sparsity * n)`` zeros, over all tensors
    together (global) or within each tensor (layer)."""
    if scope == "layer":
        return [magnitude_masks([t], sparsity, "global")[0] for t in tensors]
    scores = torch.cat([t.detach().abs().flatten() for t in tensors])
    keep = scores.numel() - round(sparsity * scores.numel())
    flat = torch.zeros_like(scores)
    if keep > 0:
        flat[torch.topk(scores, keep, sorted=False).indices] = 1.0
    return [m.view_as(t) for m, t in zip(torch.split(flat, [t.numel() for t in tensors]), tensors, strict=True)]


class MagnitudePrune(Pass):
    """Fine-grained magnitude pruning with an optional iterative schedule and finetuning."""

    name = "magnitude_prune"
    applies_to = frozenset({TORCH})
    changes = ("weights",)
    Config = MagnitudePruneConfig
    finetune_option = "finetune_epochs"

    def plan(self, model: nn.Module) -> PassPlan:
        c = self.config
        items = [PlanItem(f"{name}.{attr}", f"zero {c.sparsity:.0%} of {getattr(layer, attr).numel()} values"
                          if c.scope == "layer" else f"mask {getattr(layer, attr).numel()} values (global ranking)")
                 for name, layer, attr in _prunable(model, c.bias)]
        return PassPlan(self.name, tuple(items))

    def run(self, model: nn.Module, context: PassContext):
        c = self.config
        targets = _prunable(model, c.bias)
        masks: list[Mask] = []
        for _, layer, attr in targets:
            existing = [p for p in parametrizations_of(layer, attr) if isinstance(p, Mask)]
            if existing:
                masks.append(existing[0])
            else:
                mask = Mask(torch.ones_like(getattr(layer, attr)))
                parametrize.register_parametrization(layer, attr, mask)
                masks.append(mask)
        history = []
        for step in range(1, c.steps + 1):
            level = sparsity_at(step, c.steps, c.sparsity, c.schedule)
            with torch.no_grad():
                new = magnitude_masks([getattr(layer, attr) for _, layer, attr in targets], level, c.scope)
                for mask, m in zip(masks, new, strict=True):
                    mask.mask.mul_(m)  # once pruned, stays pruned
            if c.finetune_epochs:
                context.finetune(model, c.finetune_epochs)
            entry = {"step": step, "sparsity": level}
            if context.evaluate is not None and c.steps > 1:
                entry["accuracy"] = float(context.evaluate(model))
            history.append(entry)
            if context.log:
                context.log(f"{self.name}: step {step}/{c.steps} sparsity {level:.3f}")
        layers = {f"{name}.{attr}": 1.0 - float(mask.mask.mean())
                  for (name, _, attr), mask in zip(targets, masks, strict=True)}
        if not c.keep_masks:
            for _, layer, attr in targets:
                parametrize.remove_parametrizations(layer, attr, leave_parametrized=True)
        return model, {"layer_sparsity": layers, "schedule": history}
