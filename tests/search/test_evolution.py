"""Evolutionary co-search of gene x layout and random search, with a deterministic toy fitness; the store of
evaluations that lets a killed search resume without evaluating a candidate twice."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace

import pytest

import qml
from qml.noise import load_snapshot
from qml.search.evolution import (
    Candidate,
    Evaluations,
    EvolutionConfig,
    LayoutSpace,
    evolve,
    native_pairs,
    random_search,
)
from qml.search.loader import load_space

CONFIG = EvolutionConfig(population=8, parents=3, mutations=3, crossovers=2, generations=5, seed=1)


@pytest.fixture(scope="module")
def quito():
    return load_snapshot("ibm_quito")


@pytest.fixture(scope="module")
def layouts(quito):
    return LayoutSpace(4, quito.num_qubits, quito.edges)


@pytest.fixture(scope="module")
def space():
    return load_space("u3cu3", n_blocks=4)


def toy(candidate: Candidate) -> dict:
    """Bigger genes are better; higher-numbered qubits cost a little."""
    return {"fitness": float(sum(candidate.gene) - sum(candidate.layout) / 10)}


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, candidate: Candidate) -> dict:
        self.calls += 1
        return toy(candidate)


# -- configuration ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options,message", [
    ({"population": 2, "parents": 5}, "parents (5) cannot exceed the population (2)"),
    ({"population": 8, "parents": 3, "mutations": 4, "crossovers": 2},
     "parents + mutations + crossovers (9) exceed the population (8)"),
    ({"generations": 0}, "generations must be a positive integer, got 0"),
    ({"mutation_prob": 1.5}, "mutation probability must be in [0, 1], got 1.5"),
])
def test_evolution_config_rejects_inconsistent_settings(options, message):
    with pytest.raises(qml.InputError) as info:
        EvolutionConfig(**options)
    assert str(info.value) == message


# -- layouts ---------------------------------------------------------------------------------------------------------
def test_random_and_mutated_layouts_are_distinct_qubits_of_the_device(layouts):
    rng = random.Random(0)
    layout = layouts.random(rng)
    for _ in range(200):
        layout = layouts.mutate(layout, rng)
        for candidate in (layouts.random(rng), layout):
            assert len(candidate) == 4 and len(set(candidate)) == 4
            assert all(0 <= q < 5 for q in candidate)


@pytest.mark.parametrize("name", ["ibm_quito", "ibm_torino"])
def test_every_layout_drawn_or_mutated_is_a_connected_region_of_the_coupling_map(name):
    """Checked with a breadth-first search of our own over the snapshot's edges; on Torino (133 qubits) the
    regions must also move about: mutations reach qubits the first region did not hold."""
    snapshot = load_snapshot(name)
    space, rng = LayoutSpace(4, snapshot.num_qubits, snapshot.edges), random.Random(1)
    adjacent = {(a, b) for a, b in snapshot.edges} | {(b, a) for a, b in snapshot.edges}

    def region_is_connected(qubits) -> bool:
        reached, todo = {qubits[0]}, [qubits[0]]
        while todo:
            q = todo.pop()
            for r in qubits:
                if (q, r) in adjacent and r not in reached:
                    reached.add(r)
                    todo.append(r)
        return reached == set(qubits)

    layout, visited = space.random(rng), set()
    for _ in range(300):
        layout = space.mutate(layout, rng)
        visited |= set(layout)
        for candidate in (space.random(rng), layout):
            assert len(set(candidate)) == 4 and region_is_connected(candidate), candidate
    assert len(visited) >= min(7, snapshot.num_qubits)


def test_layout_space_rejects_a_device_without_enough_connected_qubits():
    with pytest.raises(qml.InputError, match="no 4 connected qubits"):
        LayoutSpace(4, 5, [(0, 1), (1, 2), (3, 4)])


def test_layout_space_rejects_a_device_with_too_few_qubits():
    with pytest.raises(qml.InputError, match="the design space has 4 wires but the device has only 3 qubits"):
        LayoutSpace(4, 3, [(0, 1), (1, 2)])


def test_native_two_qubit_gates_of_every_candidate_sit_on_coupled_qubits(quito, layouts):
    space = load_space("ibm_basis", n_blocks=2)
    store = Evaluations(space)
    evolve(space, layouts, toy, CONFIG, store)
    random_search(space, layouts, toy, 10, store, seed=1)
    coupled = {tuple(sorted(edge)) for edge in quito.edges}
    for row in store.records.values():
        pairs = native_pairs(space, tuple(row["gene"]))
        assert pairs, "every gene keeps at least one cx of the ring"
        assert all(tuple(sorted((row["layout"][a], row["layout"][b]))) in coupled for a, b in pairs), row


def test_native_pairs_are_the_kept_slots_of_native_layers():
    space = load_space("ibm_basis", n_blocks=2)  # layers rz, x, rz, sx, rz, cx on the ring
    gene = (1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 4)  # one block used: the second block's ring is not
    assert native_pairs(space, gene) == [(0, 1), (1, 2)]


def test_native_pairs_ignore_non_native_two_qubit_gates(space):
    assert native_pairs(space, space.largest()) == []  # cu3 is transpiled, not native


# -- evolution -------------------------------------------------------------------------------------------------------
def test_evolution_improves_the_best_fitness_over_generations(space, layouts):
    _, history = evolve(space, layouts, toy, CONFIG, Evaluations(space))
    best = [row["best_so_far"] for row in history]
    assert len(history) == CONFIG.generations
    assert best == sorted(best) and best[-1] > history[0]["best"]


def test_evolution_returns_the_best_candidate_it_evaluated(space, layouts):
    store = Evaluations(space)
    best, history = evolve(space, layouts, toy, CONFIG, store)
    top = max(row["fitness"] for row in store.records.values())
    assert toy(best)["fitness"] == top == history[-1]["best_so_far"]
    assert (list(best.gene), list(best.layout)) == (history[-1]["best_gene"], history[-1]["best_layout"])


def test_the_seed_fixes_the_search(space, layouts):
    first = evolve(space, layouts, toy, CONFIG, Evaluations(space))
    assert evolve(space, layouts, toy, CONFIG, Evaluations(space)) == first
    assert evolve(space, layouts, toy, replace(CONFIG, seed=2), Evaluations(space))[1] != first[1]


def test_every_candidate_is_evaluated_once(space, layouts):
    store, evaluate = Evaluations(space), Counting()
    evolve(space, layouts, evaluate, CONFIG, store)
    assert evaluate.calls == store.new == len(store.records)


# -- the store of evaluations ----------------------------------------------------------------------------------------
def test_a_second_search_with_the_same_store_evaluates_nothing(space, layouts, tmp_path):
    path = tmp_path / "evaluations.jsonl"
    first, _ = evolve(space, layouts, toy, CONFIG, Evaluations(space, path))
    store, evaluate = Evaluations(space, path), Counting()
    again, _ = evolve(space, layouts, evaluate, CONFIG, store)
    assert (store.new, evaluate.calls) == (0, 0)
    assert again == first


def test_the_store_file_has_one_record_per_evaluated_candidate(space, layouts, tmp_path):
    path = tmp_path / "evaluations.jsonl"
    store = Evaluations(space, path)
    evolve(space, layouts, toy, CONFIG, store)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == len({row["fingerprint"] for row in rows}) == store.new
    assert all(row["stage"] == "evolution" and row["fitness"] == toy(Candidate(tuple(row["gene"]),
               tuple(row["layout"])))["fitness"] for row in rows)


def test_a_last_line_cut_by_a_kill_is_dropped_and_evaluated_again(space, layouts, tmp_path):
    path = tmp_path / "evaluations.jsonl"
    evolve(space, layouts, toy, CONFIG, Evaluations(space, path))
    complete = path.read_text()
    path.write_text(complete[: complete.rstrip("\n").rfind("\n") + 30])  # the last record half written
    store = Evaluations(space, path)
    assert len(store.records) == len(complete.splitlines()) - 1
    evolve(space, layouts, toy, CONFIG, store)
    assert store.new == 1
    assert path.read_text() == complete  # the record written again on a line of its own


def test_a_corrupted_middle_line_is_an_error_naming_the_file(space, layouts, tmp_path):
    path = tmp_path / "evaluations.jsonl"
    evolve(space, layouts, toy, CONFIG, Evaluations(space, path))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2] + ['{"fingerprint": "abc", "gen\n'] + lines[3:]))
    with pytest.raises(qml.InputError, match=re.escape(f"{path} line 3 is not an evaluation record")):
        Evaluations(space, path)


# -- random search ---------------------------------------------------------------------------------------------------
def test_random_search_draws_exactly_its_budget(space, layouts):
    store, evaluate = Evaluations(space), Counting()
    best, history = random_search(space, layouts, evaluate, 12, store, seed=3)
    assert len(history) == 12 and evaluate.calls == len(store.records) == 12
    assert toy(best)["fitness"] == max(row["fitness"] for row in history) == history[-1]["best_so_far"]


def test_random_search_reuses_candidates_the_store_already_holds(space, layouts):
    store = Evaluations(space)
    random_search(space, layouts, toy, 12, store, seed=3)
    evaluate = Counting()
    random_search(space, layouts, evaluate, 12, store, seed=3)
    assert evaluate.calls == 0


# -- scoring in batches (what a search on Ray's workers does) --------------------------------------------------------
class Batches:
    """``evaluate_many``: each call's candidates scored by ``toy``; records how many each call got."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, candidates: list[Candidate]) -> list[dict]:
        self.sizes.append(len(candidates))
        return [toy(c) for c in candidates]


def test_evolution_scored_in_batches_writes_the_store_file_of_one_call_per_candidate(space, layouts, tmp_path):
    one = evolve(space, layouts, toy, CONFIG, Evaluations(space, tmp_path / "one.jsonl"))
    batches = Batches()
    many = evolve(space, layouts, Counting(), CONFIG, Evaluations(space, tmp_path / "many.jsonl"),
                  evaluate_many=batches)
    assert many == one
    assert (tmp_path / "many.jsonl").read_text() == (tmp_path / "one.jsonl").read_text()
    assert len(batches.sizes) == CONFIG.generations and batches.sizes[0] == CONFIG.population
    assert sum(batches.sizes) == len((tmp_path / "one.jsonl").read_text().splitlines())  # each candidate once


def test_random_search_scored_in_one_batch_equals_one_call_per_candidate(space, layouts, tmp_path):
    one = random_search(space, layouts, toy, 12, Evaluations(space, tmp_path / "one.jsonl"), seed=3)
    batches = Batches()
    many = random_search(space, layouts, Counting(), 12, Evaluations(space, tmp_path / "many.jsonl"), seed=3,
                         evaluate_many=batches)
    assert many == one and len(batches.sizes) == 1
    assert (tmp_path / "many.jsonl").read_text() == (tmp_path / "one.jsonl").read_text()


def test_train_free_draws_scored_in_one_batch_equal_one_call_per_candidate(space, layouts, tmp_path):
    from qml.search.trainfree import score_candidates

    def score(gene, layout) -> dict:
        return toy(Candidate(gene, layout))

    one = score_candidates(space, layouts, score, 10, Evaluations(space, tmp_path / "one.jsonl"), seed=4)
    batches = Batches()
    many = score_candidates(space, layouts, score, 10, Evaluations(space, tmp_path / "many.jsonl"), seed=4,
                            evaluate_many=batches)
    assert many == one and batches.sizes == [10]
    assert (tmp_path / "many.jsonl").read_text() == (tmp_path / "one.jsonl").read_text()
