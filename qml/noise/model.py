"""``NoiseModel``: a device snapshot, a layout (logical wire -> physical qubit) and a noise factor, turned into
one Pauli channel per logical gate and one readout confusion per measured wire.

How a logical gate gets its error (the "error budget per logical gate"): qiskit transpiles the gate once to the
device basis (``qml.noise.budget``); the gate then carries
- on each wire: the calibrated error of its ``sx``/``x`` pulses on that physical qubit, compounded;
- on its pair: the calibrated error of the native 2-qubit gate on that physical pair, compounded over the number
  of native gates; a pair that is not coupled on the device pays for routing (3 native gates per SWAP along the
  shortest path of the coupling map);
- thermal relaxation (T1, T2 of each physical qubit) over the gate's duration, Pauli-twirled.
As in qiskit-aer's device models, the calibrated error includes decoherence during the gate, so the depolarizing
part is the calibrated error minus the thermal part (never below zero). Every error probability is then
multiplied by the noise factor T. Readout confusion is applied as calibrated (not scaled)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qml.circuit.circuit import Circuit, Op
from qml.device.layout import check_layout, distances
from qml.errors import NoiseError
from qml.noise import pauli
from qml.noise.budget import gate_cost


@dataclass(frozen=True)
class OpNoise:
    """The Pauli channel after one op: a table over 4^k Paulis on ``wires`` (logical)."""

    wires: tuple[int, ...]
    table: np.ndarray

    @property
    def error(self) -> float:
        return float(1.0 - self.table[0])


class NoiseModel:
    """Noise of ``snapshot`` for circuits placed with ``layout``, scaled by ``factor``.

    ``thermal`` adds Pauli-twirled T1/T2 relaxation over each gate's duration; ``readout`` applies the
    calibrated readout confusion to measured outcomes."""

    def __init__(self, snapshot, layout: Sequence[int] | None = None, factor: float = 1.0, *,
                 thermal: bool = True, readout: bool = True) -> None:
        if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor >= 0):
            raise NoiseError(f"noise factor must be a finite number >= 0, got {factor!r}")
        self.snapshot = snapshot
        self.layout = None if layout is None else tuple(layout)
        self.factor = float(factor)
        self.thermal = thermal
        self.readout = readout
        self._distance: dict[int, list[float]] = {}

    def __repr__(self) -> str:
        return (f"NoiseModel({self.snapshot.device}, layout={list(self.layout) if self.layout else 'trivial'}, "
                f"factor={self.factor:g})")

    def with_factor(self, factor: float) -> NoiseModel:
        return NoiseModel(self.snapshot, self.layout, factor, thermal=self.thermal, readout=self.readout)

    def placed(self, circuit: Circuit) -> tuple[int, ...]:
        return check_layout(self.layout, circuit.n_wires, self.snapshot.num_qubits, self.snapshot.device)

    # -- per-gate channels ------------------------------------------------------------------------------
    def _hops(self, a: int, b: int) -> int:
        if a not in self._distance:
            self._distance[a] = distances(self.snapshot.num_qubits, self.snapshot.edges, a)
        d = self._distance[a][b]
        if d == math.inf:
            raise NoiseError(f"physical qubits {a} and {b} of {self.snapshot.device} are not connected")
        return int(d)

    def _calibration(self, gate: str, qubits: tuple[int, ...]) -> tuple[float, float] | None:
        try:
            cal = self.snapshot.gate(gate, qubits)
        except NoiseError:
            return None
        return cal.error or 0.0, cal.duration or 0.0

    def _pulse(self, q: int) -> tuple[float, float]:
        """(error, duration) of one sx pulse on physical qubit q."""
        return self._calibration("sx", (q,)) or (0.0, 0.0)

    def _native(self, a: int, b: int) -> tuple[float, float]:
        """(error, duration) of the native 2-qubit gate on a pair: its own calibration (either direction), or
        the device median for a pair that is reached through SWAPs."""
        g = self.snapshot.two_qubit_gate
        for pair in ((a, b), (b, a)):
            found = self._calibration(g, pair)
            if found is not None:
                return found
        known = [c for c in (self._calibration(g, p) for p in self.snapshot.coupling_map) if c is not None]
        if not known:
            return 0.0, 0.0
        return float(np.median([c[0] for c in known])), float(np.median([c[1] for c in known]))

    def _thermal(self, q: int, duration: float) -> np.ndarray:
        if not self.thermal:
            return pauli.identity(1)
        cal = self.snapshot.qubit(q)
        return pauli.thermal(duration, cal.t1 or 0.0, cal.t2 or 0.0)

    def op_noise(self, op: Op, physical: tuple[int, ...]) -> OpNoise:
        """The Pauli channel of one op whose wires sit on ``physical`` qubits."""
        k = len(op.wires)
        qubits = [physical[w] for w in op.wires]
        cost = gate_cost(op.gate, self.snapshot.two_qubit_gate)
        table = pauli.identity(k)
        durations = [0.0] * k
        for j, pulses in enumerate(cost.one_qubit):
            if pulses:
                err, dur = self._pulse(qubits[j])
                durations[j] += pulses * dur
                r = 1 - (1 - err) ** pulses
                th = self._thermal(qubits[j], pulses * dur)
                dep = pauli.depolarizing(1, pauli.depolarizing_from_error(1, max(r - pauli.infidelity(th), 0.0)))
                table = pauli.compose(table, pauli.on_wire(pauli.compose(dep, th), j, k))
        if cost.two_qubit:
            by_pair: dict[tuple[int, int], int] = {}
            for a, b in cost.pairs:
                key = (min(a, b), max(a, b))
                by_pair[key] = by_pair.get(key, 0) + 1
            for (a, b), count in by_pair.items():
                qa, qb = qubits[a], qubits[b]
                count += 3 * (self._hops(qa, qb) - 1)  # SWAPs to bring them together
                err, dur = self._native(qa, qb)
                r = 1 - (1 - err) ** count
                th_a, th_b = self._thermal(qa, count * dur), self._thermal(qb, count * dur)
                durations[a] += count * dur
                durations[b] += count * dur
                local = pauli.compose(pauli.on_wire(th_a, 0, 2), pauli.on_wire(th_b, 1, 2))
                dep = pauli.depolarizing(2, pauli.depolarizing_from_error(2, max(r - pauli.infidelity(local), 0.0)))
                pair_table = pauli.compose(dep, local)
                table = pauli.compose(table, _embed_pair(pair_table, a, b, k))
        return OpNoise(op.wires, pauli.scaled(table, self.factor))

    def channels(self, circuit: Circuit) -> list[OpNoise]:
        """One channel per op of ``circuit``, in order."""
        physical = self.placed(circuit)
        cache: dict[tuple, OpNoise] = {}
        out = []
        for op in circuit.ops:
            key = (op.gate, tuple(physical[w] for w in op.wires))
            if key not in cache:
                cache[key] = self.op_noise(op, physical)
            out.append(OpNoise(op.wires, cache[key].table))
        return out

    # -- readout --------------------------------------------------------------------------------------
    def confusion(self, circuit: Circuit) -> list[np.ndarray | None]:
        """Per logical wire the 2x2 readout confusion [prepared, measured] of its physical qubit."""
        physical = self.placed(circuit)
        if not self.readout:
            return [None] * circuit.n_wires
        return [np.asarray(self.snapshot.readout_confusion(q), dtype=float) for q in physical]

    def success_rate(self, circuit: Circuit) -> float:
        """Estimated success rate: the product over ops of (1 - error), times readout fidelity of each wire."""
        rate = float(np.prod([1.0 - ch.error for ch in self.channels(circuit)]))
        for m in self.confusion(circuit):
            if m is not None:
                rate *= 1.0 - (m[0, 1] + m[1, 0]) / 2
        return rate


def _embed_pair(table2: np.ndarray, a: int, b: int, k: int) -> np.ndarray:
    """A 2-qubit table on op-local wires (a, b) inside a k-qubit op."""
    out = np.zeros(4**k)
    for idx, p in enumerate(table2):
        if p:
            out[(idx % 4) * 4**a + (idx // 4) * 4**b] += p
    return out
