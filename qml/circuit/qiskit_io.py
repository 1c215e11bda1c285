"""Conversion between qml circuits and qiskit: ``QuantumCircuit`` both ways, OpenQASM 3 both ways, OpenQASM 2 in.

Wire ``w`` is qiskit qubit ``w`` and gate matrices share qiskit's convention, so nothing is reversed.
Trainable slots become ``ParameterVector("theta")`` and features ``ParameterVector("x")``.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Sequence

import numpy as np

from qml.circuit.circuit import Circuit
from qml.circuit.expr import Expr
from qml.circuit.gates import GATES, gate_def, matrix_np
from qml.circuit.params import ParamRef, const, from_expr, ref_value
from qml.circuit.simplify import drop_identity_gates
from qml.errors import ConversionError


def _values_or_symbols(values, name: str, count: int, what: str, vector_cls):
    """Numbers to bind, checked against ``count``; or a ParameterVector called ``name`` when none are given."""
    if values is None:
        return vector_cls(name, count)
    if len(values) != count:
        raise ConversionError(f"{name} has {len(values)} values, the circuit has {count} {what}")
    return [float(v) for v in values]


def to_qiskit(circuit: Circuit, theta: Sequence[float] | None = None, x: Sequence[float] | None = None, *,
              labels: bool = False, drop_identities: bool = True):
    """A qiskit ``QuantumCircuit`` with the same ops; angles stay symbolic unless ``theta`` / ``x`` are given.
    With ``theta`` given, gates its values make exactly the identity (a pruned ``ry(0)``) are left out unless
    ``drop_identities=False``. ``labels`` labels each gate with its op's index (``"7"``), to find the op again after
    a qiskit pass (every op is kept then)."""
    import qiskit.circuit.library as lib
    from qiskit.circuit import ParameterVector, QuantumCircuit

    bound = theta is not None
    theta = _values_or_symbols(theta, "theta", circuit.n_trainable, "trainable slots", ParameterVector)
    if bound and drop_identities and not labels:
        circuit = drop_identity_gates(circuit, theta)
    qc = QuantumCircuit(circuit.n_wires, name=circuit.name)
    x = _values_or_symbols(x, "x", circuit.n_inputs, "features", ParameterVector)
    for op in circuit.ops:
        gate_cls = getattr(lib, GATES[op.gate].qiskit_class)
        angles = [ref_value(p, theta, x, "qiskit") for p in op.params]
        qc.append(gate_cls(*angles, label=str(len(qc.data))) if labels else gate_cls(*angles), list(op.wires))
    qc.global_phase = circuit.global_phase
    return qc


_QASM3_HEADER = re.compile(r"^// qml: n_trainable=(\d+) n_inputs=(\d+) global_phase=(\S+)$", re.MULTILINE)


def to_qasm3(circuit: Circuit, theta: Sequence[float] | None = None, x: Sequence[float] | None = None, *,
             drop_identities: bool = True) -> str:
    """OpenQASM 3 text; unbound trainable angles and features become ``input float _theta_i_`` / ``_x_i_``
    declarations (slot i, feature i). A comment after the version line records what OpenQASM 3 cannot say: how
    many slots and features the model has (unused ones are not declared) and its global phase, so that
    ``from_qasm3`` gives back the same model. With ``theta`` given, gates that are exactly the identity for it are
    left out (``drop_identities``), as ``to_qiskit`` does. Angle expressions (``qml.Expr``) are written with
    + - * / (integer powers as products); one with functions (sin, exp, ...) is valid OpenQASM 3 but qiskit's
    importer cannot read it, so it gets a warning."""
    from qiskit import qasm3

    unreadable = [f"op #{i} {op.gate}: {p.expr}" for i, op in enumerate(circuit.ops) for p in op.params
                  if p.kind == "expr" and not p.expr.rational()]
    if unreadable:
        warnings.warn(f"{len(unreadable)} angle(s) use functions or non-integer powers, which OpenQASM 3 states but "
                      f"qiskit.qasm3.loads (and so from_qasm3) cannot read back; first: {unreadable[0]}", stacklevel=2)
    text = qasm3.dumps(to_qiskit(circuit, theta, x, drop_identities=drop_identities))
    version, rest = text.split("\n", 1)
    header = (f"// qml: n_trainable={circuit.n_trainable if theta is None else 0} "
              f"n_inputs={circuit.n_inputs if x is None else 0} global_phase={float(circuit.global_phase)!r}")
    return f"{version}\n{header}\n{rest}"


def from_qasm3(text: str, name: str | None = None) -> Circuit:
    """A qml ``Circuit`` from OpenQASM 3 text: ``_x_i_`` (or ``x[i]``) inputs are feature i, ``_theta_i_`` inputs
    slot i, any other parameter a trainable slot. With ``to_qasm3``'s comment the slots, features (used or not)
    and global phase are those of the exported model."""
    from qiskit import qasm3

    try:
        qc = qasm3.loads(text)
    except Exception as exc:  # the parser's own error types vary by version
        raise ConversionError(f"OpenQASM 3 text does not parse: {exc}") from None
    header = _QASM3_HEADER.search(text)
    if header is None:
        return from_qiskit(qc, inputs="x", name=name)
    circuit = from_qiskit(qc, inputs="x", name=name, n_trainable=int(header.group(1)),
                          n_inputs=int(header.group(2)))
    # the exported model's phase; gate bodies qiskit's exporter wrote lost theirs (sxdg as s; h; s), which the
    # import would otherwise add
    circuit.global_phase = float(header.group(3))
    return circuit


def from_qasm2(text: str, name: str | None = None) -> Circuit:
    """A qml ``Circuit`` from OpenQASM 2 text. ``qelib1.inc``'s gates are qiskit's standard gates; a file's own
    ``gate`` definitions are expanded through their bodies as ``from_qiskit`` does (never taken by name). OpenQASM 2
    has no free parameters, so every angle is a constant; final measurements are skipped."""
    from qiskit import qasm2

    try:
        qc = qasm2.loads(text)
    except qasm2.QASM2ParseError as exc:
        raise ConversionError(f"OpenQASM 2 text does not parse: {' '.join(str(exc).split())}") from None
    return from_qiskit(qc, name=name)


def _angle_ref(expr, where: str, params: dict) -> ParamRef:
    """A qiskit angle as a ParamRef: a number, an expression affine in one parameter (the engine's fast path), or
    any other real expression of several parameters (products, sums, elementary functions) as an ``Expr``."""
    from qiskit.circuit import ParameterExpression

    if not isinstance(expr, ParameterExpression) or not expr.parameters:
        try:
            value = float(expr)
        except (TypeError, ValueError) as exc:
            raise ConversionError(f"{where}: angle {expr} is not a real number: {exc}") from None
        if not math.isfinite(value):
            raise ConversionError(f"{where}: angle {value} is not finite")
        return const(value)
    symbols = list(expr.parameters)
    if len(symbols) == 1:
        slope = expr.gradient(symbols[0])
        if not (isinstance(slope, ParameterExpression) and slope.parameters):
            try:
                scale, offset = float(slope), float(expr.bind({symbols[0]: 0.0}))
            except (TypeError, ValueError) as exc:
                raise ConversionError(f"{where}: angle {expr} is not a real expression: {exc}") from None
            kind, index = params[symbols[0]]
            return ParamRef(kind, index, scale, offset)
    leaves = {s.name: (Expr.feature if params[s][0] == "input" else Expr.slot)(params[s][1]) for s in symbols}
    return from_expr(_from_sympy(expr.sympify(), leaves, f"{where}: angle {expr}"))


def _from_sympy(node, leaves: dict[str, Expr], where: str) -> Expr:
    """A sympy expression (qiskit's ``ParameterExpression.sympify()``) as a qml ``Expr``."""
    import sympy

    if node.is_Symbol:
        return leaves[node.name]
    if node.is_number:
        value = complex(node)
        if value.imag != 0 or not math.isfinite(value.real):
            raise ConversionError(f"{where} has the non-real constant {node}")
        return Expr.constant(value.real)
    args = tuple(_from_sympy(a, leaves, where) for a in node.args)
    if isinstance(node, (sympy.Add, sympy.Mul)):
        return Expr("add" if isinstance(node, sympy.Add) else "mul", args)
    if isinstance(node, sympy.Pow):
        return Expr("pow", args)
    functions = {sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.asin: "asin", sympy.acos: "acos",
                 sympy.atan: "atan", sympy.exp: "exp", sympy.log: "log", sympy.Abs: "abs", sympy.sign: "sign"}
    name = functions.get(node.func)
    if name is None or len(args) != 1:
        raise ConversionError(f"{where} uses {node.func.__name__}, which qml angles do not support "
                              f"(supported: +, *, **, {', '.join(functions.values())})")
    return Expr(name, args)


def _indexed(p, name: str) -> tuple[int | None, int]:
    """(i, length) when ``p`` is element i of a ParameterVector called ``name`` (length its size), or a parameter
    called ``name`` (0, 1) or ``_name_i_`` (OpenQASM 3's spelling of ``name[i]``: (i, i + 1)); (None, 0) otherwise."""
    vector = getattr(p, "vector", None)
    if vector is not None:
        return (p.index, len(vector)) if vector.name == name else (None, 0)
    if p.name == name:
        return 0, 1
    match = re.fullmatch(rf"_{re.escape(name)}_(\d+)_", p.name)
    return (int(match.group(1)), int(match.group(1)) + 1) if match else (None, 0)


def _at_least(used: int, given: int | None, what: str) -> int:
    if given is None:
        return used
    if given < used:
        raise ConversionError(f"{what}={given}, but the circuit uses {used}")
    return given


MAX_DEFINITION_DEPTH = 16  # a gate that is not a built-in is expanded through its definition, this deep at most


@functools.cache
def _builtin_classes() -> dict[type, str]:
    """qiskit's standard gate classes that qml has built in, to qml's gate names."""
    import qiskit.circuit.library as lib

    table = {getattr(lib, g.qiskit_class): g.name for g in GATES.values()}
    table.update({lib.U1Gate: "p", lib.CU1Gate: "cp"})  # the same matrices under older names
    return table


def _builtin(op) -> str | None:
    """qml's gate for a qiskit instruction, identified by its class (never by its name: a file may define its own
    ``rzx`` or call a CZ ``CX``); None when qml has none, or when a controlled gate has open controls."""
    name = _builtin_classes().get(getattr(op, "base_class", type(op)))
    if name is None or len(op.params) != GATES[name].num_params:
        return None
    ctrl_state = getattr(op, "ctrl_state", None)
    if ctrl_state is not None and ctrl_state != (1 << op.num_ctrl_qubits) - 1:
        return None
    return name


def _defined_as_builtin(op) -> tuple[str, float] | None:
    """(qml's gate of the same name, a constant phase) when the gate's definition is that gate's operator times
    ``e^{i phase}``: checked at its own angles, or at two random points of its parameters when they are symbols (two
    analytic functions that agree there agree everywhere but for a measure-zero set; the phase must be the same at
    both). This is how a file that defines gates qml has comes back with built-ins, never by name alone: OpenQASM 3
    exports define ``cu3``, ``ryy``, ``sxdg`` themselves, some off by a constant phase the language cannot state
    (qiskit's ``sxdg`` body ``s; h; s`` is e^{i pi/4} SXdg); the phase goes to the circuit's global phase."""
    from qiskit.circuit import ParameterExpression
    from qiskit.quantum_info import Operator

    try:
        g = gate_def(op.name)
    except KeyError:
        return None
    if g.num_qubits != op.num_qubits or g.num_params != len(op.params) or op.definition is None:
        return None
    symbols = {s for v in op.params if isinstance(v, ParameterExpression) for s in v.parameters}
    rng = np.random.default_rng(0)
    phases = []
    for _ in range(2 if symbols else 1):
        values = {s: float(rng.uniform(-3, 3)) for s in symbols}
        try:
            angles = tuple(float(v.bind({s: values[s] for s in v.parameters}) if isinstance(v, ParameterExpression)
                                 else v) for v in op.params)
            definition = op.definition.assign_parameters(values, strict=False) if symbols else op.definition
            defined, builtin = Operator(definition).data, matrix_np(g.name, angles)
        except (TypeError, ValueError):  # complex or non-numeric angles, or a definition qiskit cannot evaluate
            return None
        phase = float(np.angle(np.vdot(builtin, defined)))
        if not np.allclose(defined, np.exp(1j * phase) * builtin, atol=1e-9):
            return None
        phases.append(phase)
    if abs(np.exp(1j * phases[0]) - np.exp(1j * phases[-1])) > 1e-9:
        return None
    return g.name, phases[0]


def _add_phase(circuit: Circuit, phase) -> None:
    try:
        circuit.global_phase = circuit.global_phase + float(phase)
    except TypeError:
        warnings.warn("dropping a parameterized global phase: it does not change any measurement", stacklevel=3)


def _add_gate(circuit: Circuit, op, wires: tuple[int, ...], params: dict, where: str, depth: int) -> None:
    """One qiskit gate: qml's built-in when it is a standard qiskit gate qml has, else its definition, recursively."""
    from qiskit.circuit import Gate
    from qiskit.circuit.library import GlobalPhaseGate

    name = _builtin(op)
    same = (name, 0.0) if name is not None else _defined_as_builtin(op)
    if same is not None:
        circuit.add(same[0], wires, *(_angle_ref(v, where, params) for v in op.params))
        _add_phase(circuit, same[1])
        return
    if getattr(op, "base_class", None) is GlobalPhaseGate:
        _add_phase(circuit, op.params[0])
        return
    if not isinstance(op, Gate):
        raise ConversionError(f"unsupported {where}: not a unitary gate")
    definition = op.definition
    if definition is None:
        raise ConversionError(f"unsupported {where}: not one of qml's gates ({', '.join(sorted(GATES))}) and it has "
                              "no definition to expand")
    if depth >= MAX_DEFINITION_DEPTH:
        raise ConversionError(f"{where}: its definition nests more than {MAX_DEFINITION_DEPTH} levels of gates")
    _add_phase(circuit, definition.global_phase)
    for inner in definition.data:
        inner_where = f"{where} (in its definition: '{inner.operation.name}')"
        if inner.clbits:
            raise ConversionError(f"unsupported {inner_where}: classical bits are not supported")
        inner_wires = tuple(wires[definition.find_bit(q).index] for q in inner.qubits)
        _add_gate(circuit, inner.operation, inner_wires, params, inner_where, depth + 1)


def from_qiskit(qc, inputs: Sequence | str | None = None, name: str | None = None, *,
                n_trainable: int | None = None, n_inputs: int | None = None) -> Circuit:
    """A qml ``Circuit`` from a qiskit ``QuantumCircuit``.

    A gate is identified by its qiskit class, never by its name: qiskit's standard gates that qml has built in
    become those (a controlled gate with open controls does not); every other unitary gate (qiskit's other standard
    gates, composite and user-defined gates, a QASM file's own ``gate`` definitions) is expanded through its
    definition, recursively (``MAX_DEFINITION_DEPTH`` levels), so the circuit is the same operator as qiskit's.

    ``inputs`` says which qiskit parameters are per-sample features, in feature order: a sequence of
    ``Parameter`` (e.g. a ``ParameterVector``) or the name of a ``ParameterVector`` such as ``"x"``, whose
    element ``x[i]`` becomes feature ``i``. Every other parameter
    becomes a trainable slot, in ``qc.parameters`` order, except that ``theta[i]`` (or ``_theta_i_``, as
    OpenQASM 3 spells it) is slot i. ``n_trainable`` / ``n_inputs`` keep at least that many slots / features
    (those the circuit does not use included); fewer than it uses is an error. Barriers and final measurements
    are skipped (qml measures through the module); a gate after a measurement of its qubit is an error.
    """
    from qiskit.circuit import Barrier, Delay, Measure

    n_trainable_given, n_inputs_given = n_trainable, n_inputs
    all_params = list(qc.parameters)
    params: dict = {}
    if isinstance(inputs, str):
        n_inputs = 0
        for p in all_params:
            index, length = _indexed(p, inputs)
            if index is not None:  # x[i] keeps its index even if x[j] is unused
                params[p] = ("input", index)
                n_inputs = max(n_inputs, length)
    else:
        feature_params = list(inputs or [])
        unknown = [p for p in feature_params if p not in set(all_params)]
        if unknown:
            raise ConversionError(f"inputs {[p.name for p in unknown]} are not parameters of the circuit")
        params = {p: ("input", i) for i, p in enumerate(feature_params)}
        n_inputs = len(feature_params)
    trainable = [p for p in all_params if p not in params]
    slots = [_indexed(p, "theta") for p in trainable]
    if trainable and all(index is not None for index, _ in slots):  # theta[i] (or QASM 3's _theta_i_) is slot i
        params.update({p: ("trainable", index) for p, (index, _) in zip(trainable, slots, strict=True)})
        n_trainable = max(length for _, length in slots)
    else:
        params.update({p: ("trainable", i) for i, p in enumerate(trainable)})
        n_trainable = len(trainable)
    n_trainable = _at_least(n_trainable, n_trainable_given, "n_trainable")
    n_inputs = _at_least(n_inputs, n_inputs_given, "n_inputs")
    circuit = Circuit(qc.num_qubits, n_inputs=n_inputs or None, name=name or qc.name)
    for _ in range(n_trainable):
        circuit.new_trainable()
    measured: dict[int, int] = {}  # qubit -> position of its measurement
    for pos, inst in enumerate(qc.data):
        op_name = inst.operation.name
        where = f"qiskit instruction #{pos} '{op_name}'"
        wires = tuple(qc.find_bit(q).index for q in inst.qubits)
        if isinstance(inst.operation, Measure):
            measured.update((w, pos) for w in wires)
            continue
        if isinstance(inst.operation, (Barrier, Delay)):
            continue
        again = [w for w in wires if w in measured]
        if again:
            raise ConversionError(f"unsupported qiskit instruction #{measured[again[0]]} 'measure' on qubit "
                                  f"{again[0]}: mid-circuit measurement ({where} acts on the qubit after it)")
        if inst.clbits or getattr(inst.operation, "condition", None) is not None:
            raise ConversionError(f"unsupported {where}: classical bits or conditions are not supported")
        _add_gate(circuit, inst.operation, wires, params, where, 0)
    _add_phase(circuit, qc.global_phase)
    return circuit
