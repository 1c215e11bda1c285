"""Gate pruning as in QuantumNAS: iterative magnitude pruning of rotation angles, importance = |angle wrapped to
(-pi, pi]|, ranked globally over the circuit; the pruned fraction ramps from ``start_ratio`` to ``ratio`` over
the steps with finetuning between them (the finetuning callback injects the device's noise when the run has
one). Masks are parametrizations of ``theta``, so they stay applied through training, noise injection and
export; gates left as the identity are removed when the circuit is exported or transpiled."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from qml.passes import CIRCUIT, Mask, Pass, PassConfig, PassContext, PassPlan, PlanItem, option, parametrizations_of
from qml_quantum.angles import angle_periods, circuit_module, exported_circuit, used_slots, wrap


@dataclass(frozen=True)
class GatePruneConfig(PassConfig):
    ratio: float = option(0.5, "fraction of rotation angles pruned at the end", low=0.0, high=1.0, high_open=True)
    start_ratio: float = option(0.1, "fraction pruned at the first step", low=0.0, high=1.0, high_open=True)
    steps: int = option(10, "pruning steps, ramping from start_ratio to ratio", low=1, high=1000)
    finetune_epochs: int = option(4, "finetuning epochs after each step (needs context.finetune)", low=0)


def angle_masks(theta: torch.Tensor, fraction: float, periods: torch.Tensor | float = 2 * math.pi,
                used: torch.Tensor | None = None) -> torch.Tensor:
    """1 for the angles kept: of the ``used`` slots (default all), all but the ``round(fraction * n)`` with the
    smallest |wrapped angle| (wrapped by each angle's own period, so a controlled rotation by 2 pi is not mistaken
    for the identity). Unused slots are not counted and stay 1."""
    used = torch.arange(theta.numel()) if used is None else used
    prune = round(fraction * used.numel())
    mask = torch.ones(theta.numel(), dtype=torch.float32, device=theta.device)
    if prune:
        periods = torch.as_tensor(periods, dtype=torch.float64).expand(theta.numel())[used]
        importance = wrap(theta.detach().double().cpu()[used], periods).abs()
        mask[used[torch.topk(importance, prune, largest=False).indices].to(theta.device)] = 0.0
    return mask


class GatePrune(Pass):
    """Iterative magnitude pruning of rotation angles (QuantumNAS)."""

    name = "gate_prune"
    applies_to = frozenset({CIRCUIT})
    changes = ("weights", "structure")
    Config = GatePruneConfig
    finetune_option = "finetune_epochs"

    def check(self, model: nn.Module, context: PassContext | None = None) -> None:
        super().check(model, context)
        circuit_module(model, self.name)
        if self.config.start_ratio > self.config.ratio:
            raise_config(self.name, f"start_ratio {self.config.start_ratio} exceeds ratio {self.config.ratio}")

    def plan(self, model: nn.Module) -> PassPlan:
        m = circuit_module(model, self.name)
        n = used_slots(m).numel()
        return PassPlan(self.name, (PlanItem("theta", f"mask {round(self.config.ratio * n)} of {n} rotation angles "
                                                      f"over {self.config.steps} steps"),))

    def run(self, model: nn.Module, context: PassContext):
        c = self.config
        m = circuit_module(model, self.name)
        before_gates = len(m.circuit)
        masks = [p for p in parametrizations_of(m, "theta") if isinstance(p, Mask)]
        if masks:
            mask = masks[0]
        else:
            mask = Mask(torch.ones_like(m.theta))
            parametrize.register_parametrization(m, "theta", mask)
        used = used_slots(m)
        history = []
        for step in range(1, c.steps + 1):
            level = c.start_ratio + (c.ratio - c.start_ratio) * (step - 1) / (c.steps - 1) if c.steps > 1 else c.ratio
            with torch.no_grad():
                mask.mask.mul_(angle_masks(m.theta, level, angle_periods(m), used).to(mask.mask.dtype))
            if c.finetune_epochs:
                context.finetune(model, c.finetune_epochs)
            entry = {"step": step, "ratio": level}
            if context.evaluate is not None:
                entry["accuracy"] = float(context.evaluate(model))
            history.append(entry)
            if context.log:
                context.log(f"{self.name}: step {step}/{c.steps} ratio {level:.3f}")
        circuit, _ = exported_circuit(m)
        return model, {"pruned_angles": int((mask.mask[used] == 0).sum()), "angles": int(used.numel()),
                       "gates_before": before_gates, "gates_after_export": len(circuit), "schedule": history}


def raise_config(name: str, message: str) -> None:
    from qml.errors import PassError

    raise PassError(f"{name}: {message}")
