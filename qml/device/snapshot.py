"""``DeviceSnapshot``: one device's calibration (coupling map, gate errors and durations, T1/T2, readout).

A snapshot is plain data, frozen and comparable; the JSON form is in ``qml.device.schema`` and the shipped
files in ``noise_models/``. Times are in seconds, frequencies in hertz, errors are probabilities.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from qml.errors import NoiseError

SCHEMA = "qml.device-snapshot"
VERSION = 1
TWO_QUBIT_GATES = ("ecr", "cz", "cx")  # the native entanglers of IBM devices, preferred in this order on ties


@dataclass(frozen=True)
class GateCalibration:
    """Error probability and duration (s) of one gate on one qubit tuple; ``None`` where not calibrated."""

    gate: str
    qubits: tuple[int, ...]
    error: float | None
    duration: float | None


@dataclass(frozen=True)
class QubitCalibration:
    """Coherence times (s), frequency (Hz) and readout probabilities of one qubit."""

    index: int
    t1: float | None
    t2: float | None
    frequency: float | None
    prob_meas1_prep0: float
    prob_meas0_prep1: float
    readout_error: float


@dataclass(frozen=True)
class DeviceSnapshot:
    """A device's calibration at one moment, read from a qiskit ``BackendV2`` or a snapshot file.

    ``coupling_map`` holds directed edges as the target lists them; ``edges`` gives the undirected pairs.
    ``readout_source`` says where the readout probabilities came from: ``"properties"`` (measured confusion),
    ``"measure"`` (the measure instruction's error, taken as symmetric), ``"none"`` (zeros) or ``"mixed"``.
    """

    device: str
    source_backend: str
    source_kind: str
    source_backend_version: str | None
    runtime_version: str | None
    calibrated_at: str | None
    written_at: str
    num_qubits: int
    dt: float | None
    basis_gates: tuple[str, ...]
    two_qubit_gate: str | None
    coupling_map: tuple[tuple[int, int], ...]
    readout_source: str
    qubits: tuple[QubitCalibration, ...]
    gates: tuple[GateCalibration, ...]

    # -- lookups ---------------------------------------------------------------------------------------
    @cached_property
    def _gate_index(self) -> dict[tuple[str, tuple[int, ...]], GateCalibration]:
        return {(g.gate, g.qubits): g for g in self.gates}

    def gate(self, gate: str, qubits: int | Sequence[int]) -> GateCalibration:
        """The calibration of ``gate`` on ``qubits``; a ``NoiseError`` if the device has no such gate there."""
        key = (gate, (int(qubits),) if isinstance(qubits, int | np.integer) else tuple(int(q) for q in qubits))
        try:
            return self._gate_index[key]
        except KeyError:
            names = sorted({g.gate for g in self.gates})
            if gate not in names:
                raise NoiseError(f"{self.device} has no gate {gate!r}; it has {', '.join(names)}") from None
            raise NoiseError(f"{self.device} has no {gate} on qubits {key[1]}") from None

    def gate_error(self, gate: str, qubits: int | Sequence[int]) -> float | None:
        return self.gate(gate, qubits).error

    def gate_duration(self, gate: str, qubits: int | Sequence[int]) -> float | None:
        return self.gate(gate, qubits).duration

    def qubit(self, index: int) -> QubitCalibration:
        if not 0 <= index < self.num_qubits:
            raise NoiseError(f"{self.device} has qubits 0..{self.num_qubits - 1}, not {index}")
        return self.qubits[index]

    def readout_confusion(self, qubit: int) -> np.ndarray:
        """2x2 matrix P(measured | prepared): row = prepared state, column = measured outcome."""
        q = self.qubit(qubit)
        return np.array([[1.0 - q.prob_meas1_prep0, q.prob_meas1_prep0],
                         [q.prob_meas0_prep1, 1.0 - q.prob_meas0_prep1]])

    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Undirected coupling pairs ``(a, b)`` with ``a < b``, sorted."""
        return tuple(sorted({(min(a, b), max(a, b)) for a, b in self.coupling_map}))

    def restrict(self, qubits: Sequence[int]) -> DeviceSnapshot:
        """The calibration of ``qubits`` alone, renumbered: qubit ``i`` here is ``qubits[i]`` there; gates and
        couplings among them are kept, every other qubit and gate dropped. A circuit that touches only these
        qubits, renumbered the same way, sees exactly the errors it sees on the whole device (each error of a
        snapshot belongs to one gate on its qubits or one qubit's readout)."""
        picked = tuple(int(q) for q in qubits)
        if len(set(picked)) != len(picked) or not picked or not all(0 <= q < self.num_qubits for q in picked):
            raise NoiseError(f"{self.device}: cannot restrict to qubits {list(picked)} (distinct qubits of "
                             f"0..{self.num_qubits - 1} expected)")
        new = {q: i for i, q in enumerate(picked)}
        return replace(
            self, device=f"{self.device}[{','.join(map(str, picked))}]", num_qubits=len(picked),
            coupling_map=tuple((new[a], new[b]) for a, b in self.coupling_map if a in new and b in new),
            qubits=tuple(replace(self.qubits[q], index=i) for i, q in enumerate(picked)),
            gates=tuple(replace(g, qubits=tuple(new[q] for q in g.qubits)) for g in self.gates
                        if all(q in new for q in g.qubits)))

    # -- summaries -------------------------------------------------------------------------------------
    def one_qubit_gates(self) -> tuple[GateCalibration, ...]:
        """Calibrated physical 1-qubit basis gates (virtual ones such as ``rz``, of zero duration, left out)."""
        return tuple(g for g in self.gates if g.gate in self.basis_gates and len(g.qubits) == 1
                     and g.error is not None and g.duration != 0.0)

    def median_1q_error(self) -> float | None:
        return _median(g.error for g in self.one_qubit_gates())

    def median_2q_error(self) -> float | None:
        return _median(g.error for g in self.gates if g.gate == self.two_qubit_gate)

    def median_readout_error(self) -> float | None:
        return _median(q.readout_error for q in self.qubits)

    def median_t1(self) -> float | None:
        return _median(q.t1 for q in self.qubits)

    def median_t2(self) -> float | None:
        return _median(q.t2 for q in self.qubits)


def _median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None
