"""``gate_prune`` as a stateful pass (``prepare`` -> ``step`` ... -> ``squash``) driven by ``qml.passes.run_stateful``:
a prune killed between or inside steps resumes from its last checkpoint to exactly the result of an uninterrupted
run, the squashed model is a plain one, and each step prunes to its ratio of the schedule."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import qml
from qml.data import load_task
from qml.errors import PassError
from qml.passes import PassContext, make_pass, run_stateful
from qml.train import QuantumClassifier

# 24 used angles: steps prune round(0.25, 0.5, 0.75 x 24) = 6, 12, 18 of them
OPTIONS = {"ratio": 0.75, "start_ratio": 0.25, "steps": 3, "finetune_epochs": 1}
ANGLES = 24


class Killed(Exception):
    """Stands for the process being killed."""


@pytest.fixture(scope="module")
def digits():
    data = load_task("digits4")
    return data.x_train[:64], data.y_train[:64]


def classifier(seed: int = 0) -> QuantumClassifier:
    """A one-block U3 + CU3 ring circuit on 4 qubits (24 trainable angles) with a 4-class head."""
    torch.manual_seed(seed)
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    return QuantumClassifier(qml.QuantumModule(c), 4)


def finetune(x, y, kill_at_call: int | None = None, calls: list | None = None):
    """Two Adam steps per epoch on minibatches drawn with torch's global generator (so a resume is exact only if
    the random state is restored); raises ``Killed`` on call number ``kill_at_call`` (1-based)."""
    calls = [] if calls is None else calls

    def run(model: nn.Module, epochs: int) -> None:
        calls.append(epochs)
        if len(calls) == kill_at_call:
            raise Killed
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)
        for _ in range(2 * epochs):
            batch = torch.randint(0, len(x), (16,))
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return run


def saver(path, kill_after_step: int | None = None, masks: list | None = None):
    """A ``save`` callback: ``torch.save`` each checkpoint to ``path`` (recording its mask), then raise ``Killed``
    after step ``kill_after_step``."""

    def save(checkpoint: dict) -> None:
        torch.save(checkpoint, path)
        if masks is not None:
            masks.append(checkpoint["state"]["mask"])
        if checkpoint["state"]["step"] == kill_after_step:
            raise Killed

    return save


def theta(model: QuantumClassifier) -> torch.Tensor:
    return model.qmodule.theta.detach()


def uninterrupted(digits, tmp_path) -> tuple[dict, list]:
    masks = []
    model, _ = run_stateful(make_pass("gate_prune", **OPTIONS), classifier(), PassContext(finetune=finetune(*digits)),
                            save=saver(tmp_path / "full.pt", masks=masks))
    return model.state_dict(), masks


# -- (a) an interrupted prune resumes exactly ------------------------------------------------------------------
@pytest.mark.parametrize("kill_after_step", [1, 2, 3])
def test_a_prune_killed_in_save_resumes_to_the_uninterrupted_result(digits, tmp_path, kill_after_step):
    expected, expected_masks = uninterrupted(digits, tmp_path)
    path = tmp_path / "checkpoint.pt"
    torch.manual_seed(0)
    with pytest.raises(Killed):
        run_stateful(make_pass("gate_prune", **OPTIONS), classifier(), PassContext(finetune=finetune(*digits)),
                     save=saver(path, kill_after_step))
    torch.manual_seed(123)  # a new process: another random state, a fresh model with other weights, a fresh pass
    masks = []
    model, _ = run_stateful(make_pass("gate_prune", **OPTIONS), classifier(seed=1),
                            PassContext(finetune=finetune(*digits)), state=torch.load(path, weights_only=True),
                            save=saver(path, masks=masks))
    assert all(torch.equal(a, b) for a, b in zip(masks, expected_masks[kill_after_step:], strict=True))
    assert model.state_dict().keys() == expected.keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key


@pytest.mark.parametrize("killed_in_step", [1, 2, 3])
def test_a_prune_killed_while_finetuning_resumes_from_the_last_step_saved(digits, tmp_path, killed_in_step):
    expected, expected_masks = uninterrupted(digits, tmp_path)
    path = tmp_path / "checkpoint.pt"
    torch.manual_seed(0)
    with pytest.raises(Killed):
        run_stateful(make_pass("gate_prune", **OPTIONS), classifier(),
                     PassContext(finetune=finetune(*digits, kill_at_call=killed_in_step)), save=saver(path))
    state = torch.load(path, weights_only=True) if killed_in_step > 1 else None
    assert state is None or state["state"]["step"] == killed_in_step - 1
    model = classifier() if state is None else classifier(seed=1)  # no checkpoint yet: start over as the original
    calls = []
    model, _ = run_stateful(make_pass("gate_prune", **OPTIONS), model,
                            PassContext(finetune=finetune(*digits, calls=calls)), state=state, save=saver(path))
    assert len(calls) == 3 - killed_in_step + 1  # the steps left, the killed one again
    assert torch.equal(torch.load(path, weights_only=True)["state"]["mask"], expected_masks[-1])
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_a_checkpoint_holds_the_step_the_mask_and_the_schedule_so_far(digits, tmp_path):
    path = tmp_path / "checkpoint.pt"
    evaluate = lambda m: 0.5  # noqa: E731
    with pytest.raises(Killed):
        run_stateful(make_pass("gate_prune", **OPTIONS), classifier(),
                     PassContext(finetune=finetune(*digits), evaluate=evaluate), save=saver(path, 2))
    state = torch.load(path, weights_only=True)
    assert (state["pass"], state["config"], state["done"]) == ("gate_prune", OPTIONS, False)
    assert state["state"]["step"] == 2 and int((state["state"]["mask"] == 0).sum()) == 12
    assert state["state"]["history"] == [{"step": 1, "ratio": 0.25, "accuracy": 0.5},
                                         {"step": 2, "ratio": 0.5, "accuracy": 0.5}]
    assert "qmodule.parametrizations.theta.original" in state["model"]


def test_a_resumed_prune_reports_the_whole_schedule_and_the_accuracy_before_it(digits, tmp_path):
    path = tmp_path / "checkpoint.pt"
    accuracy = iter([0.9, 0.8, 0.7, 0.6, 0.5])

    def evaluate(model):
        return next(accuracy)

    with pytest.raises(Killed):
        run_stateful(make_pass("gate_prune", **OPTIONS), classifier(),
                     PassContext(finetune=finetune(*digits), evaluate=evaluate), save=saver(path, 2))
    _, report = run_stateful(make_pass("gate_prune", **OPTIONS), classifier(),
                             PassContext(finetune=finetune(*digits), evaluate=evaluate),
                             state=torch.load(path, weights_only=True))
    assert report.before.accuracy == 0.9 and report.after.accuracy == 0.5
    assert [e["accuracy"] for e in report.details["schedule"]] == [0.8, 0.7, 0.6]
    assert report.details["pruned_angles"] == 18 and report.details["angles"] == ANGLES


def test_resuming_with_another_config_is_refused_naming_the_option(digits, tmp_path):
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(Killed):
        run_stateful(make_pass("gate_prune", **OPTIONS), classifier(), PassContext(finetune=finetune(*digits)),
                     save=saver(path, 1))
    other = make_pass("gate_prune", **{**OPTIONS, "ratio": 0.5})
    with pytest.raises(PassError, match=r"another config: ratio=0.75 \(this pass: 0.5\)"):
        run_stateful(other, classifier(), PassContext(finetune=finetune(*digits)),
                     state=torch.load(path, weights_only=True))


# -- (b) squash leaves a plain model ---------------------------------------------------------------------------
def test_squashed_state_dict_has_no_parametrization_keys(digits):
    model, _ = run_stateful(make_pass("gate_prune", **OPTIONS), classifier(), PassContext(finetune=finetune(*digits)))
    assert not any("parametrizations" in key for key in model.state_dict())
    assert isinstance(model.qmodule.theta, nn.Parameter)


def test_squashed_model_loads_into_a_fresh_classifier_with_the_same_outputs(digits):
    model, _ = run_stateful(make_pass("gate_prune", **OPTIONS), classifier(), PassContext(finetune=finetune(*digits)))
    fresh = classifier(seed=1)
    fresh.load_state_dict(model.state_dict())
    x = digits[0][:8]
    assert torch.equal(fresh(x), model(x))


def test_squashed_model_keeps_its_pruned_angles_at_exactly_zero(digits):
    model, _ = run_stateful(make_pass("gate_prune", **OPTIONS), classifier(), PassContext(finetune=finetune(*digits)))
    assert int((theta(model) == 0).sum()) == 18


def test_apply_runs_every_step_and_keeps_the_mask_attached(digits):
    model, report = make_pass("gate_prune", **OPTIONS).apply(classifier(), PassContext(finetune=finetune(*digits)))
    assert len(report.details["schedule"]) == 3
    assert "qmodule.parametrizations.theta.original" in model.state_dict()


# -- (c) step semantics ----------------------------------------------------------------------------------------
def test_each_step_prunes_the_fraction_of_its_ratio_and_the_last_completes(digits):
    model = classifier()
    prune = make_pass("gate_prune", **OPTIONS)
    context = PassContext(finetune=finetune(*digits))
    prune.prepare(model, context)
    assert int((theta(model) == 0).sum()) == 0
    fractions, done = [], []
    for _ in range(3):
        done.append(prune.step(model, context))
        fractions.append(int((theta(model) == 0).sum()) / ANGLES)
    assert fractions == [0.25, 0.5, 0.75]
    assert done == [False, False, True]


def test_a_step_keeps_the_angles_pruned_before_it(digits):
    model = classifier()
    prune = make_pass("gate_prune", **OPTIONS)
    context = PassContext(finetune=finetune(*digits))
    prune.prepare(model, context)
    prune.step(model, context)
    first = theta(model) == 0
    prune.step(model, context)
    assert bool((theta(model)[first] == 0).all())


def test_step_after_the_schedule_is_complete_changes_nothing(digits):
    model = classifier()
    prune = make_pass("gate_prune", **{**OPTIONS, "steps": 1})
    context = PassContext(finetune=finetune(*digits))
    prune.prepare(model, context)
    assert prune.step(model, context)
    before = theta(model).clone()
    assert prune.step(model, context)
    assert torch.equal(theta(model), before)


def test_step_before_prepare_is_refused():
    with pytest.raises(PassError, match="gate_prune: the model was not prepared by this pass"):
        make_pass("gate_prune", **OPTIONS).step(classifier(), PassContext())
