"""Training with a device's noise injected (QuantumNAT): the trainer writes a checkpoint every epoch, a killed run
resumed from it ends exactly where an uninterrupted run ends, corrupt checkpoints are clean errors, and the noise
factor follows its schedule."""

from __future__ import annotations

import pytest
import torch

import qml
from qml.circuit.library import load_circuit
from qml.data import SizeLimit, load_task
from qml.errors import InputError
from qml.noise import NoiseModel, load_snapshot
from qml.train import QuantumClassifier, TrainConfig, Trainer
from qml.train.checkpoint import load_checkpoint, save_checkpoint

EPOCHS = 4
KEYS = {"model", "optimizer", "scheduler", "rng", "noise_rng", "epoch", "history"}


class Killed(Exception):
    """Stands in for the process being killed after an epoch's checkpoint was written."""


def new_model() -> QuantumClassifier:
    torch.manual_seed(0)
    return QuantumClassifier(qml.QuantumModule(load_circuit("u3cu3", n_blocks=1)), 4, norm=True, quant_levels=5)


def config(**changes) -> TrainConfig:
    settings = dict(epochs=EPOCHS, batch_size=16, lr=0.05, seed=3, noise_factor=0.8, noise_schedule="linear")
    return TrainConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def data():
    return load_task("digits4", seed=0, limit=SizeLimit(train=48, valid=16, test=16))


@pytest.fixture(scope="module")
def noise():
    return NoiseModel(load_snapshot("ibm_quito"), factor=1.0)


@pytest.fixture(scope="module")
def straight(data, noise, tmp_path_factory):
    """Four epochs in one go; records the injected noise factor seen in each epoch."""
    path = tmp_path_factory.mktemp("straight") / "checkpoint.pt"
    model = new_model()
    factors = []
    result = Trainer(model, config(), noise).fit(
        data, progress=False, checkpoint=path, on_epoch=lambda m: factors.append(model.injector.noise.factor))
    return model, result, path, factors


@pytest.fixture(scope="module")
def resumed(data, noise, tmp_path_factory):
    """Killed after epoch 2, then resumed by a fresh process (new model, new trainer) from the checkpoint."""
    path = tmp_path_factory.mktemp("resumed") / "checkpoint.pt"

    def kill_after_two(metrics):
        if metrics.epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        Trainer(new_model(), config(), noise).fit(data, progress=False, checkpoint=path, on_epoch=kill_after_two)
    after_kill = torch.load(path, weights_only=True)
    model = new_model()
    seen = []
    result = Trainer(model, config(), noise).fit(data, progress=False, checkpoint=path, resume=True,
                                                 on_epoch=seen.append)
    return model, result, path, after_kill, seen


# -- checkpoints ---------------------------------------------------------------------------------------------------
def test_noisy_training_writes_a_checkpoint_after_each_epoch(resumed):
    _, _, _, after_kill, _ = resumed
    assert after_kill["epoch"] == 2
    assert [m["epoch"] for m in after_kill["history"]] == [1, 2]


def test_checkpoint_loads_with_weights_only_and_holds_the_whole_training_state(straight):
    _, _, path, _ = straight
    state = torch.load(path, weights_only=True)
    assert set(state) == KEYS
    assert {"qmodule.theta", "post.running_mean", "post.running_std"} <= set(state["model"])
    assert state["epoch"] == EPOCHS


def test_noisy_training_records_finite_metrics(straight):
    _, result, _, _ = straight
    assert [m.epoch for m in result.history] == [1, 2, 3, 4]
    for m in result.history:
        assert torch.isfinite(torch.tensor(m.train_loss)) and 0 <= m.valid_accuracy <= 1
    assert 0 <= result.test_accuracy <= 1


def test_noisy_training_changes_the_weights(straight):
    model, _, _, _ = straight
    assert not torch.equal(model.qmodule.theta.detach(), new_model().qmodule.theta.detach())


# -- resume --------------------------------------------------------------------------------------------------------
def test_resumed_run_ends_with_the_straight_runs_weights(straight, resumed):
    a, b = straight[0], resumed[0]
    torch.testing.assert_close(b.qmodule.theta, a.qmodule.theta, rtol=0, atol=1e-6)
    torch.testing.assert_close(b.post.running_mean, a.post.running_mean, rtol=0, atol=1e-6)


def test_resumed_run_has_all_four_epochs_of_history(straight, resumed):
    history = resumed[1].history
    assert [m.epoch for m in history] == [1, 2, 3, 4]
    for ours, theirs in zip(history, straight[1].history, strict=True):
        assert ours.train_loss == pytest.approx(theirs.train_loss, abs=1e-6)


def test_resume_calls_on_epoch_only_for_new_epochs(resumed):
    assert [m.epoch for m in resumed[4]] == [3, 4]


def test_resuming_a_finished_run_trains_no_more(data, noise, straight):
    _, result, path, _ = straight
    seen = []
    model = new_model()
    again = Trainer(model, config(), noise).fit(data, progress=False, checkpoint=path, resume=True,
                                                on_epoch=seen.append)
    assert seen == [] and len(again.history) == EPOCHS
    torch.testing.assert_close(model.qmodule.theta, straight[0].qmodule.theta, rtol=0, atol=0)


def test_resume_without_a_checkpoint_is_an_input_error(data, noise, tmp_path):
    with pytest.raises(InputError, match="nothing to resume"):
        Trainer(new_model(), config(), noise).fit(data, progress=False, checkpoint=tmp_path / "none.pt",
                                                  resume=True)


def test_checkpoint_of_another_model_is_an_input_error(data, noise, straight):
    other = QuantumClassifier(qml.QuantumModule(load_circuit("u3cu3", n_blocks=2)), 4, norm=True, quant_levels=5)
    with pytest.raises(InputError, match="does not match this run's model"):
        Trainer(other, config(), noise).fit(data, progress=False, checkpoint=straight[2], resume=True)


# -- corrupt checkpoints -----------------------------------------------------------------------------------------------
def test_random_bytes_as_a_checkpoint_is_an_input_error_naming_the_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="corrupted or not a qml checkpoint") as excinfo:
        load_checkpoint(path)
    assert str(path) in str(excinfo.value)


def test_torch_file_without_the_training_keys_is_an_input_error_naming_the_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": {}, "epoch": 1}, path)
    with pytest.raises(InputError, match="missing history, noise_rng, optimizer, rng, scheduler") as excinfo:
        load_checkpoint(path)
    assert str(path) in str(excinfo.value)


def test_torch_file_holding_a_tensor_is_an_input_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(InputError, match="not a qml training checkpoint"):
        load_checkpoint(path)


def test_trainer_resume_from_a_corrupt_checkpoint_is_an_input_error(data, noise, tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"PK\x03\x04 a truncated archive")
    with pytest.raises(InputError, match="checkpoint .*checkpoint.pt"):
        Trainer(new_model(), config(), noise).fit(data, progress=False, checkpoint=path, resume=True)


def test_save_checkpoint_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1})
    save_checkpoint(path, {"epoch": 2})
    assert torch.load(path, weights_only=True) == {"epoch": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


# -- noise schedule ------------------------------------------------------------------------------------------------
def test_linear_schedule_ramps_to_the_factor_over_the_first_half():
    cfg = TrainConfig(epochs=10, noise_factor=0.8, noise_schedule="linear")
    factors = [cfg.factor_at(e) for e in range(10)]
    assert factors[:5] == pytest.approx([0.16, 0.32, 0.48, 0.64, 0.8])
    assert factors[5:] == pytest.approx([0.8] * 5)


def test_constant_schedule_keeps_the_factor():
    cfg = TrainConfig(epochs=6, noise_factor=0.3)
    assert [cfg.factor_at(e) for e in range(6)] == [0.3] * 6


def test_trainer_injects_the_scheduled_factor_each_epoch(straight):
    assert straight[3] == pytest.approx([0.4, 0.8, 0.8, 0.8])


def test_unknown_schedule_is_an_input_error():
    with pytest.raises(InputError, match="noise_schedule must be constant or linear"):
        TrainConfig(noise_schedule="cosine")


def test_evaluation_runs_noise_free(data, noise, straight):
    model = straight[0]
    accuracy, loss = Trainer(model, config(), noise).evaluate(data.x_valid, data.y_valid)
    with torch.no_grad():
        logits = model.head(model.qmodule(data.x_valid))
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, data.y_valid)), rel=1e-6)
    assert accuracy == float((model.predict_from(model.qmodule(data.x_valid)) == data.y_valid).double().mean())


def test_checkpoint_history_rows_are_checked_against_the_epoch_metrics_fields():
    from dataclasses import fields

    from qml.train import EpochMetrics
    from qml.train.checkpoint import EPOCH_FIELDS

    assert EPOCH_FIELDS == {f.name for f in fields(EpochMetrics)}
