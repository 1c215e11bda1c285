"""``NoiseModel``: a device snapshot, a layout (logical wire -> physical qubit) and a noise factor, turned into
one Pauli channel per logical gate, the channels of the SWAPs routing inserts, and one readout confusion per
measured wire.

Where each gate lands is what qiskit's routing makes of the circuit on that layout (``Device.route``, the routing
``Device.transpile`` does, cached per circuit architecture and layout): after a SWAP the logical wires sit on
other physical qubits, with those qubits' errors, and each wire is read out where it ends. Each SWAP costs what
the transpiled SWAP costs (its native gates on that pair) on the two logical wires it exchanges (the marginal on
one wire when the other qubit holds no logical wire), placed between the ops it falls between (``moves``).

How a logical gate gets its error (the "error budget per logical gate"): qiskit transpiles the gate once to the
device basis (``qml.noise.budget``); the gate then carries
- on each wire: the calibrated error of its ``sx``/``x`` pulses on the physical qubit where it lands, compounded;
- on its pair: the calibrated error of the native 2-qubit gate on that physical pair, compounded over the number
  of native gates;
- thermal relaxation (T1, T2 of each physical qubit) over the gate's duration: its Pauli twirl in the table, and
  its non-unital part (the pull towards |0> of amplitude damping, gamma = 1 - e^{-t/T1}) as ``damping``, for the
  relaxation whose axis is known at the gate's end (``_damping``). For a native gate the table and the damping
  together are qiskit-aer's thermal relaxation exactly. The density matrix applies both; per-sample injection
  (``qml.noise.inject``), which draws Paulis, applies the table alone.
As in qiskit-aer's device models, the calibrated error includes decoherence during the gate, so the depolarizing
part is the calibrated error minus the thermal part (never below zero).

The transpiler merges runs of 1-qubit gates with bound angles and cancels adjacent 2-qubit gates, so a circuit
runs fewer native gates than its gates cost one by one: each op's native gates on a physical qubit or pair are
counted (transpiled count / one-by-one count) times (``_ratios``, from ``Device.native_counts``).
Every error probability and every gamma is then multiplied by the noise factor T. Readout confusion is applied as
calibrated (not scaled)."""

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
    """The noise after one op: a Pauli channel (a table over 4^k Paulis) on ``wires`` (logical), then on each wire
    ``j`` amplitude damping's non-unital part with probability ``damping[j]`` (empty: none), which maps
    rho -> rho + gamma/2 Z_j (x) Tr_j rho (the pull towards |0> that the table's Pauli twirl leaves out)."""

    wires: tuple[int, ...]
    table: np.ndarray
    damping: tuple[float, ...] = ()

    @property
    def error(self) -> float:
        return float(1.0 - self.table[0])

    def twirled(self) -> OpNoise:
        """The Pauli channel alone (what per-sample injection draws from)."""
        return OpNoise(self.wires, self.table)

    def on(self, wires: tuple[int, ...]) -> OpNoise:
        """The same noise on other wires."""
        return OpNoise(wires, self.table, self.damping)


class NoiseModel:
    """Noise of ``snapshot`` for circuits placed with ``layout``, scaled by ``factor``.

    ``thermal`` adds Pauli-twirled T1/T2 relaxation over each gate's duration; ``readout`` applies the
    calibrated readout confusion to measured outcomes."""

    def __init__(self, snapshot, layout: Sequence[int] | None = None, factor: float = 1.0, *,
                 thermal: bool = True, readout: bool = True) -> None:
        if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor >= 0):
            raise NoiseError(f"noise factor must be a finite number >= 0, got {factor!r}")
        from qml.device import Device

        self.device = Device.load(snapshot)
        self.snapshot = self.device.snapshot
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
        """The layout (physical qubit of each logical wire at the start), checked against the circuit."""
        return check_layout(self.layout, circuit.n_wires, self.snapshot.num_qubits, self.snapshot.device)

    def routing(self, circuit: Circuit):
        """Where each op of ``circuit`` lands on the device (``qml.device.routing.Routing``)."""
        return self.device.route(circuit, self.placed(circuit))

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

    def _relaxation(self, q: int, duration: float) -> float:
        if not self.thermal:
            return 0.0
        cal = self.snapshot.qubit(q)
        return pauli.relaxation(duration, cal.t1 or 0.0, cal.t2 or 0.0)

    def op_noise(self, op: Op, qubits: Sequence[int], ratios: Ratios | None = None) -> OpNoise:
        """The noise of one op whose wires (in the op's order) sit on physical ``qubits``, its native gates on each
        qubit and pair counted ``ratios`` times (``_ratios``; none: once); kept on the device per (gate, qubits,
        ratios, factor, thermal), so that the many noise models of a search build each once."""
        qubits = tuple(qubits)
        cost = gate_cost(op.gate, self.snapshot.two_qubit_gate)
        on_qubit, on_pair = ratios or ({}, {})
        scale = (tuple(on_qubit.get(q, 1.0) for q in qubits),
                 tuple(on_pair.get(_pair(qubits[a], qubits[b]), 1.0) for a, b in cost.pairs))
        key = (op.gate, qubits, scale, self.factor, self.thermal)
        cache = self.device._op_noise
        if key not in cache:
            cache[key] = self._op_noise(op, qubits, scale)
        return cache[key].on(op.wires)

    def _op_noise(self, op: Op, qubits: tuple[int, ...], scale) -> OpNoise:
        k = len(op.wires)
        cost = gate_cost(op.gate, self.snapshot.two_qubit_gate)
        pulse_scale, pair_scale = scale
        pair_scale = {_pair(*pair): r for pair, r in zip(cost.pairs, pair_scale, strict=True)}
        table = pauli.identity(k)
        for j, pulses in enumerate(cost.one_qubit):
            pulses *= pulse_scale[j]
            if pulses:
                err, dur = self._pulse(qubits[j])
                r = 1 - (1 - err) ** pulses
                th = self._thermal(qubits[j], pulses * dur)
                dep = pauli.depolarizing(1, pauli.depolarizing_from_error(1, max(r - pauli.infidelity(th), 0.0)))
                table = pauli.compose(table, pauli.on_wire(pauli.compose(dep, th), j, k))
        if cost.two_qubit:
            by_pair: dict[tuple[int, int], int] = {}
            for a, b in cost.pairs:
                key = _pair(a, b)
                by_pair[key] = by_pair.get(key, 0) + 1
            for (a, b), count in by_pair.items():
                qa, qb = qubits[a], qubits[b]
                count += 3 * (self._hops(qa, qb) - 1)  # SWAPs for a pair routing left apart (none after routing)
                count *= pair_scale[(a, b)]
                err, dur = self._native(qa, qb)
                r = 1 - (1 - err) ** count
                th_a, th_b = self._thermal(qa, count * dur), self._thermal(qb, count * dur)
                local = pauli.compose(pauli.on_wire(th_a, 0, 2), pauli.on_wire(th_b, 1, 2))
                dep = pauli.depolarizing(2, pauli.depolarizing_from_error(2, max(r - pauli.infidelity(local), 0.0)))
                pair_table = pauli.compose(dep, local)
                table = pauli.compose(table, _embed_pair(pair_table, a, b, k))
        damping = self._damping(cost, qubits, pulse_scale, pair_scale)
        return OpNoise(op.wires, pauli.scaled(table, self.factor), damping if any(damping) else ())

    def _damping(self, cost, qubits: tuple[int, ...], pulse_scale, pair_scale) -> tuple[float, ...]:
        """The pull of each wire's ⟨Z⟩ at the end of the op that thermal relaxation leaves (signed: towards |1>
        where negative), walking the op's native gates in order. Relaxation after a native gate damps towards |0>
        in that gate's frame; an ``x`` after it flips the pull, ``rz`` keeps it; an ``sx`` or a 2-qubit gate after
        it turns it away from the Z axis by an amount that depends on the angles and the other wire, so the pull
        is dropped there (its Pauli twirl stays in the table). A cx on a cx device keeps all of it; on an ECR
        device (cx = ECR, then X on the control) the control is pulled towards |1>."""
        shift = [0.0] * len(qubits)
        for name, wires in cost.natives:
            if len(wires) == 1:
                j = wires[0]
                duration = self._pulse(qubits[j])[1] * pulse_scale[j]
                gamma = self._relaxation(qubits[j], duration)
                shift[j] = (-shift[j] if name == "x" else 0.0) * (1 - gamma) + gamma
            else:
                duration = self._native(qubits[wires[0]], qubits[wires[1]])[1] * pair_scale[_pair(*wires)]
                for j in wires:
                    shift[j] = self._relaxation(qubits[j], duration)
        return tuple(min(max(d * self.factor, -1.0), 1.0) for d in shift)

    def _ratios(self, circuit: Circuit) -> Ratios:
        """Per physical qubit (sx / x pulses) and per pair (native 2-qubit gates): how many the transpiled circuit
        runs (``Device.native_counts``) over how many its ops and SWAPs cost one by one (``qml.noise.budget``).
        The transpiler merges runs of 1-qubit gates with bound angles and cancels adjacent 2-qubit gates (on
        random 4-qubit circuits: 47 pulses where the gates cost 70 alone); each op's native gates on a qubit or pair
        are counted that ratio times, so that the circuit's noise adds up to what the device runs. Kept on the
        device per ``Device.transpile_key``: ``channels`` and ``moves`` both ask."""
        key = ("ratios", *self.device.transpile_key(circuit, self.placed(circuit)))
        if key not in self.device._routings:
            self.device._routings[key] = self._count_ratios(circuit)
        return self.device._routings[key]

    def _count_ratios(self, circuit: Circuit) -> Ratios:
        routing = self.routing(circuit)
        counts = self.device.native_counts(circuit, self.placed(circuit))
        native = self.snapshot.two_qubit_gate
        pulses: dict[int, float] = {}
        pairs: dict[tuple[int, int], float] = {}

        def charge(gate: str, qubits: tuple[int, ...]) -> None:
            cost = gate_cost(gate, native)
            for q, n in zip(qubits, cost.one_qubit, strict=True):
                pulses[q] = pulses.get(q, 0) + n
            for a, b in cost.pairs:
                pair = _pair(qubits[a], qubits[b])
                pairs[pair] = pairs.get(pair, 0) + 1

        for op, qubits in zip(circuit.ops, routing.placed, strict=True):
            charge(op.gate, qubits)
        for swaps in routing.swaps:
            for swap in swaps:
                charge(_SWAP.gate, swap.qubits)
        return ({q: counts.pulses.get(q, 0) / n for q, n in pulses.items() if n},
                {p: counts.pairs.get(p, 0) / n for p, n in pairs.items() if n})

    def channels(self, circuit: Circuit) -> list[OpNoise]:
        """One channel per op of ``circuit``, in order, on the physical qubits where routing lands the op."""
        routing = self.routing(circuit)
        ratios = self._ratios(circuit)
        cache: dict[tuple, OpNoise] = {}
        out = []
        for op, qubits in zip(circuit.ops, routing.placed, strict=True):
            key = (op.gate, qubits)
            if key not in cache:
                cache[key] = self.op_noise(op, qubits, ratios)
            out.append(cache[key].on(op.wires))
        return out

    def moves(self, circuit: Circuit) -> list[list[OpNoise]]:
        """The SWAP channels: ``len(ops) + 1`` lists, entry ``i`` applied just before op ``i`` (the last entry:
        before measurement), each on the logical wires it acts on. A SWAP's channel goes before the first op
        that follows it on either of its wires; when routing ran ops of other wires out of the circuit's order so
        that no single place is after the ops before it and before the ops after it on both wires, each wire gets
        its marginal before its own next op."""
        ops = circuit.ops
        out: list[list[OpNoise]] = [[] for _ in range(len(ops) + 1)]
        routing = self.routing(circuit)
        ratios = self._ratios(circuit) if routing.n_swaps else None

        def next_on(wire: int, after: int) -> int:
            return next((j for j in range(after + 1, len(ops)) if wire in ops[j].wires), len(ops))

        for swaps in routing.swaps:
            for swap in swaps:
                swap_noise = self.op_noise(_SWAP, swap.qubits, ratios)  # on (qubits[0], qubits[1]) after the exchange
                table, damping = swap_noise.table, swap_noise.damping or (0.0, 0.0)
                # after the exchange qubits[0] holds what sat on qubits[1] and the other way round
                holders = (swap.wires[1], swap.wires[0])
                later = [next_on(w, a) if w is not None else None
                         for w, a in zip(swap.wires, swap.after, strict=True)]
                wires = [w for w in holders if w is not None]
                if len(wires) == 2:
                    at = min(later)
                    if max(swap.after) < at:
                        out[at].append(OpNoise(holders, table, swap_noise.damping))
                        continue
                for k, w in enumerate(holders):
                    if w is not None:
                        pull = (damping[k],) if damping[k] else ()
                        out[later[1 - k]].append(OpNoise((w,), _marginal(table, k), pull))
        return out

    # -- readout --------------------------------------------------------------------------------------
    def confusion(self, circuit: Circuit) -> list[np.ndarray | None]:
        """Per logical wire the 2x2 readout confusion [prepared, measured] of the physical qubit it is measured
        on (where routing leaves it)."""
        if not self.readout:
            return [None] * circuit.n_wires
        return [np.asarray(self.snapshot.readout_confusion(q), dtype=float) for q in self.routing(circuit).final]

    def success_rate(self, circuit: Circuit) -> float:
        """Estimated success rate: the product over ops and SWAPs of (1 - error), times readout fidelity of each
        wire."""
        moved = [ch for before in self.moves(circuit) for ch in before]
        rate = float(np.prod([1.0 - ch.error for ch in self.channels(circuit) + moved]))
        for m in self.confusion(circuit):
            if m is not None:
                rate *= 1.0 - (m[0, 1] + m[1, 0]) / 2
        return rate


_SWAP = Op("swap", (0, 1), ())
Ratios = tuple[dict[int, float], dict[tuple[int, int], float]]


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _marginal(table2: np.ndarray, k: int) -> np.ndarray:
    """The 1-qubit Pauli channel on wire ``k`` (0 or 1) of a 2-qubit table (index = P0 + 4 P1)."""
    return table2.reshape(4, 4).sum(axis=k)  # reshape: [P1, P0]; keep P0 (sum over P1, axis 0) for k = 0


def _embed_pair(table2: np.ndarray, a: int, b: int, k: int) -> np.ndarray:
    """A 2-qubit table on op-local wires (a, b) inside a k-qubit op."""
    out = np.zeros(4**k)
    for idx, p in enumerate(table2):
        if p:
            out[(idx % 4) * 4**a + (idx // 4) * 4**b] += p
    return out
