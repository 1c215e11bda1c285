"""Evolutionary co-search of subcircuit gene x qubit layout (QuantumNAS), and random search at equal budget.

A candidate is ``(gene, layout)``; ``layout[i]`` is the physical qubit of logical wire i (distinct qubits of the
device forming a connected region; pairs of native two-qubit gates must sit on coupled qubits). Every evaluated
candidate goes to an ``Evaluations`` store keyed by its fingerprint, appended to a JSON-lines file as it is
computed; the search is deterministic in its seed, so a killed search rerun with the same store replays its choices
and evaluates no candidate twice."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qml.device import TWO_QUBIT_GATES
from qml.errors import InputError
from qml.search.space import DesignSpace, Gene


@dataclass(frozen=True)
class EvolutionConfig:
    """Defaults as the QuantumNAS artifact: population 40 = 10 parents + 20 mutations + 10 crossovers,
    mutation probability 0.4, 40 generations."""

    population: int = 40
    parents: int = 10
    mutations: int = 20
    mutation_prob: float = 0.4
    crossovers: int = 10
    generations: int = 40
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("population", "parents", "generations"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("mutations", "crossovers"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise InputError(f"{name} must be a non-negative integer, got {getattr(self, name)!r}")
        if self.parents > self.population:
            raise InputError(f"parents ({self.parents}) cannot exceed the population ({self.population})")
        if self.parents + self.mutations + self.crossovers > self.population:
            raise InputError(f"parents + mutations + crossovers ({self.parents + self.mutations + self.crossovers})"
                             f" exceed the population ({self.population})")
        if not 0.0 <= self.mutation_prob <= 1.0:
            raise InputError(f"mutation probability must be in [0, 1], got {self.mutation_prob}")


@dataclass(frozen=True)
class Candidate:
    gene: Gene
    layout: tuple[int, ...]


class LayoutSpace:
    """Placements of ``n_wires`` logical wires on a device's qubits: the qubits of a layout always form a connected
    region of the coupling map (on a 133-qubit device, wires scattered over the chip would pay for dozens of SWAPs
    and the twin would simulate every qubit in between). ``random`` grows a region from a random qubit by random
    neighbours and puts the wires on it in random order; ``mutate`` exchanges two wires or moves one wire to
    another qubit next to the region, keeping it connected."""

    def __init__(self, n_wires: int, n_qubits: int, edges: Sequence[tuple[int, int]]) -> None:
        if n_wires > n_qubits:
            raise InputError(f"the design space has {n_wires} wires but the device has only {n_qubits} qubits")
        self.n_wires, self.n_qubits = n_wires, n_qubits
        self.edges = {(min(a, b), max(a, b)) for a, b in edges}
        self.neighbours: dict[int, set[int]] = {q: set() for q in range(n_qubits)}
        for a, b in self.edges:
            self.neighbours[a].add(b)
            self.neighbours[b].add(a)
        self.starts = [q for q in range(n_qubits) if self._component_size(q) >= n_wires]
        if not self.starts:
            raise InputError(f"the device has no {n_wires} connected qubits for the design space's {n_wires} wires")

    def _component_size(self, start: int) -> int:
        seen, todo = {start}, [start]
        while todo:
            for q in self.neighbours[todo.pop()] - seen:
                seen.add(q)
                todo.append(q)
        return len(seen)

    def connected(self, qubits: Sequence[int]) -> bool:
        qubits = set(qubits)
        start = next(iter(qubits))
        seen, todo = {start}, [start]
        while todo:
            for q in (self.neighbours[todo.pop()] & qubits) - seen:
                seen.add(q)
                todo.append(q)
        return seen == qubits

    def valid(self, layout: Sequence[int], pairs: Sequence[tuple[int, int]]) -> bool:
        return self.connected(layout) and \
            all((min(layout[a], layout[b]), max(layout[a], layout[b])) in self.edges for a, b in pairs)

    def random(self, rng: random.Random) -> tuple[int, ...]:
        region = [rng.choice(self.starts)]
        while len(region) < self.n_wires:
            frontier = sorted({q for r in region for q in self.neighbours[r]} - set(region))
            region.append(rng.choice(frontier))
        rng.shuffle(region)
        return tuple(region)

    def mutate(self, layout: tuple[int, ...], rng: random.Random) -> tuple[int, ...]:
        out = list(layout)
        i = rng.randrange(self.n_wires)
        if rng.random() < 0.5:
            rest = set(out[:i] + out[i + 1:])
            near = sorted(q for q in {n for r in rest for n in self.neighbours[r]} - set(out)
                          if self.connected(rest | {q}))
            if near:
                out[i] = rng.choice(near)
                return tuple(out)
        if self.n_wires > 1:
            j = rng.choice([k for k in range(self.n_wires) if k != i])
            out[i], out[j] = out[j], out[i]
        return tuple(out)


def native_pairs(space: DesignSpace, gene: Gene) -> list[tuple[int, int]]:
    """Logical wire pairs of the native two-qubit gates a gene keeps (they must land on coupled qubits)."""
    pairs = set()
    for b in range(gene[0]):
        for li, layer in enumerate(space.layers):
            if layer.gate in TWO_QUBIT_GATES:
                pairs.update(tuple(sorted(layer.slots[j])) for j in space.kept_slots(gene, b, li))
    return sorted(pairs)


class Evaluations:
    """Evaluated candidates by fingerprint, kept in a JSON-lines file (``None``: memory only)."""

    def __init__(self, space: DesignSpace, path: Path | None = None) -> None:
        self.space, self.path = space, path
        self.records: dict[str, dict] = {}
        if path is not None and path.exists():
            text = path.read_text()
            end = text.rfind("\n") + 1  # after the last complete line
            for n, line in enumerate(text[:end].splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    self.records[row["fingerprint"]] = row
                except (ValueError, KeyError, TypeError):
                    raise InputError(f"{path} line {n} is not an evaluation record; delete the file to start "
                                     "over") from None
            if end < len(text):
                # the last line was cut by a kill: drop it, so the next record starts a line of its own; that
                # candidate is evaluated again
                with path.open("r+b") as f:
                    f.truncate(len(text[:end].encode()))
        self.new = 0

    def fitness(self, candidate: Candidate, evaluate: Callable[[Candidate], dict], stage: str) -> float:
        key = self.space.fingerprint(candidate.gene, candidate.layout)
        if key not in self.records:
            self._add(key, candidate, stage, evaluate(candidate))
        return float(self.records[key]["fitness"])

    def fill(self, candidates: Sequence[Candidate], evaluate_many: Callable[[list[Candidate]], list[dict]],
             stage: str) -> None:
        """The candidates not in the store yet, each once, evaluated together by ``evaluate_many`` (e.g. on Ray's
        workers) and recorded in the order given: the store ends as one ``fitness`` call per candidate leaves it."""
        missing, keys = [], []
        for c in candidates:
            key = self.space.fingerprint(c.gene, c.layout)
            if key not in self.records and key not in keys:
                missing.append(c)
                keys.append(key)
        if missing:
            for key, c, row in zip(keys, missing, evaluate_many(missing), strict=True):
                self._add(key, c, stage, row)

    def _add(self, key: str, candidate: Candidate, stage: str, evaluation: dict) -> None:
        row = {"fingerprint": key, "gene": list(candidate.gene), "layout": list(candidate.layout), "stage": stage,
               **evaluation}
        self.records[key] = row
        self.new += 1
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")


def _random_candidate(space: DesignSpace, layouts: LayoutSpace, rng: random.Random, tries: int = 200) -> Candidate:
    for _ in range(tries):
        gene = space.random_gene(rng)
        layout = layouts.random(rng)
        if layouts.valid(layout, native_pairs(space, gene)):
            return Candidate(gene, layout)
    raise InputError(f"found no layout on the device that puts design space {space.name!r}'s native two-qubit "
                     f"gates on coupled qubits in {tries} tries")


def _mutate(space, layouts, parent: Candidate, p: float, rng: random.Random) -> Candidate:
    for _ in range(100):
        gene = tuple(rng.choice(space.choices(i)) if rng.random() < p else v for i, v in enumerate(parent.gene))
        layout = layouts.mutate(parent.layout, rng) if rng.random() < p else parent.layout
        if layouts.valid(layout, native_pairs(space, gene)):
            return Candidate(gene, layout)
    return parent


def _crossover(space, layouts, a: Candidate, b: Candidate, rng: random.Random) -> Candidate:
    for _ in range(100):
        gene = tuple(x if rng.random() < 0.5 else y for x, y in zip(a.gene, b.gene, strict=True))
        layout = a.layout if rng.random() < 0.5 else b.layout
        if layouts.valid(layout, native_pairs(space, gene)):
            return Candidate(gene, layout)
    return a


def ranked(best: Candidate, scored: list[tuple[float, Candidate]]) -> list[Candidate]:
    """The short list a search retrains its finalists from: ``best`` first, then the best candidate of each other
    layout, by fitness (highest first; ties in the order given). One per layout, because an evolved population
    converges: its next-best candidates are near-copies of the best on the same qubits (measured: three finalists
    one gene apart, same layout, same validation accuracy)."""
    out, seen = [best], {tuple(best.layout)}
    for _, c in sorted(scored, key=lambda pair: -pair[0]):
        if tuple(c.layout) not in seen:
            seen.add(tuple(c.layout))
            out.append(c)
    return out


def evolve(space: DesignSpace, layouts: LayoutSpace, evaluate: Callable[[Candidate], dict],
           config: EvolutionConfig, store: Evaluations, on_generation: Callable[[dict], None] | None = None,
           seeds: Sequence[Candidate] = (),
           evaluate_many: Callable[[list[Candidate]], list[dict]] | None = None) -> tuple[Candidate, list[dict]]:
    """Run the evolution; returns the best candidate and one record per generation. ``seeds`` (e.g. the human
    design on its best layout) open the first generation; random candidates fill the rest. With ``evaluate_many``
    each generation's new candidates are evaluated together (the same records, in the same order)."""
    rng = random.Random(config.seed)
    population = [_random_candidate(space, layouts, rng) for _ in range(config.population)]
    population[:len(seeds)] = list(seeds)[:config.population]
    history, best, best_fit = [], None, float("-inf")
    for generation in range(config.generations):
        if evaluate_many is not None:
            store.fill(population, evaluate_many, "evolution")
        scored = sorted(((store.fitness(c, evaluate, "evolution"), i, c) for i, c in enumerate(population)),
                        key=lambda t: (-t[0], t[1]))
        fits = [f for f, _, _ in scored]
        if fits[0] > best_fit:
            best_fit, best = fits[0], scored[0][2]
        record = {"generation": generation + 1, "best": fits[0], "mean": sum(fits) / len(fits),
                  "best_so_far": best_fit, "best_gene": list(best.gene), "best_layout": list(best.layout),
                  "evaluated": len(store.records)}
        history.append(record)
        if on_generation:
            on_generation(record)
        parents = [c for _, _, c in scored[: config.parents]]
        children = [_mutate(space, layouts, rng.choice(parents), config.mutation_prob, rng)
                    for _ in range(config.mutations)]
        children += [_crossover(space, layouts, *rng.sample(parents, 2) if len(parents) > 1 else parents * 2, rng)
                     for _ in range(config.crossovers)]
        fresh = [_random_candidate(space, layouts, rng)
                 for _ in range(config.population - len(parents) - len(children))]
        population = parents + children + fresh
    return best, history


def random_search(space: DesignSpace, layouts: LayoutSpace, evaluate: Callable[[Candidate], dict], budget: int,
                  store: Evaluations, seed: int = 0,
                  evaluate_many: Callable[[list[Candidate]], list[dict]] | None = None
                  ) -> tuple[Candidate, list[dict]]:
    """``budget`` random candidates (the evolution's number of distinct evaluations); best first. The draws do not
    depend on the scores, so with ``evaluate_many`` they are evaluated together."""
    rng = random.Random(seed + 7919)
    drawn = [_random_candidate(space, layouts, rng) for _ in range(budget)]
    if evaluate_many is not None:
        store.fill(drawn, evaluate_many, "random")
    history, best, best_fit = [], None, float("-inf")
    for i, c in enumerate(drawn):
        fit = store.fitness(c, evaluate, "random")
        if fit > best_fit:
            best_fit, best = fit, c
        history.append({"evaluation": i + 1, "fitness": fit, "best_so_far": best_fit, "gene": list(c.gene),
                        "layout": list(c.layout)})
    return best, history


__all__ = ["Candidate", "EvolutionConfig", "Evaluations", "LayoutSpace", "evolve", "random_search", "ranked"]
