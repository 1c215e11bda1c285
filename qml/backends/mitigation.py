"""Error mitigation on the Aer twin and on IBM devices: what to mitigate (``Mitigation``), the extra circuits it
needs (``MitigationPlan``: readout calibration circuits, two-qubit-folded copies for ZNE) and the ⟨Z⟩ of every
method from their bits. Executors run a plan's circuits together with the evaluation's, in one sampler run or one
IBM Batch, and report raw and every mitigated estimate side by side (``Mitigated``): mitigation is judged on the
same inputs and shots as the raw figure it corrects.

Methods: ``readout`` (``qml.backends.readout``, mthree), ``zne`` (``qml.backends.zne``), and ``readout+zne``
(each scale's counts readout-corrected, then extrapolated) when both are asked for."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qml.backends.zne import DEFAULT_SCALES, FITS, check_scales
from qml.errors import InputError, did_you_mean

METHODS = ("readout", "zne")
RAW, CAL = "raw", "cal"


@dataclass(frozen=True)
class Mitigation:
    """Which methods to apply; ZNE's odd ``scales`` (1 is the raw circuit itself) and its ``fit``."""

    readout: bool = False
    zne: bool = False
    scales: tuple[int, ...] = DEFAULT_SCALES
    fit: str = "linear"

    def __post_init__(self) -> None:
        object.__setattr__(self, "scales", check_scales(self.scales))
        if self.fit not in FITS:
            raise InputError(f"unknown ZNE fit {self.fit!r}{did_you_mean(self.fit, FITS)}: expected one of "
                             f"{', '.join(FITS)}")

    @classmethod
    def parse(cls, values, scales=None, fit: str | None = None) -> Mitigation | None:
        """From ``--mitigate`` values (``readout,zne``; the flag may repeat) and ``--zne-scales`` (``1,3,5``) /
        ``--zne-fit``: None when no method is given."""
        if isinstance(values, str):
            values = [values]
        if isinstance(scales, str):
            try:
                scales = [int(v) for v in scales.split(",")]
            except ValueError:
                raise InputError(f"--zne-scales {scales!r}: expected odd integers separated by commas, e.g. "
                                 "1,3,5") from None
        names = [v.strip().lower() for value in values or () for v in str(value).split(",") if v.strip()]
        for name in names:
            if name not in METHODS:
                raise InputError(f"unknown --mitigate method {name!r}{did_you_mean(name, METHODS)}: expected "
                                 f"{' or '.join(METHODS)} (e.g. --mitigate readout,zne)")
        if not names:
            if scales is not None or fit is not None:
                raise InputError("--zne-scales and --zne-fit apply to --mitigate zne")
            return None
        if "zne" not in names and (scales is not None or fit is not None):
            raise InputError("--zne-scales and --zne-fit apply to --mitigate zne; add it")
        return cls("readout" in names, "zne" in names, tuple(scales or DEFAULT_SCALES), fit or "linear")

    @property
    def methods(self) -> list[str]:
        """The mitigated rows reported next to the raw one."""
        out = (["readout"] if self.readout else []) + (["zne"] if self.zne else [])
        return out + (["readout+zne"] if self.readout and self.zne else [])

    def check_available(self) -> None:
        """Fail now, before any slow work, when a method's optional dependency is missing."""
        if self.readout:
            from qml.backends.readout import require_mthree

            require_mthree()

    @classmethod
    def from_dict(cls, doc: dict) -> Mitigation:
        """The inverse of ``to_dict`` (a job ledger's record of what its extra circuits were)."""
        methods = doc.get("methods") or []
        return cls("readout" in methods, "zne" in methods, tuple(doc.get("scales") or DEFAULT_SCALES),
                   doc.get("fit") or "linear")

    def to_dict(self) -> dict:
        return {"methods": [m for m in METHODS if getattr(self, m)], "scales": list(self.scales) if self.zne else None,
                "fit": self.fit if self.zne else None}

    def __str__(self) -> str:
        return ",".join(m for m in METHODS if getattr(self, m)) + (
            f" (scales {','.join(map(str, self.scales))}, {self.fit} fit)" if self.zne else "")


def scale_key(scale: int) -> str:
    return RAW if scale == 1 else f"fold{scale}"


@dataclass
class Variant:
    """Circuits a plan runs: one parametric circuit run for every input (``per_input``), or a list run once."""

    key: str
    circuits: list
    per_input: bool

    def label(self) -> str:
        if self.key == RAW:
            return "evaluation"
        return "readout calibration" if self.key == CAL else f"ZNE x{self.key[4:]}"


@dataclass
class Mitigated:
    """⟨Z⟩ (inputs, wires) of the raw estimate and of each mitigated one, and the executions each one used."""

    z: dict[str, np.ndarray]
    executions: dict[str, int] = field(default_factory=dict)


class MitigationPlan:
    """The circuits an evaluation of ``circuit`` (transpiled, measured; its clbit i is logical wire i) runs under
    ``mitigation`` (None: the raw circuit alone), and how their bits become each method's ⟨Z⟩."""

    def __init__(self, circuit, mitigation: Mitigation | None) -> None:
        self.circuit = circuit
        self.mitigation = mitigation
        self.variants: dict[str, Variant] = {RAW: Variant(RAW, [circuit], True)}
        self.states = None
        if mitigation is None:
            return
        if mitigation.readout:
            from qml.backends.readout import calibration_circuits, calibration_states

            self.states = calibration_states(circuit.num_clbits)
            self.variants[CAL] = Variant(CAL, calibration_circuits(circuit, self.states), False)
        if mitigation.zne:
            from qml.backends.zne import fold_two_qubit_gates

            for s in mitigation.scales:
                if s != 1:
                    self.variants[scale_key(s)] = Variant(scale_key(s), [fold_two_qubit_gates(circuit, s)], True)

    def rows(self, variant: Variant, n_inputs: int) -> int:
        """Circuit executions of a variant per shot: inputs for a parametric circuit, circuits for the others."""
        return n_inputs if variant.per_input else len(variant.circuits)

    def spans(self, n_inputs: int, per_job: int) -> list[tuple[str, int, int]]:
        """(variant, start, stop) of each job when a job holds at most ``per_job`` rows: a parametric circuit's
        inputs are split, and so are the calibration circuits (one PUB each)."""
        out = []
        for key, v in self.variants.items():
            total = self.rows(v, n_inputs)
            out += [(key, start, min(start + per_job, total)) for start in range(0, total, per_job)]
        return out

    def executions(self, n_inputs: int, shots: int) -> dict[str, int]:
        """Executions (circuits x shots) each reported estimate rests on, raw included."""
        per = {k: self.rows(v, n_inputs) * shots for k, v in self.variants.items()}
        out = {RAW: per[RAW]}
        m = self.mitigation
        if m is None:
            return out
        zne = sum(per[scale_key(s)] for s in m.scales) + (0 if 1 in m.scales else per[RAW]) if m.zne else 0
        if m.readout:
            out["readout"] = per[RAW] + per[CAL]
        if m.zne:
            out["zne"] = zne
        if m.readout and m.zne:
            out["readout+zne"] = zne + per[CAL]
        return out

    def cost(self, n_inputs: int, shots: int) -> str:
        """What mitigation adds, variant by variant, for the cost line printed before anything runs."""
        parts = []
        for key, v in self.variants.items():
            if key == RAW:
                continue
            rows = self.rows(v, n_inputs)
            what = f"{rows} circuits" if not v.per_input else f"{rows} inputs"
            parts.append(f"{v.label()} {what} x {shots} shots = {rows * shots:,}")
        extra = sum(self.rows(v, n_inputs) for k, v in self.variants.items() if k != RAW) * shots
        return (f"mitigation {self.mitigation} adds {extra:,} executions to the {n_inputs * shots:,} of the "
                f"evaluation: " + "; ".join(parts))

    def estimate(self, bits: dict[str, np.ndarray]) -> Mitigated:
        """Each method's ⟨Z⟩ from the bits of every variant: (inputs, shots, n_bits), calibration (circuits, shots,
        n_bits)."""
        from qml.backends.base import z_from_bits

        raw = bits[RAW]
        z = {RAW: z_from_bits(raw.astype(np.float64))}
        m, executions = self.mitigation, self.executions(raw.shape[0], raw.shape[-2])
        if m is None:
            return Mitigated(z, executions)
        if m.readout:
            from qml.backends.readout import assignment_matrices, corrected_z

            matrices = assignment_matrices(self.states, bits[CAL])
            z["readout"] = corrected_z(raw, matrices)
        if m.zne:
            from qml.backends.zne import extrapolate

            z["zne"] = extrapolate(m.scales, [z_from_bits(bits[scale_key(s)].astype(np.float64)) for s in m.scales],
                                   m.fit)
            if m.readout:
                z["readout+zne"] = extrapolate(m.scales, [corrected_z(bits[scale_key(s)], matrices)
                                                          for s in m.scales], m.fit)
        return Mitigated(z, executions)


def cannot_mitigate(spec: str) -> InputError:
    return InputError(f"backend {spec!r} cannot mitigate errors (--mitigate): it computes ⟨Z⟩ itself (exactly, or "
                      f"with its own noise model), not from a device's counts; use aer:DEVICE (qml eval) or "
                      f"ibm_NAME / fake:ibm_NAME (qml run)")


__all__ = ["CAL", "METHODS", "RAW", "Mitigated", "Mitigation", "MitigationPlan", "Variant", "cannot_mitigate"]
