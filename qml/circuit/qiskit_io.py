"""Conversion between qml circuits and qiskit: ``QuantumCircuit`` both ways and OpenQASM 3 export.

Wire ``w`` is qiskit qubit ``w`` and gate matrices share qiskit's convention, so nothing is reversed.
Trainable slots become ``ParameterVector("theta")`` and features ``ParameterVector("x")``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from qml.circuit.circuit import Circuit
from qml.circuit.gates import GATES, gate_def
from qml.circuit.params import ParamRef
from qml.errors import ConversionError

_SKIPPED = {"barrier", "delay"}  # final measurements are skipped too; mid-circuit ones are errors


def _angle(p: ParamRef, theta, x):
    if p.kind == "const":
        return p.offset
    source = theta[p.index] if p.kind == "trainable" else x[p.index]
    if isinstance(source, (float, np.floating)):
        return p.scale * float(source) + p.offset
    expr = source
    if p.scale != 1.0:
        expr = p.scale * expr
    if p.offset != 0.0:
        expr = expr + p.offset
    return expr


def _values_or_symbols(values, name: str, count: int, what: str, vector_cls):
    """Numbers to bind, checked against ``count``; or a ParameterVector called ``name`` when none are given."""
    if values is None:
        return vector_cls(name, count)
    if len(values) != count:
        raise ConversionError(f"{name} has {len(values)} values, the circuit has {count} {what}")
    return [float(v) for v in values]


def to_qiskit(circuit: Circuit, theta: Sequence[float] | None = None, x: Sequence[float] | None = None, *,
              labels: bool = False):
    """A qiskit ``QuantumCircuit`` with the same ops; angles stay symbolic unless ``theta`` / ``x`` are given.
    ``labels`` labels each gate with its op's index (``"7"``), to find the op again after a qiskit pass."""
    import qiskit.circuit.library as lib
    from qiskit.circuit import ParameterVector, QuantumCircuit

    qc = QuantumCircuit(circuit.n_wires, name=circuit.name)
    theta = _values_or_symbols(theta, "theta", circuit.n_trainable, "trainable slots", ParameterVector)
    x = _values_or_symbols(x, "x", circuit.n_inputs, "features", ParameterVector)
    for op in circuit.ops:
        gate_cls = getattr(lib, GATES[op.gate].qiskit_class)
        angles = [_angle(p, theta, x) for p in op.params]
        qc.append(gate_cls(*angles, label=str(len(qc.data))) if labels else gate_cls(*angles), list(op.wires))
    qc.global_phase = circuit.global_phase
    return qc


def to_qasm3(circuit: Circuit, theta: Sequence[float] | None = None, x: Sequence[float] | None = None) -> str:
    """OpenQASM 3 text; unbound trainable angles and features become ``input float`` declarations."""
    from qiskit import qasm3

    return qasm3.dumps(to_qiskit(circuit, theta, x))


def _linear(expr, where: str, params: dict) -> ParamRef:
    """A qiskit angle (number or expression linear in one parameter) as a ParamRef."""
    from qiskit.circuit import ParameterExpression

    if not isinstance(expr, ParameterExpression):
        value = float(expr)
        if not math.isfinite(value):
            raise ConversionError(f"{where}: angle {value} is not finite")
        return ParamRef("const", 0, 0.0, value)
    symbols = list(expr.parameters)
    if not symbols:
        return ParamRef("const", 0, 0.0, float(expr))
    if len(symbols) > 1:
        names = ", ".join(sorted(s.name for s in symbols))
        raise ConversionError(f"{where}: angle {expr} depends on several parameters ({names}); "
                              "qml angles are linear in one parameter")
    sym = symbols[0]
    slope = expr.gradient(sym)
    if isinstance(slope, ParameterExpression) and slope.parameters:
        raise ConversionError(f"{where}: angle {expr} is not linear in {sym.name}")
    try:
        scale = float(slope)
        offset = float(expr.bind({sym: 0.0}))
    except (TypeError, ValueError) as exc:
        raise ConversionError(f"{where}: angle {expr} is not a real linear expression: {exc}") from None
    kind, index = params[sym]
    return ParamRef(kind, index, scale, offset)


def from_qiskit(qc, inputs: Sequence | str | None = None, name: str | None = None) -> Circuit:
    """A qml ``Circuit`` from a qiskit ``QuantumCircuit`` of supported gates.

    ``inputs`` says which qiskit parameters are per-sample features, in feature order: a sequence of
    ``Parameter`` (e.g. a ``ParameterVector``) or the name of a ``ParameterVector`` such as ``"x"``, whose
    element ``x[i]`` becomes feature ``i``. Every other parameter
    becomes a trainable slot, in ``qc.parameters`` order. Barriers and final measurements are skipped
    (qml measures through the module); a gate after a measurement of its qubit is an error.
    """
    all_params = list(qc.parameters)
    params: dict = {}
    if isinstance(inputs, str):
        n_inputs = 0
        for p in all_params:
            vector = getattr(p, "vector", None)
            if vector is not None and vector.name == inputs:  # x[i] keeps its index even if x[j] is unused
                params[p] = ("input", p.index)
                n_inputs = max(n_inputs, len(vector))
            elif p.name == inputs:
                params[p] = ("input", 0)
                n_inputs = max(n_inputs, 1)
    else:
        feature_params = list(inputs or [])
        unknown = [p for p in feature_params if p not in set(all_params)]
        if unknown:
            raise ConversionError(f"inputs {[p.name for p in unknown]} are not parameters of the circuit")
        params = {p: ("input", i) for i, p in enumerate(feature_params)}
        n_inputs = len(feature_params)
    trainable = [p for p in all_params if p not in params]
    params.update({p: ("trainable", i) for i, p in enumerate(trainable)})
    circuit = Circuit(qc.num_qubits, n_inputs=n_inputs or None, name=name or qc.name)
    for _ in trainable:
        circuit.new_trainable()
    measured: dict[int, int] = {}  # qubit -> position of its measurement
    for pos, inst in enumerate(qc.data):
        op_name = inst.operation.name
        where = f"qiskit instruction #{pos} '{op_name}'"
        wires = tuple(qc.find_bit(q).index for q in inst.qubits)
        if op_name == "measure":
            measured.update((w, pos) for w in wires)
            continue
        if op_name in _SKIPPED:
            continue
        again = [w for w in wires if w in measured]
        if again:
            raise ConversionError(f"unsupported qiskit instruction #{measured[again[0]]} 'measure' on qubit "
                                  f"{again[0]}: mid-circuit measurement ({where} acts on the qubit after it)")
        if inst.clbits or getattr(inst.operation, "condition", None) is not None:
            raise ConversionError(f"unsupported {where}: classical bits or conditions are not supported")
        try:
            g = gate_def(op_name)
        except KeyError:
            raise ConversionError(f"unsupported {where}; supported gates: {', '.join(sorted(GATES))}") from None
        refs = tuple(_linear(v, where, params) for v in inst.operation.params)
        if len(refs) != g.num_params:
            raise ConversionError(f"{where}: expected {g.num_params} angles, got {len(refs)}")
        circuit.add(g.name, wires, *refs)
    phase = qc.global_phase
    try:
        circuit.global_phase = float(phase)
    except TypeError:
        warnings.warn("dropping a parameterized global phase: it does not change any measurement", stacklevel=2)
    return circuit
