"""Where a gate angle comes from: a trainable slot, an input feature of each sample, a constant, or an expression
of several of them.

Most angles are affine in one source value, ``angle = scale * source + offset`` (the engine's fast path); any
other angle is an ``Expr`` (``qml.circuit.expr``): products, sums and functions of features and slots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from qml.circuit.expr import Expr

Kind = Literal["trainable", "input", "const", "expr"]


@dataclass(frozen=True)
class ParamRef:
    """A resolved angle source: ``scale * source[index] + offset`` (a constant ignores index and scale), or for
    kind ``"expr"`` the value of ``expr`` (index, scale and offset unused)."""

    kind: Kind
    index: int = 0
    scale: float = 1.0
    offset: float = 0.0
    expr: Expr | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("trainable", "input", "const", "expr"):
            raise ValueError(f"parameter kind must be trainable, input, const or expr, got {self.kind!r}")
        if (self.kind == "expr") != (self.expr is not None):
            raise ValueError("an expr parameter, and only it, holds an expression")
        if not (math.isfinite(self.scale) and math.isfinite(self.offset)):
            raise ValueError(f"parameter scale and offset must be finite, got {self.scale}, {self.offset}")


@dataclass(frozen=True)
class Input:
    """Angle taken from feature ``index`` of each sample: ``scale * x[:, index] + offset``."""

    index: int
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class Trainable:
    """A trainable angle; ``index=None`` allocates a new slot, an index shares an existing one."""

    index: int | None = None
    init: float | None = None
    scale: float = 1.0
    offset: float = 0.0


ParamLike = None | float | int | Input | Trainable | ParamRef | Expr


def from_expr(expr: Expr) -> ParamRef:
    """An expression as a ParamRef: a plain affine one when it depends on at most one source, else kind expr."""
    form = expr.affine()
    if form is not None and len(form[0]) <= 1:
        coeffs, offset = form
        if not coeffs:
            return const(offset)
        ((leaf, index), scale), = coeffs.items()
        return ParamRef("input" if leaf == "feature" else "trainable", index, scale, offset)
    return ParamRef("expr", expr=expr)


def ref_value(ref: ParamRef, theta, x, lib: str = "torch"):
    """The angle for trainable values ``theta`` and features ``x`` ((B, F) or (F,)); see ``Expr.evaluate``."""
    if ref.kind == "const":
        return ref.offset
    if ref.kind == "expr":
        return ref.expr.evaluate(theta, x, lib)
    if ref.kind == "trainable":
        source = theta[ref.index]
    else:
        source = x[..., ref.index] if lib != "qiskit" else x[ref.index]
    if ref.scale != 1.0:
        source = ref.scale * source
    return source + ref.offset if ref.offset != 0.0 else source


def const(value: float) -> ParamRef:
    """A constant angle."""
    return ParamRef("const", 0, 0.0, float(value))
