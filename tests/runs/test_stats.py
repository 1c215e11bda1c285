"""The statistics of a study's table against hand computations: the t interval over seeds, the Wilson interval of
one accuracy, and the exact McNemar test, alone and pooled over seeds."""

from __future__ import annotations

import math

import pytest

from qml.errors import InputError
from qml.runs.stats import (
    McNemar,
    discordant_pairs,
    mcnemar_exact,
    mcnemar_test,
    stratified_mcnemar,
    t_interval,
    wilson_interval,
)


def test_mcnemar_exact_is_twice_the_binomial_tail_of_the_smaller_count():
    # b=8, c=2: 2 * P(X <= 2 | n=10, 1/2) = 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact(8, 2) == pytest.approx(0.109375, abs=1e-12)
    assert mcnemar_exact(2, 8) == pytest.approx(0.109375, abs=1e-12)
    assert mcnemar_exact(10, 0) == pytest.approx(2 / 1024, abs=1e-12)


def test_mcnemar_exact_is_one_without_discordant_pairs_or_with_a_tie():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0


def test_t_interval_of_three_seeds_matches_the_hand_computation():
    # mean 0.85, s = 0.05, t_{0.975,2} = 4.302653: half-width 4.302653 * 0.05 / sqrt(3)
    interval = t_interval([0.80, 0.85, 0.90])
    half = 4.302653 * 0.05 / math.sqrt(3)
    assert interval.estimate == pytest.approx(0.85)
    assert interval.low == pytest.approx(0.85 - half, abs=1e-6)
    assert interval.high == pytest.approx(0.85 + half, abs=1e-6)
    assert interval.n == 3


def test_t_interval_of_one_seed_is_undefined_not_invented():
    interval = t_interval([0.7])
    assert interval.estimate == 0.7
    assert not interval.defined and interval.low is None and interval.high is None
    assert "undefined" in str(interval)


def test_wilson_interval_matches_the_hand_computation():
    # 8 of 10, z = 1.959964: centre (0.8 + z²/20) / (1 + z²/10), half z / (1 + z²/10) * sqrt(0.016 + z²/400)
    interval = wilson_interval(8, 10)
    assert interval.estimate == 0.8
    assert interval.low == pytest.approx(0.490162, abs=1e-5)
    assert interval.high == pytest.approx(0.943318, abs=1e-5)


def test_wilson_interval_stays_inside_zero_and_one_at_the_extremes():
    none, every = wilson_interval(0, 12), wilson_interval(12, 12)
    assert none.low == 0.0 and 0 < none.high < 0.3
    assert every.high == 1.0 and 0.7 < every.low < 1


def test_discordant_pairs_count_each_side_and_need_the_same_inputs():
    a = [True, True, False, False, True]
    b = [True, False, True, False, False]
    assert discordant_pairs(a, b) == (2, 1)
    with pytest.raises(InputError, match="same inputs"):
        discordant_pairs(a, b[:4])


def test_stratified_mcnemar_pools_discordant_pairs_formed_within_each_seed():
    # seed 0: 5 inputs, b=4, c=1; seed 1: 7 inputs, b=4, c=1 -> pooled b=8, c=2
    seed0 = ([True] * 4 + [False], [False] * 4 + [True])
    seed1 = ([True] * 4 + [False, True, False], [False] * 4 + [True, True, False])
    test = stratified_mcnemar([seed0, seed1])
    assert (test.b, test.c, test.pairs, test.strata) == (8, 2, 12, 2)
    assert test.p_value == pytest.approx(0.109375)


def test_mcnemar_test_on_one_split_is_the_one_stratum_case():
    test = mcnemar_test([True] * 10, [False] * 10)
    assert (test.b, test.c, test.strata) == (10, 0, 1)
    assert test.p_value == pytest.approx(2 / 1024)


def test_verdict_claims_a_winner_only_below_alpha():
    assert McNemar(10, 0, mcnemar_exact(10, 0), 10).verdict("A", "B") == "A beats B (p=0.00195)"
    assert McNemar(0, 10, mcnemar_exact(0, 10), 10).verdict("A", "B") == "B beats A (p=0.00195)"
    not_significant = McNemar(8, 2, mcnemar_exact(8, 2), 10).verdict("A", "B")
    assert not_significant == "no significant difference (p=0.109)"
    assert "beats" not in not_significant
