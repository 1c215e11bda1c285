"""QOC's probabilistic gradient pruning (Wang et al., DAC'22): on-chip training measures each parameter's gradient
with shifted circuits, so a gradient skipped is executions saved. Training repeats a stage of ``accumulate`` steps
that measure every gradient and add up their magnitudes, then ``prune`` steps that measure only a fraction
``1 - ratio`` of the parameters, drawn without replacement with probabilities proportional to those magnitudes
(a parameter whose gradient was small is seldom measured, never excluded for good). QOC's defaults: windows 1 and
2, ratio 0.5."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from qml.errors import InputError


@dataclass(frozen=True)
class PruningSchedule:
    ratio: float = 0.5
    accumulate: int = 1
    prune: int = 2

    def __post_init__(self) -> None:
        if not (isinstance(self.ratio, (int, float)) and 0 <= self.ratio < 1):
            raise InputError(f"gradient pruning ratio must be in [0, 1), got {self.ratio!r}")
        for name in ("accumulate", "prune"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"gradient pruning {name} window must be a positive integer, got {value!r}")

    def kept(self, n: int) -> int:
        """Parameters measured in a pruning step (at least one)."""
        return max(1, round((1 - self.ratio) * n))


class GradientPruner:
    """Which trainable slots to measure at each step (``mask``) and what their gradients were (``observe``)."""

    def __init__(self, n: int, schedule: PruningSchedule, seed: int = 0) -> None:
        self.n = n
        self.schedule = schedule
        self.step = 0
        self.magnitude = torch.zeros(n, dtype=torch.float64)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def phase(self) -> int:
        return self.step % (self.schedule.accumulate + self.schedule.prune)

    @property
    def accumulating(self) -> bool:
        return self.phase < self.schedule.accumulate

    def mask(self) -> Tensor | None:
        """None in an accumulation step (measure all); else a bool mask over the slots to measure this step."""
        if self.accumulating or self.n == 0:
            return None
        weights = self.magnitude + 1e-12 * (self.magnitude.sum() + 1)  # a slot never seen still has a chance
        picked = torch.multinomial(weights, self.schedule.kept(self.n), replacement=False, generator=self.generator)
        mask = torch.zeros(self.n, dtype=torch.bool)
        mask[picked] = True
        return mask

    def observe(self, grad: Tensor | None) -> None:
        """End of a step: an accumulation step adds |grad|; a new stage starts from zero."""
        if self.accumulating and grad is not None:
            if self.phase == 0:
                self.magnitude.zero_()
            self.magnitude += grad.detach().abs().double().cpu()
        self.step += 1

    def state_dict(self) -> dict:
        return {"step": self.step, "magnitude": self.magnitude.clone(), "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.magnitude = state["magnitude"].to(torch.float64).clone()
        self.generator.set_state(state["rng"])
