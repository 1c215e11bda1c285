"""Read a ``DeviceSnapshot`` from any qiskit ``BackendV2``: a fake of ``qiskit_ibm_runtime``, a live device, Aer.

Gate errors and durations come from the backend's ``Target``, T1/T2 from ``qubit_properties``. Readout
confusion comes from ``backend.properties()`` where the backend has it (IBM fakes and live IBM devices);
otherwise each qubit's measure error is taken as a symmetric readout error.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from typing import Any

from qml.device.names import device_name
from qml.device.snapshot import TWO_QUBIT_GATES, DeviceSnapshot, GateCalibration, QubitCalibration
from qml.errors import NoiseError

DIGITS = 6  # significant digits kept for every float


def snapshot_from_backend(backend, name: str | None = None) -> DeviceSnapshot:
    """Snapshot ``backend``'s calibration; ``name`` overrides the device name derived from ``backend.name``."""
    from qiskit.circuit import ControlFlowOp, Gate

    target = getattr(backend, "target", None)
    if target is None or not hasattr(backend, "num_qubits"):
        raise NoiseError(f"expected a qiskit BackendV2 with a target, got {type(backend).__name__}")
    n = int(backend.num_qubits)
    ops = {op_name: target.operation_from_name(op_name) for op_name in target.operation_names}
    basis = sorted(op_name for op_name, op in ops.items() if isinstance(op, Gate))
    gates = []
    for op_name, op in ops.items():
        if isinstance(op, (type, ControlFlowOp)):
            continue  # variadic and control-flow instructions carry no per-qubit calibration
        for qargs, props in target[op_name].items():
            if qargs is None or props is None:
                continue
            gates.append(GateCalibration(op_name, tuple(int(q) for q in qargs),
                                         _round(props.error), _round(props.duration)))
    gates.sort(key=lambda g: (g.gate, g.qubits))
    two_q = _two_qubit_gate(gates, basis)
    coupling = sorted({g.qubits for g in gates if g.gate == two_q}) if two_q else []
    props = _properties(backend)
    measure = {g.qubits[0]: g.error for g in gates if g.gate == "measure"}
    qubits, sources = [], set()
    for q, t1, t2, freq in _coherence(backend, props, n):
        readout, source = _readout(props, q, measure.get(q))
        qubits.append(QubitCalibration(q, _round(t1), _round(t2), _round(freq), *readout))
        sources.add(source)
    kind = _kind(backend)
    return DeviceSnapshot(
        device=name or (device_name(backend.name) if kind == "fake" else backend.name),
        source_backend=backend.name,
        source_kind=kind,
        source_backend_version=_text(getattr(backend, "backend_version", None)),
        runtime_version=_version("qiskit-ibm-runtime"),
        calibrated_at=_calibration_date(props),
        written_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        num_qubits=n,
        dt=_round(target.dt),
        basis_gates=tuple(basis),
        two_qubit_gate=two_q,
        coupling_map=tuple(coupling),
        readout_source=sources.pop() if len(sources) == 1 else "mixed",
        qubits=tuple(qubits),
        gates=tuple(gates),
    )


def _round(value: Any) -> float | None:
    return None if value is None else float(f"{float(value):.{DIGITS}g}")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _kind(backend) -> str:
    """``fake`` (qiskit_ibm_runtime.fake_provider), ``live`` (an IBM runtime backend) or ``other``."""
    module = type(backend).__module__
    if module.startswith("qiskit_ibm_runtime.fake_provider"):
        return "fake"
    return "live" if module.startswith("qiskit_ibm_runtime") else "other"


def _two_qubit_gate(gates: list[GateCalibration], basis: list[str]) -> str | None:
    """The 2-qubit basis gate on the most pairs; ties go to ecr, then cz, then cx, then by name."""
    counts: dict[str, int] = {}
    for g in gates:
        if len(g.qubits) == 2 and g.gate in basis:
            counts[g.gate] = counts.get(g.gate, 0) + 1
    if not counts:
        return None
    rank = {name: i for i, name in enumerate(TWO_QUBIT_GATES)}
    return min(counts, key=lambda name: (-counts[name], rank.get(name, len(rank)), name))


def _properties(backend):
    """``backend.properties()`` where the backend offers it (IBM backends); ``None`` otherwise or on failure."""
    method = getattr(backend, "properties", None)
    if not callable(method):
        return None
    try:
        return method()
    except Exception:  # a backend may have no calibration to give; the target still has the essentials
        return None


def _qubit_property(props, q: int, key: str) -> float | None:
    if props is None:
        return None
    try:
        value = props.qubit_property(q).get(key)
    except Exception:  # BackendPropertyError for a qubit without calibration, or a foreign properties object
        return None
    return None if value is None else float(value[0])


def _coherence(backend, props, n: int):
    """``(qubit, t1, t2, frequency)`` in seconds and hertz, from ``qubit_properties`` else from properties."""
    try:
        qps = backend.qubit_properties(list(range(n)))
    except Exception:  # BackendV2 raises NotImplementedError when the target has no qubit properties
        qps = [None] * n
    for q, qp in enumerate(qps):
        t1 = getattr(qp, "t1", None)
        t2 = getattr(qp, "t2", None)
        freq = getattr(qp, "frequency", None)
        if t1 is None:
            t1 = _qubit_property(props, q, "T1")  # BackendProperties converts to seconds
        if t2 is None:
            t2 = _qubit_property(props, q, "T2")
        yield q, t1, t2, freq


def _readout(props, q: int, measure_error: float | None) -> tuple[tuple[float, float, float], str]:
    """``((P(1|0), P(0|1), readout error), source)`` for qubit ``q``."""
    p10 = _qubit_property(props, q, "prob_meas1_prep0")
    p01 = _qubit_property(props, q, "prob_meas0_prep1")
    if p10 is not None and p01 is not None:
        error = _qubit_property(props, q, "readout_error")
        return (_round(p10), _round(p01), _round((p10 + p01) / 2 if error is None else error)), "properties"
    if measure_error is not None:
        e = _round(measure_error)
        return (e, e, e), "measure"
    return (0.0, 0.0, 0.0), "none"


def _calibration_date(props) -> str | None:
    date = getattr(props, "last_update_date", None)
    if isinstance(date, dt.datetime):
        return date.isoformat()
    return None if date is None else str(date)
