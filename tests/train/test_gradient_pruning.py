"""QOC's probabilistic gradient pruning: the window schedule, how many and which gradients a pruning step keeps,
and its state across a checkpoint."""

import pytest
import torch

from qml.errors import InputError
from qml.train.gradient_pruning import GradientPruner, PruningSchedule


def test_windows_alternate_full_steps_and_pruned_steps_that_keep_the_stated_share():
    pruner = GradientPruner(10, PruningSchedule(ratio=0.5, accumulate=2, prune=3), seed=0)
    kinds = []
    for _ in range(10):
        mask = pruner.mask()
        kinds.append("full" if mask is None else int(mask.sum()))
        pruner.observe(torch.ones(10))
    assert kinds == ["full", "full", 5, 5, 5] * 2


def test_a_pruning_step_draws_in_proportion_to_the_accumulated_magnitudes():
    pruner = GradientPruner(4, PruningSchedule(ratio=0.75, accumulate=1, prune=1), seed=1)
    picks = torch.zeros(4)
    for _ in range(400):
        pruner.observe(torch.tensor([0.0, 1.0, 3.0, 0.0]))  # accumulation step: the stage starts from these
        mask = pruner.mask()
        picks += mask.double()
        pruner.observe(None)
    # one slot per step, drawn with probabilities 0, 1/4, 3/4, 0 (binomial, 400 draws: 5 standard deviations)
    assert picks[0] == 0 and picks[3] == 0
    assert abs(picks[2] / 400 - 0.75) < 5 * (0.75 * 0.25 / 400) ** 0.5


def test_a_new_stage_forgets_the_last_stages_magnitudes():
    pruner = GradientPruner(2, PruningSchedule(ratio=0.5, accumulate=1, prune=1), seed=0)
    pruner.observe(torch.tensor([5.0, 0.0]))
    pruner.mask(), pruner.observe(None)
    pruner.observe(torch.tensor([0.0, 2.0]))
    assert pruner.magnitude.tolist() == [0.0, 2.0]
    assert pruner.mask().tolist() == [False, True]


def test_its_state_restores_the_same_draws():
    a = GradientPruner(6, PruningSchedule(0.5, 1, 2), seed=3)
    a.observe(torch.arange(6.0))
    b = GradientPruner(6, PruningSchedule(0.5, 1, 2), seed=99)
    b.load_state_dict(a.state_dict())
    assert [a.mask().tolist() for _ in range(5)] == [b.mask().tolist() for _ in range(5)]


@pytest.mark.parametrize("args", [(1.0, 1, 2), (-0.1, 1, 2), (0.5, 0, 2), (0.5, 1, 0)])
def test_bad_settings_are_one_clear_error(args):
    with pytest.raises(InputError, match="gradient pruning"):
        PruningSchedule(*args)
