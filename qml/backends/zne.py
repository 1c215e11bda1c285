"""Zero-noise extrapolation by unitary folding of the two-qubit gates of a transpiled (ISA) circuit.

Scale factor λ (odd: 1, 3, 5, ...) replaces every two-qubit gate G by G (G† G)^((λ-1)/2): the same unitary, with
λ times the two-qubit gates, the dominant error on IBM devices (about ten times a one-qubit gate's). The folding
acts on the circuit the device runs, after transpilation, and the device's native two-qubit gates (CX, ECR, CZ)
are their own inverses, so the folded circuit is still ISA and nothing transpiles it again (a transpiler would
cancel G G† G back to G). Folding the whole circuit (U U† U) would instead need SX†, which is not native: its
synthesis adds gates the extrapolation does not account for. Readout and one-qubit errors are not scaled, so
ZNE leaves them; readout mitigation is what removes the former.

⟨Z⟩ per wire measured at each λ is extrapolated to λ = 0 by a least-squares line (``linear``, the default: the
lowest variance) or the polynomial through all points (``richardson``), then clipped to [-1, 1]."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qml.errors import InputError

FITS = ("linear", "richardson")
DEFAULT_SCALES = (1, 3, 5)


def check_scales(scales: Sequence[int]) -> tuple[int, ...]:
    """Distinct odd positive integers, at least two, ascending; anything else is an ``InputError``."""
    try:
        values = [int(s) for s in scales]
    except (TypeError, ValueError):
        raise InputError(f"ZNE scale factors must be odd integers, e.g. 1,3,5; got {list(scales)}") from None
    if any(v != s for v, s in zip(values, scales, strict=True)) or any(v < 1 or v % 2 == 0 for v in values):
        raise InputError(f"ZNE scale factors must be odd integers >= 1 (gate folding G (G† G)^k), got {list(scales)}")
    if len(set(values)) < 2 or len(set(values)) != len(values):
        raise InputError(f"ZNE needs at least two distinct scale factors, got {list(scales)}")
    return tuple(sorted(values))


def is_folded(operation) -> bool:
    """Two-qubit unitary gates are folded; measurements, barriers, resets and one-qubit gates are not."""
    from qiskit.circuit import Gate

    return isinstance(operation, Gate) and operation.num_qubits == 2


def fold_two_qubit_gates(circuit, scale: int):
    """``circuit`` with every two-qubit gate G replaced by G (G† G)^((scale-1)/2); same registers, parameters,
    layout and global phase. ``scale`` 1 returns a copy."""
    if int(scale) != scale or scale < 1 or scale % 2 == 0:
        raise InputError(f"a ZNE scale factor must be an odd integer >= 1, got {scale}")
    k = (int(scale) - 1) // 2
    out = circuit.copy_empty_like()
    for inst in circuit.data:
        out.append(inst)
        if k and is_folded(inst.operation):
            inverse = inst.operation.inverse()
            for _ in range(k):
                out.append(inverse, inst.qubits, inst.clbits)
                out.append(inst.operation, inst.qubits, inst.clbits)
    return out


def two_qubit_count(circuit) -> int:
    return sum(1 for inst in circuit.data if is_folded(inst.operation))


def extrapolation_weights(scales: Sequence[float], fit: str = "linear") -> np.ndarray:
    """w such that the zero-noise estimate is Σ_k w_k · value(scale_k): the intercept of the least-squares line,
    or the Lagrange polynomial through every point evaluated at 0 (Richardson)."""
    x = np.asarray(scales, dtype=np.float64)
    if fit == "linear":
        design = np.stack([np.ones_like(x), x], axis=1)
        return np.linalg.pinv(design)[0]
    if fit == "richardson":
        return np.array([np.prod([-xj / (xi - xj) for j, xj in enumerate(x) if j != i]) for i, xi in enumerate(x)])
    raise InputError(f"unknown ZNE fit {fit!r}: expected one of {', '.join(FITS)}")


def extrapolate(scales: Sequence[float], values: np.ndarray, fit: str = "linear") -> np.ndarray:
    """Zero-noise ⟨Z⟩ from ``values`` (len(scales), ...) measured at each scale, clipped to [-1, 1]."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] != len(scales):
        raise InputError(f"{values.shape[0]} sets of values for {len(scales)} scale factors")
    w = extrapolation_weights(scales, fit)
    return np.clip(np.tensordot(w, values, axes=1), -1.0, 1.0)


__all__ = ["DEFAULT_SCALES", "FITS", "check_scales", "extrapolate", "extrapolation_weights", "fold_two_qubit_gates",
           "two_qubit_count"]
