"""SuperCircuit samplers: which genes each one draws, and that a seed fixes the sequence."""

from __future__ import annotations

import random

import pytest

import qml
from qml.search.loader import load_space
from qml.search.samplers import (
    FrontSampler,
    ProgressiveSampler,
    RestrictedSampler,
    UniformSampler,
    gate_count,
    make_sampler,
)

NAMES = ("uniform", "front", "restricted", "progressive")


@pytest.fixture(scope="module")
def spaces():
    return {v: load_space("u3cu3", variant=v, n_blocks=4) for v in ("front", "arbitrary")}


def _draw(sampler, total=200):
    return [sampler.sample(step, total) for step in range(total)]


@pytest.mark.parametrize("variant", ["front", "arbitrary"])
@pytest.mark.parametrize("name", NAMES)
def test_every_sampler_draws_valid_genes(spaces, name, variant):
    space = spaces[variant]
    for gene in _draw(make_sampler(name, space, random.Random(0))):
        assert space.check_gene(gene) == gene


@pytest.mark.parametrize("name", NAMES)
def test_the_seed_fixes_the_sequence(spaces, name):
    space = spaces["arbitrary"]
    first = _draw(make_sampler(name, space, random.Random(7)))
    assert first == _draw(make_sampler(name, space, random.Random(7)))
    assert first != _draw(make_sampler(name, space, random.Random(8)))


def test_uniform_sampler_reaches_every_value(spaces):
    space = spaces["arbitrary"]
    genes = _draw(UniformSampler(space, random.Random(1)), 2000)
    for i in range(space.gene_length):
        assert {g[i] for g in genes} == set(space.choices(i))


@pytest.mark.parametrize("n_positions", [1, 3])
def test_restricted_sampler_changes_at_most_n_positions_per_step(spaces, n_positions):
    genes = _draw(RestrictedSampler(spaces["arbitrary"], random.Random(2), n_positions=n_positions), 300)
    diffs = [sum(a != b for a, b in zip(g, h, strict=True)) for g, h in zip(genes[:-1], genes[1:], strict=True)]
    assert max(diffs) == n_positions and len(set(genes)) > 50


def test_front_sampler_on_the_arbitrary_variant_keeps_only_prefix_masks(spaces):
    genes = _draw(FrontSampler(spaces["arbitrary"], random.Random(3)), 500)
    masks = {v for g in genes for v in g[1:]}
    assert masks == {0b1, 0b11, 0b111, 0b1111}
    assert {g[0] for g in genes} == {1, 2, 3, 4}


def test_front_sampler_on_the_front_variant_equals_uniform(spaces):
    space = spaces["front"]
    assert _draw(FrontSampler(space, random.Random(4))) == _draw(UniformSampler(space, random.Random(4)))


@pytest.mark.parametrize("variant", ["front", "arbitrary"])
def test_progressive_sampler_starts_large_and_opens_the_whole_space(spaces, variant):
    space = spaces[variant]
    total = 1000
    sampler = ProgressiveSampler(space, random.Random(5), open_at=0.5)
    genes = _draw(sampler, total)
    assert genes[0] == space.largest()
    early = genes[: total // 20]  # progress below 10 %: at most one block or slot fewer than the largest
    for gene in early:
        assert gene[0] >= space.n_blocks - 1
        assert all(gate_count(space, i, v) >= 3 for i, v in enumerate(gene) if i)
    late = genes[total // 2:]
    assert {g[0] for g in late} == set(space.choices(0))
    assert {gate_count(space, 1, g[1]) for g in late} == {1, 2, 3, 4}


def test_progressive_minimum_falls_linearly_to_one(spaces):
    sampler = ProgressiveSampler(spaces["front"], random.Random(0), open_at=0.5)
    minima = [sampler.minimum(0, step, 100) for step in (0, 10, 25, 40, 50, 90)]
    assert minima == [4, 3, 2, 2, 1, 1]  # 4 - round(3 * min(1, step / 50))


def test_unknown_sampler_name_suggests_the_closest(spaces):
    with pytest.raises(qml.InputError, match=r"unknown sampler 'restrict' \(did you mean 'restricted'\?\) "
                                             r"\(known: uniform, front, restricted, progressive\)"):
        make_sampler("restrict", spaces["front"], random.Random(0))


def test_make_sampler_passes_options_and_rejects_unknown_ones(spaces):
    sampler = make_sampler("restricted", spaces["front"], random.Random(0), n_positions=2)
    assert isinstance(sampler, RestrictedSampler) and sampler.n_positions == 2
    with pytest.raises(qml.InputError, match=r"sampler 'front' does not accept options \['n_positions'\]"):
        make_sampler("front", spaces["front"], random.Random(0), n_positions=2)


@pytest.mark.parametrize(("name", "options", "message"), [
    ("restricted", {"n_positions": 0}, "n_positions must be a positive integer"),
    ("progressive", {"open_at": 0}, r"open_at must be in \(0, 1\]"),
])
def test_bad_sampler_options_are_reported(spaces, name, options, message):
    with pytest.raises(qml.InputError, match=message):
        make_sampler(name, spaces["front"], random.Random(0), **options)
