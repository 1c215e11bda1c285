"""The circuit IR: an ordered list of ops on wires, each angle tied to a trainable slot, a feature or a constant.

A ``Circuit`` is plain data; ``qml.QuantumModule`` turns it into a ``torch.nn.Module``. Builders validate
as ops are added, so a mistake is reported at the line that made it, naming the op.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qml.circuit.expr import Expr
from qml.circuit.gates import ALIASES, GATES, GateDef, gate_def
from qml.circuit.params import Input, ParamLike, ParamRef, Trainable, const, from_expr
from qml.errors import CircuitError, did_you_mean


@dataclass(frozen=True)
class Op:
    """One gate application: canonical gate name, wires in the gate's own order, one ParamRef per angle."""

    gate: str
    wires: tuple[int, ...]
    params: tuple[ParamRef, ...] = ()

    @property
    def definition(self) -> GateDef:
        return GATES[self.gate]

    @property
    def is_batched(self) -> bool:
        """True when an angle depends on the input features, so the matrix differs per sample."""
        return any(p.kind == "input" or (p.kind == "expr" and p.expr.uses_features) for p in self.params)

    def __str__(self) -> str:
        return f"{self.gate}{list(self.wires)}"


def unknown_gate_message(name: str) -> str:
    known = sorted(GATES) + sorted(ALIASES)
    hint = did_you_mean(name.lower(), known)
    return f"unknown gate {name!r}{hint} (known: {', '.join(sorted(GATES))})"


class Circuit:
    """A parameterized circuit on ``n_wires`` qubits (qiskit's order: wire 0 is the least significant bit).

    Angles passed to a gate may be ``None`` (a new trainable slot), a number (a constant), ``qml.Input(i)``
    (feature ``i`` of each sample), or ``qml.Trainable(...)`` (a new or shared trainable slot).
    """

    def __init__(self, n_wires: int, n_inputs: int | None = None, name: str = "circuit") -> None:
        if not isinstance(n_wires, int) or isinstance(n_wires, bool) or n_wires < 1:
            raise CircuitError(f"n_wires must be a positive integer, got {n_wires!r}")
        if n_inputs is not None and (not isinstance(n_inputs, int) or n_inputs < 0):
            raise CircuitError(f"n_inputs must be a non-negative integer, got {n_inputs!r}")
        self.n_wires = n_wires
        self.name = name
        self.ops: list[Op] = []
        self.global_phase = 0.0
        self.trainable_init: list[float | None] = []
        self._n_inputs = n_inputs

    # -- sizes -------------------------------------------------------------------------------------
    @property
    def n_trainable(self) -> int:
        return len(self.trainable_init)

    @property
    def n_inputs(self) -> int:
        """Features each sample must have: the declared count, or one past the highest feature used."""
        if self._n_inputs is not None:
            return self._n_inputs
        used = [i for op in self.ops for p in op.params for i in _features(p)]
        return max(used) + 1 if used else 0

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self):
        return iter(self.ops)

    def __repr__(self) -> str:
        return (f"Circuit({self.name!r}, n_wires={self.n_wires}, ops={len(self.ops)}, "
                f"trainable={self.n_trainable}, inputs={self.n_inputs})")

    def count_ops(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.gate] = counts.get(op.gate, 0) + 1
        return counts

    def draw(self, output: str = "text", theta: Sequence[float] | None = None, x: Sequence[float] | None = None,
             **kwargs):
        """The circuit drawn by qiskit's drawers (``output``: ``"text"``, ``"mpl"`` for a matplotlib figure, or
        ``"latex_source"``), angles symbolic (``theta[i]``, ``x[j]``) unless ``theta`` / ``x`` are given; other
        keyword arguments go to ``QuantumCircuit.draw`` (``fold``, ``style``, ``filename``, ...)."""
        from qml.circuit.qiskit_io import to_qiskit

        if output not in ("text", "mpl", "latex_source"):
            raise CircuitError(f"draw output must be text, mpl or latex_source, got {output!r}")
        return to_qiskit(self, theta, x, drop_identities=False).draw(output=output, **kwargs)

    # -- building ----------------------------------------------------------------------------------
    def new_trainable(self, init: float | None = None) -> int:
        """Allocate a trainable slot and return its index."""
        self.trainable_init.append(None if init is None else float(init))
        return len(self.trainable_init) - 1

    def add(self, gate: str, wires: int | Sequence[int], *params: ParamLike) -> Circuit:
        """Append ``gate`` on ``wires``; missing angles become new trainable slots. Returns self."""
        where = f"op #{len(self.ops)} {gate}"
        if not isinstance(gate, str):
            raise CircuitError(f"op #{len(self.ops)}: gate name must be a string, got {gate!r}")
        try:
            g = gate_def(gate)
        except KeyError:
            raise CircuitError(f"op #{len(self.ops)}: {unknown_gate_message(gate)}") from None
        where = f"op #{len(self.ops)} {g.name}"
        wires_t = self._check_wires(where, g, wires)
        if len(params) > g.num_params:
            raise CircuitError(f"{where}: takes {g.num_params} angle(s) {list(g.param_names)}, got {len(params)}")
        refs = tuple(self._resolve(where, p) for p in params)
        refs += tuple(self._resolve(where, None) for _ in range(g.num_params - len(refs)))
        self.ops.append(Op(g.name, wires_t, refs))
        return self

    def append(self, op: Op) -> Circuit:
        """Append an already-resolved op (validated like ``add``)."""
        return self.add(op.gate, op.wires, *op.params)

    def layer(self, gate: str, wires: Iterable[int] | None = None) -> Circuit:
        """One single-qubit ``gate`` on each of ``wires`` (default: all), each with its own trainable angles."""
        for w in range(self.n_wires) if wires is None else wires:
            self.add(gate, w)
        return self

    def ring(self, gate: str, wires: Sequence[int] | None = None) -> Circuit:
        """Two-qubit ``gate`` on (w[i], w[i+1]) around a ring of ``wires`` (default: all); a pair for 2 wires."""
        ws = list(range(self.n_wires)) if wires is None else list(wires)
        if len(ws) < 2:
            raise CircuitError(f"ring of {gate} needs at least 2 wires, got {ws}")
        pairs = [(ws[0], ws[1])] if len(ws) == 2 else [(ws[i], ws[(i + 1) % len(ws)]) for i in range(len(ws))]
        for a, b in pairs:
            self.add(gate, (a, b))
        return self

    def encode(self, name: str, wires: Sequence[int] | None = None, first_feature: int = 0) -> Circuit:
        """Append a named input encoder (see ``qml.circuit.encoders``)."""
        from qml.circuit.encoders import encoder_ops

        for gate, wire, feature in encoder_ops(name, self.n_wires if wires is None else len(wires)):
            w = wire if wires is None else wires[wire]
            self.add(gate, w, Input(first_feature + feature))
        return self

    def compose(self, other: Circuit) -> Circuit:
        """Append ``other``'s ops; its trainable slots become new slots of this circuit."""
        if other.n_wires > self.n_wires:
            raise CircuitError(f"cannot compose a {other.n_wires}-wire circuit into {self.n_wires} wires")
        base = self.n_trainable
        self.trainable_init.extend(other.trainable_init)
        for op in other.ops:
            params = tuple(_shift_slots(p, base) for p in op.params)
            self.append(Op(op.gate, op.wires, params))
        self.global_phase += other.global_phase
        return self

    # -- validation --------------------------------------------------------------------------------
    def _check_wires(self, where: str, g: GateDef, wires: int | Sequence[int]) -> tuple[int, ...]:
        ws = tuple(wires) if isinstance(wires, Iterable) and not isinstance(wires, str) else (wires,)
        if len(ws) != g.num_qubits:
            raise CircuitError(f"{where}: acts on {g.num_qubits} wire(s), got {len(ws)} {list(ws)}")
        for w in ws:
            if not isinstance(w, numbers.Integral) or isinstance(w, bool):
                raise CircuitError(f"{where}: wires must be integers, got {w!r}")
        ws = tuple(int(w) for w in ws)
        for w in ws:
            if not 0 <= w < self.n_wires:
                raise CircuitError(f"{where}: wire {w} out of range for a {self.n_wires}-wire circuit "
                                   f"(wires 0..{self.n_wires - 1})")
        if len(set(ws)) != len(ws):
            raise CircuitError(f"{where}: repeated wire in {list(ws)}; a gate needs distinct wires")
        return ws

    def _resolve(self, where: str, p: ParamLike) -> ParamRef:
        if p is None:
            return ParamRef("trainable", self.new_trainable())
        if isinstance(p, Expr):
            p = from_expr(p)
        if isinstance(p, ParamRef) and p.kind == "expr":
            missing = sorted(i for i in p.expr.leaves("slot") if i >= self.n_trainable)
            if missing:
                raise CircuitError(f"{where}: angle {p.expr} uses trainable slot {missing[0]}, which does not exist "
                                   f"({self.n_trainable} slots)")
            limit = self._n_inputs
            if limit is not None and any(i >= limit for i in p.expr.leaves("feature")):
                raise CircuitError(f"{where}: angle {p.expr} uses feature {max(p.expr.leaves('feature'))}, out of "
                                   f"range (expected 0..{limit - 1})")
            return p
        if isinstance(p, ParamRef):
            if p.kind == "trainable" and not 0 <= p.index < self.n_trainable:
                raise CircuitError(f"{where}: trainable slot {p.index} does not exist ({self.n_trainable} slots)")
            if p.kind == "input" and (p.index < 0 or (self._n_inputs is not None and p.index >= self._n_inputs)):
                raise CircuitError(f"{where}: feature {p.index} out of range")
            return p
        if isinstance(p, Trainable):
            if p.index is None:
                idx = self.new_trainable(p.init)
            elif 0 <= p.index < self.n_trainable:
                idx = p.index
            else:
                raise CircuitError(f"{where}: trainable slot {p.index} does not exist ({self.n_trainable} slots)")
            return ParamRef("trainable", idx, float(p.scale), float(p.offset))
        if isinstance(p, Input):
            limit = self._n_inputs
            if not isinstance(p.index, int) or p.index < 0 or (limit is not None and p.index >= limit):
                bound = f"0..{limit - 1}" if limit else "a non-negative integer"
                raise CircuitError(f"{where}: feature index {p.index!r} out of range (expected {bound})")
            return ParamRef("input", p.index, float(p.scale), float(p.offset))
        if isinstance(p, (int, float)) and not isinstance(p, bool):
            if not math.isfinite(p):
                raise CircuitError(f"{where}: constant angle must be finite, got {p}")
            return const(float(p))
        raise CircuitError(f"{where}: angle must be None, a number, qml.Input, qml.Trainable or qml.Expr, got {p!r}")


def _features(p: ParamRef) -> list[int]:
    """The features an angle reads."""
    if p.kind == "input":
        return [p.index]
    return sorted(p.expr.leaves("feature")) if p.kind == "expr" else []


def _shift_slots(p: ParamRef, base: int) -> ParamRef:
    """The angle with trainable slot i renamed i + base."""
    if p.kind == "trainable":
        return ParamRef("trainable", p.index + base, p.scale, p.offset)
    if p.kind == "expr":
        return ParamRef("expr", expr=p.expr.map_slots(lambda i: i + base))
    return p


def _make_method(name: str, g: GateDef):
    def method(self: Circuit, *args):
        if args and isinstance(args[0], Sequence) and not isinstance(args[0], str):
            wires, params = args[0], args[1:]
        else:
            wires, params = args[: g.num_qubits], args[g.num_qubits:]
        return self.add(name, wires, *params)

    angles = f", {', '.join(g.param_names)}" if g.param_names else ""
    wires = ", ".join(f"w{i}" for i in range(g.num_qubits))
    method.__name__ = name
    method.__doc__ = f"Append {g.name.upper()}({wires}{angles}); omitted angles are new trainable slots."
    return method


for _name, _g in GATES.items():
    setattr(Circuit, _name, _make_method(_name, _g))
for _alias, _target in ALIASES.items():
    setattr(Circuit, _alias, _make_method(_alias, GATES[_target]))
