"""Angle expressions of several sources: sums, products, powers and elementary functions of features, trainable
slots and constants, evaluated in torch (so they differentiate), in numpy, or as qiskit parameter expressions.

Most angles are affine in one source and stay plain ``ParamRef``s (the engine's fast path); an ``Expr`` is what
the others need, e.g. qiskit's ``zz_feature_map`` angle ``2 (pi - x0)(pi - x1)`` or ``2*x0 + w0``::

    x0, x1 = qml.Expr.feature(0), qml.Expr.feature(1)
    circuit.rz(1, 2 * (math.pi - x0) * (math.pi - x1))
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

FUNCTIONS = ("sin", "cos", "tan", "asin", "acos", "atan", "exp", "log", "abs", "sign")
LEAVES = ("feature", "slot", "const")
_NODES = ("add", "mul", "pow")

_TORCH = {"asin": "asin", "acos": "acos", "atan": "atan"}
_NUMPY = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}
_QISKIT = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}


def _wrap(value) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Expr.constant(float(value))
    raise TypeError(f"an angle expression combines numbers and qml.Expr, got {value!r}")


@dataclass(frozen=True)
class Expr:
    """A node: a leaf (``feature`` i, ``slot`` i, ``const`` value) or an operation (``add``, ``mul``, ``pow``, or
    one of ``FUNCTIONS``) of its ``args``. Build leaves with ``feature``/``slot``/``constant`` and the rest with
    Python's operators and the function methods (``e.sin()``, ...)."""

    op: str
    args: tuple[Expr, ...] = ()
    value: float = 0.0  # a const's value, or a feature's or slot's index

    def __post_init__(self) -> None:
        if self.op in LEAVES:
            if self.args:
                raise ValueError(f"a {self.op} leaf has no arguments")
            if not math.isfinite(self.value):
                raise ValueError(f"a {self.op} leaf needs a finite value, got {self.value}")
            if self.op != "const" and (self.value < 0 or self.value != int(self.value)):
                raise ValueError(f"a {self.op} index must be a non-negative integer, got {self.value}")
        elif self.op in _NODES:
            if len(self.args) < 2 or (self.op == "pow" and len(self.args) != 2):
                raise ValueError(f"{self.op} takes {'two' if self.op == 'pow' else 'at least two'} arguments")
        elif self.op in FUNCTIONS:
            if len(self.args) != 1:
                raise ValueError(f"{self.op} takes one argument")
        else:
            raise ValueError(f"unknown expression node {self.op!r} (known: {', '.join(LEAVES + _NODES + FUNCTIONS)})")

    # -- building ----------------------------------------------------------------------------------
    @staticmethod
    def feature(index: int) -> Expr:
        """Feature ``index`` of each sample."""
        return Expr("feature", (), float(index))

    @staticmethod
    def slot(index: int) -> Expr:
        """Trainable slot ``index`` of the circuit."""
        return Expr("slot", (), float(index))

    @staticmethod
    def constant(value: float) -> Expr:
        return Expr("const", (), float(value))

    def __add__(self, other) -> Expr:
        return Expr("add", (self, _wrap(other)))

    def __radd__(self, other) -> Expr:
        return Expr("add", (_wrap(other), self))

    def __mul__(self, other) -> Expr:
        return Expr("mul", (self, _wrap(other)))

    def __rmul__(self, other) -> Expr:
        return Expr("mul", (_wrap(other), self))

    def __neg__(self) -> Expr:
        return Expr("mul", (Expr.constant(-1.0), self))

    def __sub__(self, other) -> Expr:
        return self + (-_wrap(other))

    def __rsub__(self, other) -> Expr:
        return _wrap(other) + (-self)

    def __truediv__(self, other) -> Expr:
        return self * Expr("pow", (_wrap(other), Expr.constant(-1.0)))

    def __rtruediv__(self, other) -> Expr:
        return _wrap(other) * Expr("pow", (self, Expr.constant(-1.0)))

    def __pow__(self, other) -> Expr:
        return Expr("pow", (self, _wrap(other)))

    def __rpow__(self, other) -> Expr:
        return Expr("pow", (_wrap(other), self))

    def apply(self, function: str) -> Expr:
        """``function`` (one of ``FUNCTIONS``) of this expression; also as methods: ``e.sin()``, ``e.exp()``, ..."""
        return Expr(function, (self,))

    def __str__(self) -> str:
        if self.op == "const":
            return repr(self.value)
        if self.op in ("feature", "slot"):
            return f"{'x' if self.op == 'feature' else 'theta'}[{int(self.value)}]"
        if self.op == "add":
            return "(" + " + ".join(map(str, self.args)) + ")"
        if self.op == "mul":
            return "*".join(map(str, self.args))
        if self.op == "pow":
            return f"{self.args[0]}**{self.args[1]}"
        return f"{self.op}({self.args[0]})"

    # -- inspecting --------------------------------------------------------------------------------
    def leaves(self, op: str) -> set[int]:
        """The indices of the ``feature`` or ``slot`` leaves."""
        if self.op == op:
            return {int(self.value)}
        out: set[int] = set()
        for a in self.args:
            out |= a.leaves(op)
        return out

    @property
    def uses_features(self) -> bool:
        return bool(self.leaves("feature"))

    def map_slots(self, fn) -> Expr:
        """The same expression with slot ``i`` replaced by slot ``fn(i)``."""
        if self.op == "slot":
            return Expr.slot(fn(int(self.value)))
        if not self.args:
            return self
        return Expr(self.op, tuple(a.map_slots(fn) for a in self.args), self.value)

    def affine(self) -> tuple[dict[tuple[str, int], float], float] | None:
        """``({(leaf kind, index): coefficient}, constant)`` when the expression is affine in its leaves; else None."""
        if self.op == "const":
            return {}, self.value
        if self.op in ("feature", "slot"):
            return {(self.op, int(self.value)): 1.0}, 0.0
        parts = [a.affine() for a in self.args]
        if any(p is None for p in parts):
            return None
        if self.op == "add":
            coeffs: dict[tuple[str, int], float] = {}
            for c, _ in parts:
                for k, v in c.items():
                    coeffs[k] = coeffs.get(k, 0.0) + v
            return {k: v for k, v in coeffs.items() if v != 0.0}, sum(b for _, b in parts)
        if all(not c for c, _ in parts):  # a function of constants is a constant
            return {}, float(self.evaluate([], None, "numpy"))
        if self.op == "mul":
            variable = [p for p in parts if p[0]]
            if len(variable) > 1:
                return None
            factor = math.prod(b for c, b in parts if not c)
            c, b = variable[0]
            return {k: v * factor for k, v in c.items() if v * factor != 0.0}, b * factor
        return None

    # -- evaluating --------------------------------------------------------------------------------
    def evaluate(self, theta, x, lib: str = "torch"):
        """The value for trainable values ``theta`` (T,) and features ``x`` (B, F) (or (F,) for one sample).
        ``lib``: ``"torch"`` (tensors, differentiable), ``"numpy"`` or ``"qiskit"`` (numbers or qiskit
        parameters, giving a ``ParameterExpression``)."""
        if self.op == "const":
            return self.value
        if self.op == "slot":
            return theta[int(self.value)]
        if self.op == "feature":
            return x[..., int(self.value)] if lib != "qiskit" else x[int(self.value)]
        vals = [a.evaluate(theta, x, lib) for a in self.args]
        if self.op == "add":
            out = vals[0]
            for v in vals[1:]:
                out = out + v
            return out
        if self.op == "mul":
            out = vals[0]
            for v in vals[1:]:
                out = out * v
            return out
        if self.op == "pow":
            if lib == "qiskit" and self.integer_power is not None:  # as products: qiskit's OpenQASM 3 importer
                n = self.integer_power  # reads + - * / but not **
                out = vals[0]
                for _ in range(abs(n) - 1):
                    out = out * vals[0]
                return out if n > 0 else 1 / out
            return vals[0] ** vals[1]
        return _function(self.op, vals[0], lib)

    @property
    def integer_power(self) -> int | None:
        """The exponent of a ``pow`` node whose exponent is a small nonzero integer constant, else None."""
        e = self.args[1] if self.op == "pow" else None
        if e is None or e.op != "const" or e.value != int(e.value) or not 0 < abs(e.value) <= 16:
            return None
        return int(e.value)

    def rational(self) -> bool:
        """Whether only + - * / and integer powers occur: what OpenQASM 3 text read by qiskit can hold."""
        if self.op in FUNCTIONS or (self.op == "pow" and self.integer_power is None):
            return False
        return all(a.rational() for a in self.args)


def _function(name: str, v, lib: str):
    if lib == "torch":
        import torch

        if not isinstance(v, torch.Tensor):
            v = torch.tensor(float(v), dtype=torch.float64)
        return getattr(torch, _TORCH.get(name, name))(v)
    if lib == "numpy":
        import numpy as np

        return getattr(np, _NUMPY.get(name, name))(v)
    if isinstance(v, numbers.Real):
        import numpy as np

        return float(getattr(np, _NUMPY.get(name, name))(v))
    return getattr(v, _QISKIT.get(name, name))()


for _name in FUNCTIONS:
    def _method(self: Expr, _name: str = _name) -> Expr:
        return self.apply(_name)

    _method.__name__ = _name
    _method.__doc__ = f"{_name} of this expression."
    setattr(Expr, _name, _method)
