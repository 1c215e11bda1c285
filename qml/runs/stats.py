"""The statistics a study's table rests on, as pure functions: a Student-t interval for a mean over seeds, a Wilson
interval for one accuracy on n inputs, and the exact McNemar test on paired per-input outcomes, alone or pooled
over strata (seeds), each of which has its own test split: pairs are only formed within a stratum."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qml.errors import InputError

ALPHA = 0.05


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval; ``low`` and ``high`` are None when the interval is undefined
    (a t interval from one value: one seed says nothing about the spread between seeds)."""

    estimate: float
    low: float | None
    high: float | None
    n: int
    level: float = 0.95

    @property
    def defined(self) -> bool:
        return self.low is not None

    def __str__(self) -> str:
        if not self.defined:
            return f"{self.estimate:.4f} (interval undefined: n={self.n})"
        return f"{self.estimate:.4f} [{self.low:.4f}, {self.high:.4f}]"


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """The mean of ``values`` (one accuracy per seed) with its Student-t interval, mean ± t_{(1+level)/2, n-1} ·
    s / √n (s with n - 1 degrees of freedom); undefined for a single value."""
    from scipy.stats import t

    values = [float(v) for v in values]
    if not values:
        raise InputError("a mean needs at least one value")
    n, mean = len(values), math.fsum(values) / len(values)
    if n < 2:
        return Interval(mean, None, None, n, level)
    s = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf((1 + level) / 2, n - 1)) * s / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, level)


def with_interval(accuracy: float, n: int) -> str:
    """``0.7778 [0.712, 0.832]``: an accuracy on ``n`` inputs with its 95 % Wilson interval, as reports print it."""
    i = wilson_interval(round(accuracy * n), n)
    return f"{accuracy:.4f} [{i.low:.3f}, {i.high:.3f}]"


def wilson_interval(successes: int, n: int, level: float = 0.95) -> Interval:
    """An accuracy of ``successes`` out of ``n`` inputs with its Wilson score interval (stays inside [0, 1] and
    is sensible at 0 and n successes, unlike the normal approximation)."""
    from statistics import NormalDist

    if n < 0 or not 0 <= successes <= max(n, 0):
        raise InputError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return Interval(math.nan, None, None, 0, level)
    z = NormalDist().inv_cdf((1 + level) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n, level)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: under "no difference" each of the b + c discordant pairs goes either
    way with probability ½, so p = min(1, 2 · P(X ≤ min(b, c))) for X ~ Binomial(b + c, ½); 1 when b + c = 0."""
    from scipy.stats import binom

    if b < 0 or c < 0:
        raise InputError(f"discordant counts must be non-negative, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return min(1.0, 2.0 * float(binom.cdf(min(b, c), b + c, 0.5)))


def discordant_pairs(a: Sequence[bool], b: Sequence[bool]) -> tuple[int, int]:
    """(inputs A got right and B wrong, inputs A got wrong and B right) for two methods on the same inputs."""
    if len(a) != len(b):
        raise InputError(f"paired outcomes need the same inputs: {len(a)} against {len(b)}")
    pairs = list(zip(a, b, strict=True))
    return sum(1 for x, y in pairs if x and not y), sum(1 for x, y in pairs if y and not x)


@dataclass(frozen=True)
class McNemar:
    """The exact McNemar test of A against B: ``b`` inputs only A got right, ``c`` only B got right, over
    ``pairs`` paired inputs in ``strata`` strata."""

    b: int
    c: int
    p_value: float
    pairs: int
    strata: int = 1

    def verdict(self, a: str, b: str, alpha: float = ALPHA) -> str:
        """"A beats B (p=…)" only when the test rejects "no difference" at ``alpha``; the direction is the side
        with more discordant wins."""
        if self.p_value < alpha and self.b != self.c:
            winner, loser = (a, b) if self.b > self.c else (b, a)
            return f"{winner} beats {loser} (p={self.p_value:.3g})"
        return f"no significant difference (p={self.p_value:.3g})"


def mcnemar_test(a: Sequence[bool], b: Sequence[bool]) -> McNemar:
    """The exact McNemar test on one set of paired inputs."""
    return stratified_mcnemar([(a, b)])


def stratified_mcnemar(strata: Iterable[tuple[Sequence[bool], Sequence[bool]]]) -> McNemar:
    """The exact McNemar test pooled over strata (one per seed, each with its own test split): pairs are formed
    within a stratum only, and the discordant counts are summed — under "no difference" every discordant pair,
    whatever its stratum, goes either way with probability ½, so the pooled counts follow one Binomial."""
    b = c = pairs = count = 0
    for a_correct, b_correct in strata:
        sb, sc = discordant_pairs(a_correct, b_correct)
        b, c, pairs, count = b + sb, c + sc, pairs + len(a_correct), count + 1
    return McNemar(b, c, mcnemar_exact(b, c), pairs, count)


__all__ = ["ALPHA", "Interval", "McNemar", "discordant_pairs", "mcnemar_exact", "mcnemar_test",
           "stratified_mcnemar", "t_interval", "wilson_interval", "with_interval"]
