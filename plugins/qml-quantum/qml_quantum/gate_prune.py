"""Gate pruning as in QuantumNAS: iterative magnitude pruning of rotation angles, importance = |angle wrapped to
(-pi, pi]|, ranked globally over the circuit; the pruned fraction ramps from ``start_ratio`` to ``ratio`` over
the steps with finetuning between them (the finetuning callback injects the device's noise when the run has
one). Masks are parametrizations of ``theta``, so they stay applied through training, noise injection and
export; gates left as the identity are removed when the circuit is exported or transpiled. A stateful pass:
``qml.passes.run_stateful`` runs it step by step with a checkpoint after each, and resumes from one."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from qml.passes import (
    CIRCUIT,
    Mask,
    PassConfig,
    PassContext,
    PassPlan,
    PlanItem,
    StatefulPass,
    option,
    parametrizations_of,
)
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


def schedule(config: GatePruneConfig) -> list[float]:
    """The fraction of the used angles pruned after each step: ``start_ratio`` to ``ratio`` in equal increments."""
    c = config
    if c.steps == 1:
        return [c.ratio]
    return [c.start_ratio + (c.ratio - c.start_ratio) * (step - 1) / (c.steps - 1) for step in range(1, c.steps + 1)]


class GatePrune(StatefulPass):
    """Iterative magnitude pruning of rotation angles (QuantumNAS), in resumable steps: ``prepare`` attaches a mask
    to ``theta``, each ``step`` prunes to the schedule's next ratio and finetunes, ``squash`` bakes the mask in."""

    name = "gate_prune"
    applies_to = frozenset({CIRCUIT})
    changes = ("weights", "structure")
    Config = GatePruneConfig
    finetune_option = "finetune_epochs"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._mask: Mask | None = None  # the mask parametrization of the prepared model's theta
        self._step = 0
        self._history: list[dict] = []

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

    def prepare(self, model: nn.Module, context: PassContext) -> None:
        """Attach a mask of ones to ``theta`` (or take up the mask it already has) and start at step 0."""
        m = circuit_module(model, self.name)
        masks = [p for p in parametrizations_of(m, "theta") if isinstance(p, Mask)]
        if masks:
            self._mask = masks[0]
        else:
            self._mask = Mask(torch.ones_like(m.theta))
            parametrize.register_parametrization(m, "theta", self._mask)
        self._step, self._history = 0, []

    def step(self, model: nn.Module, context: PassContext) -> bool:
        """Prune to the schedule's next ratio, finetune, evaluate; True once the last step is done."""
        c = self.config
        ratios = schedule(c)
        if self._step >= len(ratios):
            return True
        mask, m = self._prepared(model), circuit_module(model, self.name)
        level = ratios[self._step]
        with torch.no_grad():
            mask.mask.mul_(angle_masks(m.theta, level, angle_periods(m), used_slots(m)).to(mask.mask.dtype))
        if c.finetune_epochs:
            context.finetune(model, c.finetune_epochs)
        self._step += 1
        entry = {"step": self._step, "ratio": level}
        if context.evaluate is not None:
            entry["accuracy"] = float(context.evaluate(model))
        self._history.append(entry)
        if context.log:
            context.log(f"{self.name}: step {self._step}/{c.steps} ratio {level:.3f}")
        return self._step == len(ratios)

    def squash(self, model: nn.Module) -> None:
        """Remove the parametrizations of ``theta`` (any attached before this pass's mask too), leaving it as it
        runs: a plain parameter with the pruned angles exactly 0."""
        self._prepared(model)
        parametrize.remove_parametrizations(circuit_module(model, self.name), "theta", leave_parametrized=True)
        self._mask = None

    def state_dict(self) -> dict:
        if self._mask is None:
            raise_config(self.name, "no state before prepare(model, context)")
        return {"step": self._step, "mask": self._mask.mask.detach().cpu().clone(),
                "history": [dict(entry) for entry in self._history]}

    def load_state_dict(self, state) -> None:
        """Restore the step, mask and history of ``state_dict()`` into the model given to ``prepare``."""
        if self._mask is None:
            raise_config(self.name, "load_state_dict needs prepare(model, context) first")
        mask = torch.as_tensor(state["mask"])
        if mask.shape != self._mask.mask.shape:
            raise_config(self.name, f"the saved mask has {mask.numel()} angles, the model {self._mask.mask.numel()}")
        if not 0 <= int(state["step"]) <= self.config.steps:
            raise_config(self.name, f"saved step {state['step']} is outside the schedule of {self.config.steps}")
        with torch.no_grad():
            self._mask.mask.copy_(mask)
        self._step, self._history = int(state["step"]), [dict(entry) for entry in state["history"]]

    def details(self, model: nn.Module) -> dict:
        m = circuit_module(model, self.name)
        used = used_slots(m)
        circuit, _ = exported_circuit(m)
        return {"pruned_angles": int((self._prepared(model).mask[used] == 0).sum()), "angles": int(used.numel()),
                "gates_before": len(m.circuit), "gates_after_export": len(circuit),
                "schedule": [dict(entry) for entry in self._history]}

    def _prepared(self, model: nn.Module) -> Mask:
        m = circuit_module(model, self.name)
        if self._mask is None or not any(p is self._mask for p in parametrizations_of(m, "theta")):
            raise_config(self.name, "the model was not prepared by this pass: call prepare(model, context) first")
        return self._mask


def raise_config(name: str, message: str) -> None:
    from qml.errors import PassError

    raise PassError(f"{name}: {message}")
