"""The training loop: a short fit learns, metrics are reported per epoch, bad settings are rejected."""

from __future__ import annotations

import math

import pytest
import torch

import qml
from qml.circuit.library import load_circuit
from qml.data import load_task
from qml.train import EpochMetrics, QuantumClassifier, TrainConfig, Trainer


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    data = load_task("digits2", seed=0)
    model = QuantumClassifier(qml.QuantumModule(load_circuit("u3cu3", n_blocks=2)), data.n_classes)
    trainer = Trainer(model, TrainConfig(epochs=3, batch_size=16, lr=0.05, seed=0))
    before_acc, before_loss = trainer.evaluate(data.x_test, data.y_test)
    seen: list[EpochMetrics] = []
    result = trainer.fit(data, progress=False, on_epoch=seen.append)
    return data, trainer, result, seen, before_loss


def test_short_fit_lowers_the_test_loss(fitted):
    _, _, result, _, before_loss = fitted
    assert result.test_loss < before_loss


def test_short_fit_beats_chance_on_digits2(fitted):
    _, _, result, _, _ = fitted
    assert result.test_accuracy > 0.7


def test_training_loss_decreases_over_epochs(fitted):
    _, _, result, _, _ = fitted
    losses = [m.train_loss for m in result.history]
    assert losses[-1] < losses[0]


def test_on_epoch_gets_each_epochs_metrics(fitted):
    _, _, result, seen, _ = fitted
    assert [m.epoch for m in seen] == [1, 2, 3]
    assert seen == result.history
    for m in seen:
        assert 0 <= m.train_accuracy <= 1 and 0 <= m.valid_accuracy <= 1 and m.seconds >= 0


def test_result_to_dict_holds_test_metrics_and_history(fitted):
    _, _, result, _, _ = fitted
    d = result.to_dict()
    assert d["test_accuracy"] == result.test_accuracy
    assert len(d["history"]) == 3 and set(d["history"][0]) == {"epoch", "train_loss", "train_accuracy",
                                                               "valid_accuracy", "seconds"}


def test_evaluate_reports_accuracy_and_cross_entropy(fitted):
    data, trainer, result, _, _ = fitted
    acc, loss = trainer.evaluate(data.x_test, data.y_test, batch_size=7)
    assert acc == pytest.approx(result.test_accuracy)
    assert loss == pytest.approx(result.test_loss, rel=1e-5)


def test_classifier_logits_are_scaled_z_of_the_first_wires():
    qm = qml.QuantumModule(load_circuit("u3cu3"))
    clf = QuantumClassifier(qm, 3, logit_scale=2.0)
    x = torch.zeros(2, 16)
    torch.testing.assert_close(clf(x), qm(x)[:, :3] * 2.0)


@pytest.mark.parametrize("n_classes", [1, 5])
def test_classifier_rejects_class_count_outside_the_outputs(n_classes):
    with pytest.raises(qml.InputError, match=f"n_classes must be between 2 and the circuit's 4 outputs, "
                                             f"got {n_classes}"):
        QuantumClassifier(qml.QuantumModule(load_circuit("u3cu3")), n_classes)


@pytest.mark.parametrize("field,value,message", [
    ("epochs", 0, "epochs must be a positive integer"),
    ("epochs", 2.5, "epochs must be a positive integer"),
    ("batch_size", -1, "batch_size must be a positive integer"),
    ("lr", 0.0, "lr must be a positive number"),
    ("lr", -0.1, "lr must be a positive number"),
    ("lr", math.nan, "lr must be a positive number"),
    ("lr", math.inf, "lr must be a positive number"),
    ("weight_decay", -1e-3, "weight_decay must be >= 0"),
    ("weight_decay", math.nan, "weight_decay must be"),
    ("weight_decay", math.inf, "weight_decay must be"),
])
def test_train_config_rejects_bad_values(field, value, message):
    with pytest.raises(qml.InputError, match=message):
        TrainConfig(**{field: value})


def test_trainer_rejects_an_unknown_device():
    model = QuantumClassifier(qml.QuantumModule(load_circuit("u3cu3")), 4)
    with pytest.raises(qml.InputError, match="unknown torch device 'gpu0'"):
        Trainer(model, TrainConfig(device="gpu0"))


def test_trainer_rejects_cuda_when_cuda_is_unavailable(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = QuantumClassifier(qml.QuantumModule(load_circuit("u3cu3")), 4)
    with pytest.raises(qml.InputError, match="torch device 'cuda' requested but CUDA is not available"):
        Trainer(model, TrainConfig(device="cuda"))
