"""Where a gate angle comes from: a trainable slot, an input feature of each sample, or a constant.

Every angle is affine in at most one source value, ``angle = scale * source + offset``, which is also
the form qiskit parameter expressions must have to be imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Kind = Literal["trainable", "input", "const"]


@dataclass(frozen=True)
class ParamRef:
    """A resolved angle source: ``scale * source[index] + offset`` (a constant ignores index and scale)."""

    kind: Kind
    index: int = 0
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("trainable", "input", "const"):
            raise ValueError(f"parameter kind must be trainable, input or const, got {self.kind!r}")
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


ParamLike = None | float | int | Input | Trainable | ParamRef


def const(value: float) -> ParamRef:
    """A constant angle."""
    return ParamRef("const", 0, 0.0, float(value))
