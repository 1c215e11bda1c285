"""SuperCircuit samplers: which subcircuit (gene) of a design space trains at each step.

Every sampler draws only from the ``random.Random`` it is given, so a seed fixes its whole sequence:

- ``uniform``: any gene, each position uniform over its choices;
- ``front``: only "front" layers — the first k slots of each layer (for the arbitrary variant, masks 2^k - 1);
- ``restricted``: QuantumNAS's restricted sampling — after a uniform first gene, each gene re-draws at most
  ``n_positions`` randomly chosen positions of the previous one (TorchQuantum's ``limit_diff``, 3 in its configs);
- ``progressive``: progressive shrinking — early steps sample only large subcircuits, then the space opens up
  (see ``ProgressiveSampler``).
"""

from __future__ import annotations

import inspect
import random

from qml.errors import InputError, did_you_mean
from qml.search.space import DesignSpace, Gene


def gate_count(space: DesignSpace, position: int, value: int) -> int:
    """How many blocks (position 0) or slots (a layer position) ``value`` keeps."""
    return value if position == 0 or space.variant == "front" else value.bit_count()


class Sampler:
    """Base: each position is drawn uniformly from ``choices(position, step, total_steps)``."""

    def __init__(self, space: DesignSpace, rng: random.Random) -> None:
        self.space, self.rng = space, rng

    def choices(self, position: int, step: int, total_steps: int) -> list[int]:
        return list(self.space.choices(position))

    def sample(self, step: int, total_steps: int) -> Gene:
        return tuple(self.rng.choice(self.choices(i, step, total_steps)) for i in range(self.space.gene_length))


class UniformSampler(Sampler):
    """Any gene: each position uniform over all its choices."""


class FrontSampler(Sampler):
    """Only front layers: a layer keeps its first k slots, k uniform; equal to uniform for the front variant."""

    def choices(self, position: int, step: int, total_steps: int) -> list[int]:
        values = self.space.choices(position)
        if position == 0 or self.space.variant == "front":
            return list(values)
        return [(1 << k) - 1 for k in range(1, max(values).bit_length() + 1)]


class RestrictedSampler(Sampler):
    """Each gene differs from the previous one in at most ``n_positions`` positions: those are drawn without
    replacement and re-drawn uniformly (possibly to the same value). The first gene is uniform."""

    def __init__(self, space: DesignSpace, rng: random.Random, n_positions: int = 3) -> None:
        super().__init__(space, rng)
        if not isinstance(n_positions, int) or isinstance(n_positions, bool) or n_positions < 1:
            raise InputError(f"restricted sampler: n_positions must be a positive integer, got {n_positions!r}")
        self.n_positions = n_positions
        self.previous: Gene | None = None

    def sample(self, step: int, total_steps: int) -> Gene:
        if self.previous is None:
            gene = super().sample(step, total_steps)
        else:
            values = list(self.previous)
            n = min(self.n_positions, len(values))
            for i in self.rng.sample(range(len(values)), n):
                values[i] = self.rng.choice(self.choices(i, step, total_steps))
            gene = tuple(values)
        self.previous = gene
        return gene


class ProgressiveSampler(Sampler):
    """Progressive shrinking (QuantumNAS): large subcircuits first, the whole space by ``open_at``.

    With progress ``p = min(1, step / (open_at * total_steps))``, a position whose values keep between 1 and
    ``M`` blocks or slots (``M`` = n_blocks, or the layer's slot count) only allows values keeping at least
    ``M - round((M - 1) * p)`` of them, drawn uniformly among those. Step 0 therefore trains the SuperCircuit
    itself; the minimum then falls linearly until, from ``open_at * total_steps`` on, every value is allowed.
    """

    def __init__(self, space: DesignSpace, rng: random.Random, open_at: float = 0.5) -> None:
        super().__init__(space, rng)
        if not isinstance(open_at, (int, float)) or isinstance(open_at, bool) or not 0 < open_at <= 1:
            raise InputError(f"progressive sampler: open_at must be in (0, 1], got {open_at!r}")
        self.open_at = float(open_at)

    def progress(self, step: int, total_steps: int) -> float:
        if total_steps <= 0:
            return 1.0
        return min(1.0, max(0.0, step / (self.open_at * total_steps)))

    def minimum(self, position: int, step: int, total_steps: int) -> int:
        """The fewest blocks or slots a value at ``position`` may keep at ``step``."""
        largest = gate_count(self.space, position, max(self.space.choices(position)))
        return largest - round((largest - 1) * self.progress(step, total_steps))

    def choices(self, position: int, step: int, total_steps: int) -> list[int]:
        low = self.minimum(position, step, total_steps)
        return [v for v in self.space.choices(position) if gate_count(self.space, position, v) >= low]


SAMPLERS = {"uniform": UniformSampler, "front": FrontSampler, "restricted": RestrictedSampler,
            "progressive": ProgressiveSampler}


def make_sampler(name: str, space: DesignSpace, rng: random.Random, **options) -> Sampler:
    """The sampler called ``name`` (uniform, front, restricted, progressive) with its ``options``."""
    try:
        cls = SAMPLERS[name]
    except (KeyError, TypeError):
        hint = did_you_mean(str(name), SAMPLERS)
        raise InputError(f"unknown sampler {name!r}{hint} (known: {', '.join(SAMPLERS)})") from None
    try:
        inspect.signature(cls).bind(space, rng, **options)
    except TypeError as exc:
        raise InputError(f"sampler {name!r} does not accept options {sorted(options)}: {exc}") from None
    return cls(space, rng, **options)
