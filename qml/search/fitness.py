"""Fitness of a candidate (subcircuit gene x layout) on a validation split with the SuperCircuit's inherited
angles. Three kinds, fastest first:

- ``esr``: accuracy of the noise-free outputs attenuated by each wire's estimated success rate (the product of
  (1 - error) over the noise channels of the gates that touch the wire) and read out through each wire's
  confusion: ``z'_w = a_w * s_w * z_w + b_w``. Deep circuits on noisy qubits shrink their signal below the
  readout offsets and their predictions collapse, so the fitness falls towards chance — a success-rate model
  that still ranks by accuracy (multiplying accuracy by one global success rate instead favoured circuits too
  small to learn the task: measured on Quito/Manila, the winners retrained to 0.70-0.72 on the twin against
  0.76-0.86 for the human baseline);
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
        return model.accuracy_from(z, self.y)

    def _esr(self, model, noise, clean: float) -> Fitness:
        circuit = model.qmodule.circuit
        survive = [1.0] * circuit.n_wires
        for ch in noise.channels(circuit):
            for w in ch.wires:
                survive[w] *= 1.0 - ch.error
        confusion = noise.confusion(circuit)
        scale = torch.tensor([s * (1.0 - m[0, 1] - m[1, 0]) for s, m in zip(survive, confusion, strict=True)])
        shift = torch.tensor([m[1, 0] - m[0, 1] for m in confusion])
        with torch.no_grad():
            z = model.qmodule(self.x)
            z = z * scale.to(z.dtype) + shift.to(z.dtype)
        esr = float(torch.tensor(survive).prod())
        return Fitness(self._accuracy(model, z), clean, esr)

    def __call__(self, sc: SuperCircuit, gene: Gene, layout: Sequence[int]) -> Fitness:
        from qml.noise import NoiseModel

        model = sc.subnet(gene)
        model.eval()
        with torch.no_grad():
            clean = float((model(self.x).argmax(1) == self.y).float().mean())
        noise = NoiseModel(self.snapshot, layout, 1.0)
        if self.kind == "esr":
            return self._esr(model, noise, clean)
        if self.kind == "torch":
            from qml.backends.torch_executor import TorchExecutor

            z = TorchExecutor(noise, seed=self.seed).expectations(model.qmodule, self.x)
            return Fitness(self._accuracy(model, z), clean)
        from qml.backends.aer_executor import AerExecutor

        z = AerExecutor(self.snapshot, layout, seed=self.seed).expectations(model.qmodule, self.x, self.shots)
        return Fitness(self._accuracy(model, z), clean)
