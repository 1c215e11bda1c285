"""Measurements on batched statevectors (B, 2**n): <Z> per wire, Pauli-string expectations, probabilities
and shot sampling. Labels and bitstrings follow qiskit: the rightmost character is wire 0."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch
from torch import Tensor

from qml.errors import CircuitError, InputError
from qml.sim.kernels import untransformed

_SIGN_MATMUL_MAX_WIRES = 16  # the +-1 table is 2**n x len(wires): 4 MB at 16 wires (float32)


def probabilities(state: Tensor) -> Tensor:
    """|amplitude|^2, real (B, 2**n)."""
    return torch.view_as_real(state).square().sum(-1)


def marginal(probs: Tensor, n_wires: int, wires: tuple[int, ...]) -> Tensor:
    """Marginal distribution over ``wires`` (B, 2**len(wires)), ``wires[0]`` the least significant bit."""
    if wires == tuple(range(n_wires)):
        return probs
    batch = probs.shape[0]
    p = probs.reshape((batch,) + (2,) * n_wires)
    keep = {n_wires - w for w in wires}
    p = p.sum(dim=tuple(a for a in range(1, n_wires + 1) if a not in keep))
    # remaining axes are the kept wires in descending wire order; reorder to wires[-1], ..., wires[0]
    remaining = sorted(wires, reverse=True)
    p = p.permute((0, *(1 + remaining.index(w) for w in reversed(wires))))
    return p.reshape(batch, -1)


def z_expectations(probs: Tensor, n_wires: int, wires: tuple[int, ...]) -> Tensor:
    """<Z_w> for each of ``wires`` from probabilities (B, 2**n) -> (B, len(wires))."""
    if n_wires <= _SIGN_MATMUL_MAX_WIRES:
        return probs @ _z_signs(n_wires, wires, probs.dtype, probs.device)
    out = []
    for w in wires:
        p = probs.reshape(probs.shape[0], -1, 2, 1 << w).sum((1, 3))
        out.append(p[:, 0] - p[:, 1])
    return torch.stack(out, -1)


@functools.lru_cache(maxsize=16)
def _z_signs(n_wires: int, wires: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    """(2**n, len(wires)) matrix of +1 / -1: the eigenvalue of Z_w on each basis state."""
    with untransformed():
        idx = torch.arange(1 << n_wires, device=device)
        bits = (idx.unsqueeze(1) >> torch.tensor(wires, device=device)) & 1
        return (1 - 2 * bits).to(dtype)


def pauli_masks(label: str, n_wires: int) -> tuple[int, int, int]:
    """(x mask, z mask, number of Y) of a qiskit-ordered Pauli label such as 'XIZY'."""
    if len(label) != n_wires or any(c not in "IXYZ" for c in label.upper()):
        raise CircuitError(f"Pauli label {label!r} must be {n_wires} characters of I, X, Y, Z "
                           "(rightmost is wire 0)")
    x = z = ny = 0
    for w, c in enumerate(reversed(label.upper())):
        if c in "XY":
            x |= 1 << w
        if c in "ZY":
            z |= 1 << w
        ny += c == "Y"
    return x, z, ny


def sample_indices(probs: Tensor, shots: int, generator: torch.Generator | None = None) -> Tensor:
    """``shots`` basis-state indices per sample (B, shots), drawn from probs (B, 2**n)."""
    p = probs.detach().clamp_min(0)
    return torch.multinomial(p / p.sum(-1, keepdim=True), shots, replacement=True, generator=generator)


def counts_from_indices(indices: Tensor, n_states: int) -> Tensor:
    out = torch.zeros(indices.shape[0], n_states, dtype=torch.long, device=indices.device)
    return out.scatter_add_(1, indices, torch.ones_like(indices))


class Measurement:
    """Base: maps states (B, 2**n) to a real tensor (B, out_features(n))."""

    def out_features(self, n_wires: int) -> int:
        raise NotImplementedError

    def __call__(self, state: Tensor, n_wires: int) -> Tensor:
        raise NotImplementedError

    def _wires(self, wires: tuple[int, ...] | None, n_wires: int) -> tuple[int, ...]:
        ws = tuple(range(n_wires)) if wires is None else tuple(wires)
        for w in ws:
            if not isinstance(w, int) or not 0 <= w < n_wires:
                raise CircuitError(f"{type(self).__name__}: wire {w!r} out of range 0..{n_wires - 1}")
        if len(set(ws)) != len(ws):
            raise CircuitError(f"{type(self).__name__}: repeated wire in {list(ws)}")
        return ws


@dataclass
class ExpZ(Measurement):
    """<Z> on each wire (default all). With ``shots``, the value carries shot noise and the gradient is the
    exact one (straight-through)."""

    wires: tuple[int, ...] | None = None
    shots: int | None = None

    def out_features(self, n_wires: int) -> int:
        return len(self._wires(self.wires, n_wires))

    def __call__(self, state: Tensor, n_wires: int) -> Tensor:
        ws = self._wires(self.wires, n_wires)
        probs = probabilities(state)
        exact = z_expectations(probs, n_wires, ws)
        if self.shots is None:
            return exact
        counts = counts_from_indices(sample_indices(probs, _check_shots(self.shots)), probs.shape[-1])
        sampled = z_expectations(counts.to(probs.dtype) / self.shots, n_wires, ws)
        return exact + (sampled - exact).detach()


def _observable(item, where: str) -> dict[str, float]:
    """One observable as {Pauli label: real coefficient}: a label (coefficient 1), a dict, a list of
    (label, coefficient) pairs, or a qiskit ``SparsePauliOp``."""
    if isinstance(item, str):
        return {item: 1.0}
    if type(item).__name__ == "SparsePauliOp":
        pairs = item.to_list()
    elif isinstance(item, dict):
        pairs = list(item.items())
    elif _is_pair(item):  # one weighted term
        pairs = [item]
    elif isinstance(item, (list, tuple)) and item and all(_is_pair(t) for t in item):
        pairs = list(item)
    else:
        raise CircuitError(f"Expval: {where} is {item!r}; expected a Pauli label, a {{label: coefficient}} dict, "
                           "a list of (label, coefficient) pairs or a qiskit SparsePauliOp")
    terms: dict[str, float] = {}
    for label, coeff in pairs:
        if not isinstance(label, str):
            raise CircuitError(f"Expval: {where} has the term label {label!r}; expected a Pauli label such as 'ZI'")
        value = complex(coeff)
        if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            raise CircuitError(f"Expval: {where} has the coefficient {coeff!r} for {label!r}; an observable needs "
                               "real coefficients (a Hermitian sum of Paulis)")
        terms[label.upper()] = terms.get(label.upper(), 0.0) + value.real
    if not terms:
        raise CircuitError(f"Expval: {where} has no terms")
    return terms


def _is_pair(t) -> bool:
    return isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) and not isinstance(t[1], str)


class Expval(Measurement):
    """Expectation values of observables, one output each. An observable is a Pauli label (qiskit order,
    rightmost character is wire 0), a weighted sum ``{"ZZ": 1.0, "XI": 0.5}`` (or a list of (label, coefficient)
    pairs, or a qiskit ``SparsePauliOp`` with real coefficients): ``Expval(["ZZII", "XIIY"])`` has two outputs,
    ``Expval({"ZZ": 1, "XI": 0.5})`` and ``Expval(SparsePauliOp(...))`` one."""

    def __init__(self, observables) -> None:
        if isinstance(observables, (str, dict)) or type(observables).__name__ == "SparsePauliOp" or (
                isinstance(observables, (list, tuple)) and observables and all(_is_pair(t) for t in observables)):
            observables = [observables]
        try:
            items = list(observables)
        except TypeError:
            raise CircuitError(f"Expval: {observables!r} is not an observable or a list of them; expected a Pauli "
                               "label, a {label: coefficient} dict or a qiskit SparsePauliOp") from None
        if not items:
            raise CircuitError("Expval needs at least one observable (a Pauli label)")
        self.observables = tuple(_observable(item, f"observable {i}") for i, item in enumerate(items))
        self.labels = tuple(dict.fromkeys(label for obs in self.observables for label in obs))
        self._plain = list(self.observables) == [{label: 1.0} for label in self.labels]  # no weighting
        self._cache: dict = {}

    def __repr__(self) -> str:
        return f"Expval({[obs if len(obs) > 1 else next(iter(obs)) for obs in self.observables]!r})"

    def out_features(self, n_wires: int) -> int:
        for label in self.labels:
            pauli_masks(label, n_wires)  # reject bad labels when the module is built
        return len(self.observables)

    def _constants(self, n_wires: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        key = (n_wires, device, dtype)
        if key not in self._cache:
            with untransformed():
                self._cache[key] = self._build_constants(n_wires, device, dtype)
        return self._cache[key]

    def _build_constants(self, n_wires: int, device: torch.device, dtype: torch.dtype
                         ) -> tuple[Tensor, Tensor, Tensor]:
        idx = torch.arange(1 << n_wires, device=device)
        flips, phases = [], []
        for label in self.labels:
            x, z, ny = pauli_masks(label, n_wires)
            parity = torch.zeros_like(idx)
            zz = idx & z
            while bool(zz.any()):
                parity ^= zz & 1
                zz = zz >> 1
            sign = (1 - 2 * parity).to(dtype)
            flips.append(idx ^ x)
            phases.append(sign * (1j ** ny))
        weights = torch.zeros(len(self.labels), len(self.observables), dtype=torch.float64)
        for j, obs in enumerate(self.observables):
            for label, coeff in obs.items():
                weights[self.labels.index(label), j] = coeff
        return torch.stack(flips), torch.stack(phases), weights.to(device)

    def __call__(self, state: Tensor, n_wires: int) -> Tensor:
        flips, phases, weights = self._constants(n_wires, state.device, state.dtype)
        flipped = state[:, flips]  # (B, K, 2**n): amplitude at j xor x
        values = (flipped.conj() * phases * state.unsqueeze(1)).sum(-1).real
        return values if self._plain else values @ weights.to(values.dtype)


@dataclass
class Probs(Measurement):
    """Probabilities of the basis states of ``wires`` (default all), index bit m = wire ``wires[m]``."""

    wires: tuple[int, ...] | None = None

    def out_features(self, n_wires: int) -> int:
        return 1 << len(self._wires(self.wires, n_wires))

    def __call__(self, state: Tensor, n_wires: int) -> Tensor:
        return marginal(probabilities(state), n_wires, self._wires(self.wires, n_wires))


@dataclass
class Counts(Measurement):
    """Shot counts (B, 2**len(wires)) of ``shots`` samples per input; not differentiable."""

    shots: int = 1024
    wires: tuple[int, ...] | None = None
    generator: torch.Generator | None = field(default=None, repr=False)

    def out_features(self, n_wires: int) -> int:
        return 1 << len(self._wires(self.wires, n_wires))

    def __call__(self, state: Tensor, n_wires: int) -> Tensor:
        probs = marginal(probabilities(state), n_wires, self._wires(self.wires, n_wires))
        return counts_from_indices(sample_indices(probs, _check_shots(self.shots), self.generator),
                                   probs.shape[-1])


def _check_shots(shots: int) -> int:
    if not isinstance(shots, int) or isinstance(shots, bool) or shots < 1:
        raise InputError(f"shots must be a positive integer, got {shots!r}")
    return shots


def resolve_measurement(measure: str | Measurement) -> Measurement:
    """'z' | 'probs' | a Measurement instance."""
    if isinstance(measure, Measurement):
        return measure
    table = {"z": ExpZ, "expz": ExpZ, "probs": Probs}
    if isinstance(measure, str) and measure.lower() in table:
        return table[measure.lower()]()
    raise CircuitError(f"unknown measurement {measure!r}: expected 'z', 'probs' or a qml measurement object "
                       "(ExpZ, Expval, Probs, Counts)")
