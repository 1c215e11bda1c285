"""Noise injection into the statevector engine, sampled **independently per sample**.

The circuit is rewritten once: after every op (and where routing puts a SWAP, ``NoiseModel.moves``), one U3
"slot" per wire whose angles are extra input features. Each forward pass draws, for every sample and every
channel, a Pauli from that channel and feeds the slots the angles of I, X, Y or Z (U3(0,0,0), U3(pi,0,pi),
U3(pi,pi/2,pi/2), U3(0,0,pi); equal up to a global phase, which no measurement sees). The engine then runs the
noisy circuit as any other batched circuit, with the module's own trainable angles (so masks or quantizers on
``theta`` stay in effect), and readout confusion is applied to the measured distribution."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from qml.circuit.circuit import Circuit, Op
from qml.circuit.params import ParamRef
from qml.errors import NoiseError
from qml.noise.model import NoiseModel
from qml.sim.density import apply_confusion
from qml.sim.engine import StatevectorEngine
from qml.sim.measure import ExpZ, Probs, marginal, probabilities

PAULI_U3 = torch.tensor([[0.0, 0.0, 0.0], [math.pi, 0.0, math.pi], [math.pi, math.pi / 2, math.pi / 2],
                         [0.0, 0.0, math.pi]], dtype=torch.float64)


def slotted_circuit(circuit: Circuit, n_inputs: int, before: list[list] | None = None
                    ) -> tuple[Circuit, list[tuple[int, int]]]:
    """The circuit with a U3 slot after each op on each of its wires, and, with ``before`` (``NoiseModel.moves``),
    a slot on each wire of every extra channel just before op ``i`` (the last list: after every op). Returns it and,
    per slot, (channel row, position in that channel): rows ``0..len(ops)-1`` are the ops' channels, then the
    extra channels in order."""
    noisy = Circuit(circuit.n_wires, name=f"{circuit.name}+noise")
    noisy.trainable_init = list(circuit.trainable_init)
    slots: list[tuple[int, int]] = []
    extra_row = len(circuit.ops)

    def add_slots(row: int, wires) -> None:
        for j, w in enumerate(wires):
            base = n_inputs + 3 * len(slots)
            noisy.append(Op("u3", (w,), tuple(ParamRef("input", base + t) for t in range(3))))
            slots.append((row, j))

    for i in range(len(circuit.ops) + 1):
        for extra in () if before is None else before[i]:
            add_slots(extra_row, extra.wires)
            extra_row += 1
        if i < len(circuit.ops):
            noisy.append(circuit.ops[i])
            add_slots(i, circuit.ops[i].wires)
    noisy._n_inputs = n_inputs + 3 * len(slots)
    return noisy, slots


class NoiseInjector(torch.nn.Module):
    """Runs a ``QuantumModule`` with a ``NoiseModel``'s errors drawn per sample.

    ``generator`` makes the draws reproducible. Supports ⟨Z⟩ (``ExpZ``) and ``Probs`` measurements, whose readout
    error is exact; other measurements are rejected."""

    def __init__(self, module, noise: NoiseModel, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(module.measurement, (ExpZ, Probs)):
            raise NoiseError(f"noise injection supports ExpZ and Probs measurements, not {module.measurement}")
        self.module = module
        self.noise = noise
        self.generator = generator
        self._build()

    def _build(self) -> None:
        circuit = self.module.circuit
        before = self.noise.moves(circuit)
        channels = self.noise.channels(circuit) + [extra for extras in before for extra in extras]
        self.noisy_circuit, self.slots = slotted_circuit(circuit, self.module.n_inputs, before)
        self.engine = StatevectorEngine(self.noisy_circuit)
        width = max((len(ch.table) for ch in channels), default=1)
        cdf = np.ones((len(channels), width))
        for i, ch in enumerate(channels):
            cdf[i, : len(ch.table)] = np.cumsum(ch.table)
        cdf[:, -1] = 1.0 + 1e-9  # guard against rounding: every draw lands somewhere
        self.register_buffer("cdf", torch.tensor(cdf, dtype=torch.float64), persistent=False)
        self.register_buffer("slot_op", torch.tensor([op for op, _ in self.slots], dtype=torch.long),
                             persistent=False)
        self.register_buffer("slot_pow", torch.tensor([4**j for _, j in self.slots], dtype=torch.long),
                             persistent=False)
        confusion = self.noise.confusion(circuit)
        a = [1.0 if m is None else 1.0 - m[0, 1] - m[1, 0] for m in confusion]
        b = [0.0 if m is None else m[1, 0] - m[0, 1] for m in confusion]
        self.register_buffer("ro_scale", torch.tensor(a), persistent=False)
        self.register_buffer("ro_shift", torch.tensor(b), persistent=False)
        self.confusion = confusion

    def set_noise(self, noise: NoiseModel) -> None:
        """Switch to another noise model (e.g. a new factor from a schedule)."""
        self.noise = noise
        self._build()
        self.to(self.module.theta.device)

    def draw(self, batch: int) -> Tensor:
        """Slot angles (B, 3 * slots) for ``batch`` samples: one Pauli per sample, op and wire."""
        dev = self.cdf.device
        u = torch.rand(self.cdf.shape[0], batch, generator=self.generator, dtype=torch.float64,
                       device="cpu" if self.generator is not None else dev).to(dev)
        idx = torch.searchsorted(self.cdf, u)  # (ops, B): index into each op's table
        per_slot = (idx[self.slot_op] // self.slot_pow[:, None]) % 4  # (slots, B)
        angles = PAULI_U3.to(dev)[per_slot.T]  # (B, slots, 3)
        return angles.reshape(batch, -1)

    def forward(self, x: Tensor | None = None) -> Tensor:
        m = self.module
        x, single = m.check_input(x)
        batch = 1 if x is None else x.shape[0]
        noise_in = self.draw(batch).to(m.theta.dtype)
        full = noise_in if x is None else torch.cat([x, noise_in], 1)
        state = self.engine(m.theta, full)
        out = self._readout(m.measurement, state)
        return out[0] if single else out

    def _readout(self, measurement, state: Tensor) -> Tensor:
        n = self.module.n_wires
        if isinstance(measurement, ExpZ):
            z = measurement(state, n)
            wires = measurement.wires if measurement.wires is not None else tuple(range(n))
            return z * self.ro_scale[list(wires)].to(z.dtype) + self.ro_shift[list(wires)].to(z.dtype)
        probs = apply_confusion(probabilities(state), n, self.confusion)
        return marginal(probs, n, measurement._wires(measurement.wires, n))
