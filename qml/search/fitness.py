"""Fitness of a candidate (subcircuit gene x layout) on a validation split with the SuperCircuit's inherited
angles. Three kinds, fastest first:

- ``esr``: noise-free accuracy discounted by the estimated success rate from the snapshot (the product of
  (1 - error) over the gates' noise channels and readout): ``esr * acc + (1 - esr) / n_classes``;
- ``torch``: accuracy with the device's noise from qml's noise model (exact density matrix up to 10 qubits);
- ``aer``: accuracy on the device's Aer twin (transpiled with the layout, sampled with shots)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from qml.errors import InputError
from qml.search.space import Gene
from qml.search.supercircuit import SuperCircuit

KINDS = ("esr", "torch", "aer")


@dataclass(frozen=True)
class Fitness:
    value: float
    accuracy: float | None = None  # noise-free validation accuracy
    success_rate: float | None = None


class FitnessFunction:
    def __init__(self, kind: str, snapshot, x_valid: Tensor, y_valid: Tensor, *, shots: int = 1024,
                 seed: int = 0) -> None:
        if kind not in KINDS:
            raise InputError(f"unknown fitness {kind!r}: expected one of {', '.join(KINDS)}")
        self.kind, self.snapshot, self.x, self.y, self.shots, self.seed = kind, snapshot, x_valid, y_valid, shots, seed

    def _accuracy(self, model, z: Tensor) -> float:
        with torch.no_grad():
            logits = model.head(z.to(model.qmodule.theta.dtype))
        return float((logits.argmax(1) == self.y).float().mean())

    def __call__(self, sc: SuperCircuit, gene: Gene, layout: Sequence[int]) -> Fitness:
        from qml.noise import NoiseModel

        model = sc.subnet(gene)
        model.eval()
        with torch.no_grad():
            clean = float((model(self.x).argmax(1) == self.y).float().mean())
        noise = NoiseModel(self.snapshot, layout, 1.0)
        if self.kind == "esr":
            esr = noise.success_rate(model.qmodule.circuit)
            return Fitness(esr * clean + (1 - esr) / sc.n_classes, clean, esr)
        if self.kind == "torch":
            from qml.backends.torch_executor import TorchExecutor

            z = TorchExecutor(noise, seed=self.seed).expectations(model.qmodule, self.x)
            return Fitness(self._accuracy(model, z), clean)
        from qml.backends.aer_executor import AerExecutor

        z = AerExecutor(self.snapshot, layout, seed=self.seed).expectations(model.qmodule, self.x, self.shots)
        return Fitness(self._accuracy(model, z), clean)
