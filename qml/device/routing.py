"""Where a logical circuit's gates really land on a device for a layout.

qiskit routes a circuit once, inserting SWAPs, and from then on the logical wires sit on other physical qubits,
with those qubits' errors and readout. ``route`` asks qiskit's own routing for this: the preset pass manager's
``init``, ``layout`` and ``routing`` stages — the stages ``Device.transpile`` runs first, with the same seed —
applied to a *skeleton* of the circuit, in which every op is an opaque gate on the same wires labelled with its
index (qiskit's routing looks only at which qubits each gate joins, so it routes the skeleton as it routes the
circuit). Walking the routed skeleton gives each op's physical qubits, the SWAPs and the logical wires they
exchange, and the physical qubit each wire is measured on.

A 3-qubit op (``ccx``, ``cswap``) goes in as the gates of its qiskit definition, as qiskit's ``init`` stage
decomposes it before routing, each labelled with the op's index; the op is placed where its first piece lands
and the SWAPs between its pieces count as before it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Swap:
    """A SWAP routing inserted on physical qubits ``qubits``; ``wires`` are the logical wires sitting there just
    before it (None for a qubit holding no logical wire) and ``after`` the last op on each of them before it (-1:
    none). Routing may reorder ops that share no wire, so "after op ``after[k]`` on wire ``wires[k]``" is what
    places the SWAP among the circuit's own ops."""

    qubits: tuple[int, int]
    wires: tuple[int | None, int | None]
    after: tuple[int, int] = (-1, -1)


@dataclass(frozen=True)
class Routing:
    """A routed circuit, op by op: ``placed[i]`` are the physical qubits of op ``i``'s wires (in the op's wire
    order), ``swaps[i]`` the SWAPs routing put right before op ``i`` in its own order (``swaps[len(ops)]``: after
    the last op), ``initial``/``final`` the physical qubit of each logical wire before the first op and at the
    measurement."""

    initial: tuple[int, ...]
    placed: tuple[tuple[int, ...], ...]
    swaps: tuple[tuple[Swap, ...], ...]
    final: tuple[int, ...]

    @property
    def n_swaps(self) -> int:
        return sum(len(s) for s in self.swaps)


def skeleton_key(circuit) -> tuple:
    """What routing depends on: every op's gate and wires, in order (not its angles)."""
    return (circuit.n_wires, tuple((op.gate, op.wires) for op in circuit.ops))


def route(device, circuit, layout: Sequence[int]) -> Routing:
    """How ``device`` (a ``qml.device.Device``) routes ``circuit`` (a ``qml.Circuit``) placed with ``layout``."""
    from qiskit import QuantumCircuit

    from qml.circuit.qiskit_io import to_qiskit

    layout = tuple(int(q) for q in layout)
    n, ops = circuit.n_wires, circuit.ops
    if all(len(op.wires) < 2 for op in ops):
        placed = tuple(tuple(layout[w] for w in op.wires) for op in ops)
        return Routing(layout, placed, ((),) * (len(ops) + 1), layout)
    labelled = to_qiskit(circuit, labels=True)
    skeleton = QuantumCircuit(*labelled.qregs)
    for inst in labelled.data:
        _append_pieces(skeleton, inst.operation, list(inst.qubits), inst.operation.label)
    skeleton.measure_all()  # as ``transpile_measured`` does: the final barrier and measurements steer routing too
    routed = routing_stages(device, layout).run(skeleton)
    where = list(layout)  # physical qubit of each logical wire, as the routed circuit goes
    placed: list[tuple[int, ...] | None] = [None] * len(ops)
    where_at: list[tuple[int, ...] | None] = [None] * len(ops)
    pending: list[Swap] = []
    swaps: list[tuple[Swap, ...]] = [()] * (len(ops) + 1)
    last = [-1] * n  # the last op seen on each wire
    for inst in routed.data:
        name = inst.operation.name
        if name in ("barrier", "measure"):
            continue
        qubits = tuple(routed.find_bit(q).index for q in inst.qubits)
        if name == "swap" and inst.operation.label is None:
            a, b = qubits
            occupant = {q: w for w, q in enumerate(where)}
            wa, wb = occupant.get(a), occupant.get(b)
            pending.append(Swap((a, b), (wa, wb), tuple(-1 if w is None else last[w] for w in (wa, wb))))
            for w, q in ((wa, b), (wb, a)):
                if w is not None:
                    where[w] = q
            continue
        i = int(inst.operation.label)
        for w in ops[i].wires:
            last[w] = i
        if placed[i] is None:
            placed[i], where_at[i] = tuple(where[w] for w in ops[i].wires), tuple(where)
            swaps[i] = tuple(pending)
            pending = []
        elif pending:  # SWAPs between the pieces of a decomposed 3-qubit op: before the op
            swaps[i] += tuple(pending)
            pending = []
    swaps[len(ops)] = tuple(pending)
    final = tuple(where)
    for i in range(len(ops) - 1, -1, -1):  # an op qiskit cancelled (cx cx): where the next op found its wires
        if placed[i] is None:
            where_at[i] = where_at[i + 1] if i + 1 < len(ops) else final
            placed[i] = tuple(where_at[i][w] for w in ops[i].wires)
    return Routing(layout, tuple(placed), tuple(swaps), final)


@dataclass(frozen=True)
class NativeCounts:
    """The native gates of a circuit as ``Device.transpile`` produces it: ``pulses[q]`` the sx / x pulses on
    physical qubit ``q``, ``pairs[(a, b)]`` (a < b) the native 2-qubit gates on that pair, SWAPs included."""

    pulses: dict[int, int]
    pairs: dict[tuple[int, int], int]


def native_counts(device, circuit, layout: Sequence[int]) -> NativeCounts:
    """Count the native gates of ``circuit`` transpiled to ``device`` with ``layout`` by the whole pass manager
    (``preset_pass_manager``, optimisation included: runs of bound 1-qubit gates merge into one, adjacent 2-qubit gates
    cancel), with the trainable angles at generic values and the inputs symbolic, as ``transpile_measured`` has
    them. A logical gate's own cost (``qml.noise.budget``) counts each gate alone; this is what the device runs."""
    import numpy as np

    from qml.circuit.qiskit_io import to_qiskit

    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, circuit.n_trainable)  # generic: no gate vanishes
    qc = to_qiskit(circuit, theta=theta)
    qc.measure_all()
    out = preset_pass_manager(device, tuple(int(q) for q in layout)).run(qc)
    pulses: dict[int, int] = {}
    pairs: dict[tuple[int, int], int] = {}
    for inst in out.data:
        qubits = [out.find_bit(q).index for q in inst.qubits]
        name = inst.operation.name
        if name in ("sx", "x"):
            pulses[qubits[0]] = pulses.get(qubits[0], 0) + 1
        elif len(qubits) == 2 and name != "barrier":
            key = (min(qubits), max(qubits))
            pairs[key] = pairs.get(key, 0) + 1
    return NativeCounts(pulses, pairs)


def routing_stages(device, layout: tuple[int, ...]):
    """The ``init``, ``layout`` and ``routing`` stages of the pass manager ``Device.transpile`` uses, for
    ``layout``. Building a preset pass manager costs far more than running it on a small circuit (plugin discovery,
    13-180 ms), and only its first pass, ``SetLayout``, depends on the layout: the stages are built once per
    device and that pass is replaced for each layout (``PassManager.replace``)."""
    from qiskit.transpiler import StagedPassManager

    full = preset_pass_manager(device, layout)
    return StagedPassManager(stages=["init", "layout", "routing"], init=full.init, layout=full.layout,
                             routing=full.routing)


def preset_pass_manager(device, layout: tuple[int, ...]):
    """The whole preset pass manager ``Device.transpile`` uses, built once per device, set to ``layout``."""
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit.transpiler.passes import SetLayout

    cache = device._routing_stages
    if "stages" not in cache:
        cache["stages"] = generate_preset_pass_manager(optimization_level=1, target=device.target,
                                                       initial_layout=list(layout), seed_transpiler=0)
    full = cache["stages"]
    full.layout.replace(0, SetLayout(list(layout)))
    return full


def _append_pieces(skeleton, operation, qubits, label: str) -> None:
    """``operation`` on ``qubits``, a gate on three or more qubits as the gates of its definition, each labelled."""
    if operation.num_qubits <= 2 or operation.definition is None:
        operation = operation.to_mutable()
        operation.label = label
        skeleton.append(operation, qubits)
        return
    definition = operation.definition
    for inst in definition.data:
        _append_pieces(skeleton, inst.operation, [qubits[definition.find_bit(q).index] for q in inst.qubits], label)


__all__ = ["NativeCounts", "Routing", "Swap", "native_counts", "route", "skeleton_key"]
