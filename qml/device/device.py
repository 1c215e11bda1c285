"""``Device``: one device's snapshot resolved once, with what every room above needs from it — names, coupling
map, native gates, layout checks, the qiskit ``Target``, the Aer noise model and transpiled circuits. The
target and the Aer noise model are built on first use and kept (building the Aer model takes ~0.2 s)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from qml.device.layout import check_layout, distances
from qml.device.snapshot import DeviceSnapshot

ONE_QUBIT_PULSES = ("sx", "x")
_CACHE: dict[tuple, Device] = {}


class Device:
    """A device as qml uses it. ``Device.load("ibm_quito")`` returns the same object for the same snapshot."""

    def __init__(self, snapshot: DeviceSnapshot) -> None:
        self.snapshot = snapshot
        self._hops: dict[int, list[float]] = {}
        self._regions: dict[tuple[int, ...], Device] = {}
        self._routings: dict[tuple, object] = {}
        self._routing_stages: dict[str, object] = {}  # qml.device.routing.routing_stages
        self._op_noise: dict[tuple, object] = {}  # qml.noise.NoiseModel.op_noise, per gate, qubits, factor, thermal

    @classmethod
    def load(cls, name_or_path: str | Path | DeviceSnapshot | Device) -> Device:
        """A shipped device by name (``ibm_quito``, ``quito``) or a snapshot file; cached per process (a file
        is read again when it changes)."""
        if isinstance(name_or_path, Device):
            return name_or_path
        if isinstance(name_or_path, DeviceSnapshot):  # the same object: the same Device (its caches with it)
            key = ("snapshot", id(name_or_path))
            if key not in _CACHE or _CACHE[key].snapshot is not name_or_path:
                _CACHE[key] = cls(name_or_path)
            return _CACHE[key]
        if ("provided", str(name_or_path)) in _CACHE:
            return _CACHE[("provided", str(name_or_path))]
        from qml.device.library import load_snapshot, snapshot_source

        source = snapshot_source(name_or_path)
        key = (str(source), os.stat(source).st_mtime_ns) if isinstance(source, Path) else (source,)
        if key not in _CACHE:
            _CACHE[key] = cls(load_snapshot(name_or_path))
        return _CACHE[key]

    @classmethod
    def provide(cls, snapshots: dict[str, DeviceSnapshot]) -> None:
        """Snapshots read elsewhere — by a study's driver, shipped once to each Ray worker — that ``load`` returns for
        the same name or path without reading a file (a worker on another node may not have the user's file)."""
        for name, snapshot in snapshots.items():
            _CACHE[("provided", str(name))] = cls(snapshot)

    def __repr__(self) -> str:
        return f"Device({self.name!r}, {self.num_qubits} qubits, {self.two_qubit_gate or 'no'} 2-qubit gate)"

    # -- plain facts ------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.snapshot.device

    @property
    def num_qubits(self) -> int:
        return self.snapshot.num_qubits

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        return self.snapshot.edges

    @property
    def two_qubit_gate(self) -> str | None:
        return self.snapshot.two_qubit_gate

    def region(self, qubits: Sequence[int]) -> Device:
        """The device made of ``qubits`` alone (``DeviceSnapshot.restrict``), kept per qubit tuple: simulating a
        circuit that touches only them there costs what their number costs, not the whole device's."""
        key = tuple(int(q) for q in qubits)
        if key not in self._regions:
            self._regions[key] = Device(self.snapshot.restrict(key))
        return self._regions[key]

    def check_layout(self, layout: Sequence[int] | None, n_wires: int) -> tuple[int, ...]:
        return check_layout(layout, n_wires, self.num_qubits, self.name)

    def hops(self, a: int, b: int) -> float:
        """Coupling-map distance between physical qubits ``a`` and ``b`` (``inf`` when not connected)."""
        if a not in self._hops:
            self._hops[a] = distances(self.num_qubits, self.edges, a)
        return self._hops[a][b]

    # -- qiskit views ------------------------------------------------------------------------------------
    @cached_property
    def target(self):
        """The qiskit ``Target`` (basis gates, coupling map, errors, durations, T1/T2)."""
        from qml.device.target import to_target

        return to_target(self.snapshot)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the snapshot's canonical JSON: which calibration a run used, whatever file it came from."""
        import hashlib

        from qml.device.schema import snapshot_to_json

        return hashlib.sha256(snapshot_to_json(self.snapshot).encode()).hexdigest()

    @cached_property
    def aer_noise_model(self):
        """The qiskit-aer ``NoiseModel`` (gate errors, thermal relaxation, readout), built once."""
        from qml.device.target import to_aer_noise_model

        return to_aer_noise_model(self.snapshot)

    def transpile(self, qc, layout: Sequence[int] | None = None, optimization_level: int = 1):
        """``qc`` transpiled to the device with ``layout`` as the initial layout (seeded, reproducible)."""
        return transpile_to(self.target, qc, list(self.check_layout(layout, qc.num_qubits)), optimization_level)

    def transpile_measured(self, module, layout: Sequence[int] | None = None, optimization_level: int = 1):
        """See ``transpile_measured``; on this device's target."""
        return transpile_measured(module, self.target, layout, self.name, optimization_level)

    def gate_counts(self, transpiled) -> dict:
        """2-qubit gates, 1-qubit gates, 1-qubit pulses and depth of a circuit transpiled to this device."""
        ops = transpiled.count_ops()
        return {"two_qubit": sum(n for name, n in ops.items() if name == self.two_qubit_gate),
                "one_qubit": sum(n for name, n in ops.items() if name in ONE_QUBIT_PULSES + ("rz",)),
                "pulses_1q": sum(n for name, n in ops.items() if name in ONE_QUBIT_PULSES),
                "depth": transpiled.depth()}

    def transpiled_counts(self, circuit, theta, layout: Sequence[int] | None = None) -> dict:
        """Gate counts and depth of a qml circuit with angles ``theta`` transpiled to this device."""
        from qml.circuit.qiskit_io import to_qiskit

        out = self.transpile(to_qiskit(circuit, theta=theta), layout)
        return {"logical_gates": len(circuit), **self.gate_counts(out)}

    def route(self, circuit, layout: Sequence[int] | None = None):
        """Where each op of a qml ``circuit`` placed with ``layout`` lands once qiskit routes it here, the SWAPs
        it inserts and where each wire is measured (``qml.device.routing.Routing``); kept per (circuit's wires,
        layout), so a search asking again for the same architecture and layout does not route again."""
        from qml.device.routing import route, skeleton_key

        layout = self.check_layout(layout, circuit.n_wires)
        key = (skeleton_key(circuit), layout)
        if key not in self._routings:
            self._routings[key] = route(self, circuit, layout)
        return self._routings[key]

    def native_counts(self, circuit, layout: Sequence[int] | None = None):
        """The native gates per physical qubit and pair of a qml ``circuit`` transpiled here with ``layout``
        (``qml.device.routing.NativeCounts``); kept per (gates, wires, which angles are inputs, trainables or which
        constants, layout): what the transpiler's merging depends on."""
        from qml.device.routing import native_counts

        key = ("counts", *self.transpile_key(circuit, layout))
        if key not in self._routings:
            self._routings[key] = native_counts(self, circuit, key[-1])
        return self._routings[key]

    def transpile_key(self, circuit, layout: Sequence[int] | None = None) -> tuple:
        """What transpiling ``circuit`` with ``layout`` depends on: its gates and wires, which angles are inputs,
        trainables or which constants, and the (checked) layout, last."""
        layout = self.check_layout(layout, circuit.n_wires)
        angles = tuple(tuple((p.kind, p.offset if p.kind == "const" else 0.0) for p in op.params) for op in circuit.ops)
        return circuit.n_wires, tuple((op.gate, op.wires) for op in circuit.ops), angles, layout

    # -- placement ---------------------------------------------------------------------------------------
    def rank_layouts(self, circuit, theta=None, limit: int = 16) -> list[tuple[tuple[int, ...], float]]:
        """Candidate layouts of a qml circuit (up to ``limit``, plus the trivial one) with the estimated success
        probability of each once transpiled here, best first; see ``qml.device.placement``."""
        from qml.device.placement import rank_layouts

        return rank_layouts(self, circuit, theta, limit)

    def best_layout(self, circuit, theta=None, *, top: int | None = None) -> tuple[int, ...]:
        """The layout with the highest estimated success probability among ``rank_layouts``' candidates (``top``
        of them transpiled and scored; default 16). ``theta=None`` places the circuit with generic angles."""
        from qml.device.placement import best_layout

        return best_layout(self, circuit, theta, 16 if top is None else top)


def transpile_to(target, qc, layout: list[int], optimization_level: int = 1):
    from qiskit import transpile

    return transpile(qc, target=target, initial_layout=layout, optimization_level=optimization_level,
                     seed_transpiler=0)


def active_qubits(qc) -> tuple[int, ...]:
    """The qubits (indices, ascending) some instruction of ``qc`` acts on; a barrier does not count."""
    used = {qc.find_bit(q).index for inst in qc.data if inst.operation.name != "barrier" for q in inst.qubits}
    return tuple(sorted(used))


def compact(qc, qubits: Sequence[int]):
    """``qc`` on ``qubits`` alone, renumbered as ``Device.region(qubits)`` numbers them (qubit ``i`` is
    ``qubits[i]``), with the same classical registers, parameters and global phase; barriers on other qubits go."""
    from qiskit import QuantumCircuit, QuantumRegister

    new = {q: i for i, q in enumerate(qubits)}
    out = QuantumCircuit(QuantumRegister(len(qubits), "q"), *qc.cregs, name=qc.name, global_phase=qc.global_phase)
    wires = out.qubits
    for inst in qc.data:
        index = [qc.find_bit(q).index for q in inst.qubits]
        if inst.operation.name == "barrier":
            index = [q for q in index if q in new]
            if not index:
                continue
        elif any(q not in new for q in index):
            raise ValueError(f"{inst.operation.name} acts on qubits {index}, outside {list(qubits)}")
        out.append(inst.operation, [wires[new[q]] for q in index], inst.clbits)
    return out


def transpile_measured(module, target, layout: Sequence[int] | None, device: str, optimization_level: int = 1):
    """A circuit module with its trained angles bound, inputs left symbolic, ``measure_all`` (so clbit i is logical
    wire i whatever routing does), transpiled with ``layout`` to ``target``; returns it and the layout. Its global
    phase is set to 0: binding through an expression of every angle is slow and no measurement sees it."""
    layout = list(check_layout(layout, module.n_wires, target.num_qubits, device))
    qc = module.to_qiskit(bind=True)
    qc.measure_all()
    out = transpile_to(target, qc, layout, optimization_level)
    out.global_phase = 0.0
    return out, layout
