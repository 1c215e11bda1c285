"""The JSON form of a ``DeviceSnapshot`` (schema ``qml.device-snapshot``, version 1; see noise_models/README.md).

``snapshot_to_json`` writes one row per qubit and per gate instance, so files diff well; ``snapshot_from_dict``
checks every field, types and values (probabilities in [0, 1], finite non-negative times, qubits in range, a coupling
map of calibrated edges), so a bad file fails on load rather than inside Aer. It raises ``SchemaError`` with the
field, the gate and qubits and the value, which the loader prefixes with the file name.
"""

from __future__ import annotations

import json
import math
from typing import Any

from qml.device.snapshot import SCHEMA, VERSION, DeviceSnapshot, GateCalibration, QubitCalibration


class SchemaError(ValueError):
    """A snapshot document does not follow the schema; the message says which field and why."""


def snapshot_to_dict(snap: DeviceSnapshot) -> dict[str, Any]:
    gates: dict[str, list[dict[str, Any]]] = {}
    for g in snap.gates:
        gates.setdefault(g.gate, []).append({"qubits": list(g.qubits), "error": g.error, "duration": g.duration})
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "device": snap.device,
        "source": {"backend": snap.source_backend, "kind": snap.source_kind,
                   "backend_version": snap.source_backend_version, "qiskit_ibm_runtime": snap.runtime_version},
        "calibrated_at": snap.calibrated_at,
        "written_at": snap.written_at,
        "num_qubits": snap.num_qubits,
        "dt": snap.dt,
        "basis_gates": list(snap.basis_gates),
        "two_qubit_gate": snap.two_qubit_gate,
        "coupling_map": [list(e) for e in snap.coupling_map],
        "readout_source": snap.readout_source,
        "qubits": [{"index": q.index, "t1": q.t1, "t2": q.t2, "frequency": q.frequency,
                    "prob_meas1_prep0": q.prob_meas1_prep0, "prob_meas0_prep1": q.prob_meas0_prep1,
                    "readout_error": q.readout_error} for q in snap.qubits],
        "gates": gates,
    }


def snapshot_to_json(snap: DeviceSnapshot) -> str:
    """Indented JSON with one line per qubit and per gate instance."""
    def rows(items: list, indent: str) -> str:
        if not items:
            return "[]"
        return "[\n" + ",\n".join(f"{indent}  {json.dumps(r)}" for r in items) + f"\n{indent}]"

    doc = snapshot_to_dict(snap)
    body = []
    for key, value in doc.items():
        if key == "qubits":
            text = rows(value, "  ")
        elif key == "gates":
            inner = ",\n".join(f"    {json.dumps(name)}: {rows(r, '    ')}" for name, r in value.items())
            text = "{\n" + inner + "\n  }" if inner else "{}"
        else:
            text = json.dumps(value)
        body.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(body) + "\n}\n"


def snapshot_from_dict(doc: Any) -> DeviceSnapshot:
    """Check a parsed document against the schema and build the snapshot."""
    if not isinstance(doc, dict):
        raise SchemaError(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("schema") != SCHEMA:
        raise SchemaError(f"not a qml device snapshot (\"schema\" is {doc.get('schema')!r}, expected {SCHEMA!r})")
    version = doc.get("version")
    if version != VERSION:
        hint = "; a newer qml wrote it, upgrade qml" if isinstance(version, int) and version > VERSION else ""
        raise SchemaError(f"snapshot version {version!r} is not supported (this qml reads version {VERSION}){hint}")
    source = _field(doc, "source", dict)
    n = _field(doc, "num_qubits", int)
    if n < 1:
        raise SchemaError(f"field 'num_qubits' must be positive, got {n}")
    qubits = tuple(_qubit(row, i, n) for i, row in enumerate(_field(doc, "qubits", list)))
    if len(qubits) != n:
        raise SchemaError(f"field 'qubits' has {len(qubits)} rows for {n} qubits")
    gates = _gates(_field(doc, "gates", dict), n)
    two_q = _field(doc, "two_qubit_gate", (str, type(None)))
    if two_q is not None and not any(g.gate == two_q for g in gates):
        raise SchemaError(f"field 'two_qubit_gate' is {two_q!r} but 'gates' has no {two_q!r} rows")
    coupling = _coupling(_field(doc, "coupling_map", list), n, two_q, {(g.gate, g.qubits) for g in gates})
    return DeviceSnapshot(
        device=_field(doc, "device", str),
        source_backend=_field(source, "backend", str, "source"),
        source_kind=_field(source, "kind", str, "source"),
        source_backend_version=_field(source, "backend_version", (str, type(None)), "source"),
        runtime_version=_field(source, "qiskit_ibm_runtime", (str, type(None)), "source"),
        calibrated_at=_field(doc, "calibrated_at", (str, type(None))),
        written_at=_field(doc, "written_at", str),
        num_qubits=n,
        dt=_time(doc, "dt", "", positive=True),
        basis_gates=tuple(_strings(_field(doc, "basis_gates", list), "basis_gates")),
        two_qubit_gate=two_q,
        coupling_map=coupling,
        readout_source=_field(doc, "readout_source", str),
        qubits=qubits,
        gates=tuple(sorted(gates, key=lambda g: (g.gate, g.qubits))),
    )


def _field(doc: dict, key: str, types, where: str = "") -> Any:
    name = _path(where, key)
    if key not in doc:
        raise SchemaError(f"missing field {name!r}")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise SchemaError(f"field {name!r} must be {expected.replace('NoneType', 'null')}, got {value!r}")
    return value


def _number(doc: dict, key: str, where: str = "") -> float | None:
    value = _field(doc, key, (int, float, type(None)), where)
    try:
        return None if value is None else float(value)
    except OverflowError:
        raise SchemaError(f"field {_path(where, key)!r} is too large a number") from None


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _show(value: float | None) -> str:
    """A value as the JSON file spells it (Python's json reads and writes NaN and Infinity)."""
    if value is not None and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return repr(value)


def _probability(doc: dict, key: str, where: str, about: str = "", optional: bool = False) -> float | None:
    value = _number(doc, key, where)
    if (value is None and not optional) or (value is not None and not 0.0 <= value <= 1.0):  # NaN fails too
        raise SchemaError(f"field {_path(where, key)!r}{about} must be a probability in [0, 1], got {_show(value)}")
    return value


def _time(doc: dict, key: str, where: str, about: str = "", positive: bool = False) -> float | None:
    """A time in seconds or null: finite, and positive (T1, T2, dt) or at least zero (gate durations)."""
    value = _number(doc, key, where)
    if value is not None and not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        kind = "a positive time" if positive else "a time >= 0"
        raise SchemaError(f"field {_path(where, key)!r}{about} must be {kind} in seconds or null, got {_show(value)}")
    return value


def _qubit(row: Any, i: int, n: int) -> QubitCalibration:
    where = f"qubits[{i}]"
    if not isinstance(row, dict):
        raise SchemaError(f"field '{where}' must be an object, got {row!r}")
    if _field(row, "index", int, where) != i:
        raise SchemaError(f"field '{where}.index' must be {i}, got {row['index']!r}")
    frequency = _number(row, "frequency", where)
    if frequency is not None and not (math.isfinite(frequency) and frequency >= 0):
        raise SchemaError(f"field '{where}.frequency' must be >= 0 Hz or null, got {_show(frequency)}")
    return QubitCalibration(i, _time(row, "t1", where, positive=True), _time(row, "t2", where, positive=True),
                            frequency, _probability(row, "prob_meas1_prep0", where),
                            _probability(row, "prob_meas0_prep1", where), _probability(row, "readout_error", where))


def _gates(table: dict, n: int) -> list[GateCalibration]:
    """Every row of the ``gates`` table; a gate on the same qubits twice is an error, since only one would count."""
    if not table:
        raise SchemaError("field 'gates' is empty; a snapshot needs at least one calibrated gate")
    gates: dict[tuple[str, tuple[int, ...]], str] = {}
    out = []
    for name, rows in table.items():
        if not isinstance(rows, list) or not rows:
            got = "no rows" if isinstance(rows, list) else type(rows).__name__
            raise SchemaError(f"field 'gates.{name}' must be a non-empty list of rows, got {got}")
        for i, row in enumerate(rows):
            where = f"gates.{name}[{i}]"
            if not isinstance(row, dict):
                raise SchemaError(f"field '{where}' must be an object, got {row!r}")
            qubits = _qargs(_field(row, "qubits", list, where), n, f"{where}.qubits")
            about = f" ({name} on qubit{'s' if len(qubits) > 1 else ''} {','.join(map(str, qubits))})"
            if (name, qubits) in gates:
                raise SchemaError(f"field '{where}'{about} repeats the row {gates[name, qubits]}")
            gates[name, qubits] = where
            out.append(GateCalibration(name, qubits, _probability(row, "error", where, about, optional=True),
                                       _time(row, "duration", where, about)))
    return out


def _coupling(edges: list, n: int, two_q: str | None, calibrated: set) -> tuple[tuple[int, ...], ...]:
    """The directed edges; each must be a calibrated instance of the native 2-qubit gate."""
    out = []
    for i, value in enumerate(edges):
        edge = _qargs(value, n, f"coupling_map[{i}]", size=2)
        if (two_q, edge) not in calibrated:
            problem = "'two_qubit_gate' is null" if two_q is None else f"'gates.{two_q}' has no row on these qubits"
            raise SchemaError(f"field 'coupling_map[{i}]' is {list(edge)} but {problem}")
        out.append(edge)
    return tuple(out)


def _qargs(value: Any, n: int, where: str, size: int | None = None) -> tuple[int, ...]:
    ints = isinstance(value, list) and all(isinstance(q, int) and not isinstance(q, bool) for q in value)
    if not (ints and value and (size is None or len(value) == size) and len(set(value)) == len(value)
            and all(0 <= q < n for q in value)):
        what = f"{size} distinct qubit indices" if size else "a list of distinct qubit indices"
        raise SchemaError(f"field {where!r} must be {what} in 0..{n - 1}, got {value!r}")
    return tuple(value)


def _strings(values: list, where: str) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise SchemaError(f"field {where!r} must be a list of strings, got {values!r}")
    return values
