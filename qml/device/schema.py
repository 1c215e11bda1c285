"""The JSON form of a ``DeviceSnapshot`` (schema ``qml.device-snapshot``, version 1; see noise_models/README.md).

``snapshot_to_json`` writes one row per qubit and per gate instance, so files diff well; ``snapshot_from_dict``
checks every field and raises ``SchemaError`` with what is wrong, which the loader prefixes with the file name.
"""

from __future__ import annotations

import json
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
    coupling = tuple(_qargs(e, n, "coupling_map", size=2) for e in _field(doc, "coupling_map", list))
    gates = []
    for name, gate_rows in _field(doc, "gates", dict).items():
        if not isinstance(gate_rows, list):
            raise SchemaError(f"field 'gates.{name}' must be a list, got {type(gate_rows).__name__}")
        for row in gate_rows:
            where = f"gates.{name}"
            if not isinstance(row, dict):
                raise SchemaError(f"field '{where}' has a row that is not an object: {row!r}")
            gates.append(GateCalibration(name, _qargs(_field(row, "qubits", list, where), n, where),
                                         _number(row, "error", where), _number(row, "duration", where)))
    two_q = _field(doc, "two_qubit_gate", (str, type(None)))
    if two_q is not None and not any(g.gate == two_q for g in gates):
        raise SchemaError(f"field 'two_qubit_gate' is {two_q!r} but 'gates' has no {two_q!r} rows")
    return DeviceSnapshot(
        device=_field(doc, "device", str),
        source_backend=_field(source, "backend", str, "source"),
        source_kind=_field(source, "kind", str, "source"),
        source_backend_version=_field(source, "backend_version", (str, type(None)), "source"),
        runtime_version=_field(source, "qiskit_ibm_runtime", (str, type(None)), "source"),
        calibrated_at=_field(doc, "calibrated_at", (str, type(None))),
        written_at=_field(doc, "written_at", str),
        num_qubits=n,
        dt=_number(doc, "dt"),
        basis_gates=tuple(_strings(_field(doc, "basis_gates", list), "basis_gates")),
        two_qubit_gate=two_q,
        coupling_map=coupling,
        readout_source=_field(doc, "readout_source", str),
        qubits=qubits,
        gates=tuple(sorted(gates, key=lambda g: (g.gate, g.qubits))),
    )


def _field(doc: dict, key: str, types, where: str = "") -> Any:
    name = f"{where}.{key}" if where else key
    if key not in doc:
        raise SchemaError(f"missing field {name!r}")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise SchemaError(f"field {name!r} must be {expected.replace('NoneType', 'null')}, got {value!r}")
    return value


def _number(doc: dict, key: str, where: str = "") -> float | None:
    value = _field(doc, key, (int, float, type(None)), where)
    return None if value is None else float(value)


def _probability(doc: dict, key: str, where: str) -> float:
    value = _number(doc, key, where)
    if value is None or not 0.0 <= value <= 1.0:
        raise SchemaError(f"field '{where}.{key}' must be a probability in [0, 1], got {value!r}")
    return value


def _qubit(row: Any, i: int, n: int) -> QubitCalibration:
    where = f"qubits[{i}]"
    if not isinstance(row, dict):
        raise SchemaError(f"field '{where}' must be an object, got {row!r}")
    if _field(row, "index", int, where) != i:
        raise SchemaError(f"field '{where}.index' must be {i}, got {row['index']!r}")
    return QubitCalibration(i, _number(row, "t1", where), _number(row, "t2", where),
                            _number(row, "frequency", where), _probability(row, "prob_meas1_prep0", where),
                            _probability(row, "prob_meas0_prep1", where), _probability(row, "readout_error", where))


def _qargs(value: Any, n: int, where: str, size: int | None = None) -> tuple[int, ...]:
    ok = isinstance(value, list) and (size is None or len(value) == size) and value
    if not ok or not all(isinstance(q, int) and not isinstance(q, bool) and 0 <= q < n for q in value):
        what = f"{size} qubit indices" if size else "qubit indices"
        raise SchemaError(f"field {where!r} must hold lists of {what} in 0..{n - 1}, got {value!r}")
    return tuple(value)


def _strings(values: list, where: str) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise SchemaError(f"field {where!r} must be a list of strings, got {values!r}")
    return values
