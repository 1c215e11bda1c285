"""The stages behind the CLI: evaluate refuses what a backend cannot honour, one noise-factor rule for every
command, and a killed prune resumes to the result of an uninterrupted one."""

from __future__ import annotations

import json

import pytest
import torch

from qml.errors import InputError
from qml.runs import RunConfig, RunFolder, evaluate_run, prune_run, train_run
from qml.train import TrainConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("stages") / "run"
    config = RunConfig(task="digits2", blocks=1, train=TrainConfig(epochs=2, batch_size=64, lr=0.02),
                       device_name="ibm_quito", layout=[1, 0, 2, 3])
    train_run(config, run, say=lambda text: None, progress=False)
    return run


@pytest.mark.parametrize("backend", ["aer:ibm_quito", "torch"])
def test_evaluate_refuses_a_noise_factor_the_backend_cannot_apply(trained, backend):
    with pytest.raises(InputError, match="cannot scale noise"):
        evaluate_run(trained, backend, noise_factor=0.5, limit=4)
    assert not (trained / "eval.jsonl").exists() or all(
        json.loads(line)["backend"] != backend for line in (trained / "eval.jsonl").read_text().splitlines())


def test_evaluate_applies_a_noise_factor_on_the_torch_twin_and_records_it(trained):
    weak = evaluate_run(trained, "torch:ibm_quito", noise_factor=0.1, limit=40)
    strong = evaluate_run(trained, "torch:ibm_quito", noise_factor=1.5, limit=40)
    rows = [json.loads(line) for line in (trained / "eval.jsonl").read_text().splitlines()][-2:]
    assert [(r["noise_factor"], r["layout"], r["seed"]) for r in rows] == [(0.1, [1, 0, 2, 3], 0),
                                                                           (1.5, [1, 0, 2, 3], 0)]
    assert (weak.accuracy, strong.accuracy) == (rows[0]["accuracy"], rows[1]["accuracy"])


@pytest.mark.parametrize("argv", [
    ["train", "--device", "ibm_quito", "--noise-factor", "-1"],
    ["train", "--device", "ibm_quito", "--noise-factor", "nan"],
    ["search", "--noise-factor", "0"],
    ["search", "--fitness-noise-factor", "inf"],
    ["search", "--super-noise", "-0.5"],
])
def test_every_command_takes_the_same_noise_factors(argv, tmp_path, capsys):
    from qml.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main([*argv, "--out", str(tmp_path / "r")])
    assert exited.value.code == 2 and "expected a positive noise factor" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_killed_prune_resumes_to_the_uninterrupted_result(trained, tmp_path, monkeypatch):
    options = dict(ratio=0.5, start_ratio=0.2, steps=3, finetune_epochs=1, say=None)
    whole = prune_run(trained, out=tmp_path / "whole", **options)
    saves = []
    save = RunFolder.save_tensors

    def killed_after_two_steps(self, name, state):
        if name == "prune.pt" and len(saves) == 2:
            raise KeyboardInterrupt
        saves.append(name)
        save(self, name, state)

    monkeypatch.setattr(RunFolder, "save_tensors", killed_after_two_steps)
    with pytest.raises(KeyboardInterrupt):
        prune_run(trained, out=tmp_path / "killed", **options)
    monkeypatch.setattr(RunFolder, "save_tensors", save)
    assert (tmp_path / "killed" / "prune.pt").is_file() and not (tmp_path / "killed" / "model.pt").exists()
    resumed = prune_run(trained, out=tmp_path / "killed", **options)  # run again: it continues
    a = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.summary["test_accuracy"] == whole.summary["test_accuracy"]
    assert not any("parametrizations" in k for k in b)
