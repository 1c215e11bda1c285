"""Fitness of a candidate (subcircuit gene x layout) on a validation split with the SuperCircuit's inherited
angles. Three kinds, fastest first:

- ``esr``: accuracy of the noise-free outputs attenuated by each wire's estimated success rate (the product of
  (1 - error) over the noise channels of the gates that touch the wire) and read out through each wire's
  confusion: ``z'_w = a_w * s_w * z_w + b_w``. Deep circuits on noisy qubits shrink their signal below the
  readout offsets and their predictions collapse, so the fitness falls towards chance — a success-rate model
  that still ranks by accuracy (multiplying accuracy by one global success rate instead favoured circuits too
  small to learn the task: measured on Quito/Manila, the winners retrained to 0.70-0.72 on the twin against
  0.76-0.86 for the human baseline);
- ``esr_routed``: the same, but the circuit (inherited angles bound) is transpiled with the layout to the
  device's target once per candidate, ``s`` counts (1 - calibrated error) over the routed gates per physical
  qubit (SWAPs included) and each wire is read out through the qubit routing leaves it on (~15 ms per
  candidate). Closer to QuantumNAS's definition, but it picked worse circuits here (bench/README.md);
- ``torch``: accuracy with the device's noise from qml's noise model (exact density matrix up to 10 qubits);
- ``aer``: accuracy on the device's Aer twin (transpiled with the layout, sampled with shots)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from qml.errors import InputError, QmlError
from qml.search.space import Gene
from qml.search.supercircuit import SuperCircuit

KINDS = ("esr", "esr_routed", "torch", "aer")


@dataclass(frozen=True)
class Fitness:
    value: float
    accuracy: float | None = None  # noise-free validation accuracy
    success_rate: float | None = None


class FitnessFunction:
    """Scores candidates on ``device`` (a ``qml.device.Device``, name or snapshot) with validation inputs.

    The ``torch`` and ``aer`` kinds run candidates through ``executor(layout)``, a factory of executor objects
    (``qml.backends`` is not imported here); ``noise_factor`` scales the noise of the ``esr`` kinds' noise
    model and is the factor the factory's executors were made with (1: the device as calibrated)."""

    def __init__(self, kind: str, device, x_valid: Tensor, y_valid: Tensor, *, shots: int = 1024,
                 executor: Callable[[Sequence[int]], object] | None = None, noise_factor: float = 1.0) -> None:
        from qml.device import Device

        if kind not in KINDS:
            raise InputError(f"unknown fitness {kind!r}: expected one of {', '.join(KINDS)}")
        if kind in ("torch", "aer") and executor is None:
            raise InputError(f"fitness {kind!r} runs candidates on an executor: pass executor=layout -> Executor")
        self.kind, self.device, self.x, self.y, self.shots = kind, Device.load(device), x_valid, y_valid, shots
        self.executor, self.noise_factor = executor, noise_factor

    @property
    def snapshot(self):
        return self.device.snapshot

    def _accuracy(self, model, z: Tensor) -> float:
        return model.accuracy_from(z, self.y)

    def _routed(self, model, layout: Sequence[int]) -> tuple[list[float], list]:
        """Per logical wire: the success rate of the physical qubit it is measured on, over the gates of the
        circuit as the transpiler routes it for ``layout`` (SWAPs and final placement included), and that
        qubit's readout confusion."""
        module = model.qmodule
        out, _ = self.device.transpile_measured(module, layout)
        survive: dict[int, float] = {}
        measured: dict[int, int] = {}
        for inst in out.data:
            qubits = tuple(out.find_bit(q).index for q in inst.qubits)
            name = inst.operation.name
            if name == "measure":
                measured[out.find_bit(inst.clbits[0]).index] = qubits[0]
                continue
            if name in ("barrier", "rz", "delay"):
                continue
            try:
                error = self.snapshot.gate(name, qubits).error or 0.0
            except QmlError:
                error = 0.0
            error = min(1.0, error * self.noise_factor)
            for q in qubits:
                survive[q] = survive.get(q, 1.0) * (1.0 - error)
        n = module.n_wires
        return ([survive.get(measured[i], 1.0) for i in range(n)],
                [self.snapshot.readout_confusion(measured[i]) for i in range(n)])

    def _esr(self, model, z: Tensor, noise, clean: float, layout: Sequence[int] | None = None) -> Fitness:
        circuit = model.qmodule.circuit
        if layout is not None:
            survive, confusion = self._routed(model, layout)
        else:
            survive = [1.0] * circuit.n_wires
            for ch in noise.channels(circuit) + [m for moved in noise.moves(circuit) for m in moved]:
                for w in ch.wires:
                    survive[w] *= 1.0 - ch.error
            confusion = noise.confusion(circuit)
        scale = torch.tensor([s * (1.0 - m[0, 1] - m[1, 0]) for s, m in zip(survive, confusion, strict=True)])
        shift = torch.tensor([m[1, 0] - m[0, 1] for m in confusion])
        z = z * scale.to(z.dtype) + shift.to(z.dtype)
        esr = float(torch.tensor(survive).prod())
        return Fitness(self._accuracy(model, z), clean, esr)

    def __call__(self, sc: SuperCircuit, gene: Gene, layout: Sequence[int]) -> Fitness:
        from qml.noise import NoiseModel

        model = sc.subnet(gene)
        model.eval()
        with torch.no_grad():
            z = model.qmodule(self.x)  # noise-free outputs, read once for both accuracies of the esr kinds
        clean = self._accuracy(model, z)
        if self.kind in ("esr", "esr_routed"):
            noise = NoiseModel(self.snapshot, layout, self.noise_factor)
            return self._esr(model, z, noise, clean, layout if self.kind == "esr_routed" else None)
        executor = self.executor(layout)
        z = executor.expectations(model.qmodule, self.x, self.shots if self.kind == "aer" else None)
        return Fitness(self._accuracy(model, z), clean)
