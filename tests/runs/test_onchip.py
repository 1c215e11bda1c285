"""On-chip training (QOC): a run trained by parameter shift on an executor, with gradient pruning, its cost
recorded, an exact resume after a kill, and the IBM cost confirmation."""

import io
import json

import numpy as np
import pytest
import torch

from qml.cli.main import main
from qml.runs import train_run
from qml.runs.config import OnChipConfig, RunConfig
from qml.runs.folder import RunFolder
from qml.train import TrainConfig


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """20 inputs of 4 features, 2 classes: 12 train, 3 valid, 5 test."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    y[:2] = [0, 1]
    path = tmp_path_factory.mktemp("onchip") / "tiny.npz"
    np.savez(path, x=x, y=y)
    return path


def _config(tiny, backend="torch", **onchip) -> RunConfig:
    return RunConfig(task="tiny", circuit="u3cu3", blocks=1, data_file=str(tiny),
                     train=TrainConfig(epochs=2, batch_size=4, lr=0.05, seed=0),
                     onchip=OnChipConfig(backend, **{"shots": 256, **onchip}))


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_run_killed_after_its_checkpoint_resumes_to_the_same_weights_metrics_and_cost(tiny, tmp_path, monkeypatch):
    whole = train_run(_config(tiny), tmp_path / "whole", say=lambda text: None, progress=False)
    assert whole.model.measurer.pruner is not None  # QOC's pruning by default

    append = RunFolder.append

    def killed(self, name, row):  # the checkpoint of epoch 1 is on disk, its metrics row is not
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "append", killed)
    with pytest.raises(KeyboardInterrupt):
        train_run(_config(tiny), tmp_path / "killed", say=lambda text: None, progress=False)
    monkeypatch.setattr(RunFolder, "append", append)
    resumed = train_run(None, tmp_path / "killed", resume=True, say=lambda text: None, progress=False)

    assert torch.equal(resumed.model.qmodule.theta, whole.model.qmodule.theta)
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in _rows(tmp_path / "whole")]
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in _rows(tmp_path / "killed")] == strip
    assert [row["epoch"] for row in strip] == [1, 2]
    result = json.loads((tmp_path / "killed" / "result.json").read_text())
    assert result["onchip"]["executions"] == whole.model.measurer.cost()["executions"] > 0


def test_pruning_saves_shifted_circuits_and_the_cost_is_recorded_per_epoch(tiny, tmp_path):
    """Per input, a full step runs 1 + 56 circuits (u3cu3, 1 block: 4 U3 x 3 angles x 2 shifts, 4 CU3 x (4 + 2 +
    2)); a pruning step keeps 12 of the 24 slots. Two epochs of 3 steps: full, pruned, pruned, full, pruned,
    pruned; 3 validation inputs per epoch and 5 test inputs."""
    full = train_run(_config(tiny, prune_ratio=0.0), tmp_path / "full", say=lambda text: None, progress=False)
    assert full.model.measurer.counter.circuits == 6 * 4 * 57 + 2 * 3 + 5
    pruned = train_run(_config(tiny), tmp_path / "pruned", say=lambda text: None, progress=False)
    plan = pruned.model.measurer.plan
    assert 2 * 4 * 57 + 2 * 3 + 5 < pruned.model.measurer.counter.circuits < full.model.measurer.counter.circuits
    assert plan.circuits(1, None) == 57
    assert pruned.model.measurer.counter.executions == pruned.model.measurer.counter.circuits * 256
    assert _rows(tmp_path / "pruned")[-1]["executions"] + 5 * 256 == pruned.model.measurer.counter.executions


def test_training_on_ibm_asks_first_and_is_refused_off_terminal_without_yes(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # an answer is there, but no terminal to give it
    out = tmp_path / "ibm"
    code = main(["train", "--on", "fake:ibm_quito", "--data", str(tiny), "--blocks", "1", "--epochs", "1",
                 "--shots", "64", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 2 and "not submitted" in captured.err and "--yes" in captured.err
    assert "on-chip training on fake:ibm_quito" in captured.out and "executions" in captured.out
    assert not out.exists()


@pytest.mark.parametrize("flags, message", [
    (["--shots", "64"], "need(s) --on"),
    (["--on", "aer:ibm_quito", "--device", "ibm_quito"], "drop --device"),
    (["--on", "aer:ibm_quito", "--prune-windows", "1"], "--prune-windows"),
    (["--on", "aer:ibm_quito", "--grad-prune", "1"], "gradient pruning ratio"),
    (["--on", "braket:sv1"], "--on must be"),
])
def test_bad_onchip_flags_are_one_line(tiny, tmp_path, capsys, flags, message):
    out = tmp_path / "bad"
    assert main(["train", "--data", str(tiny), "--out", str(out), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


TINY_CIRCUIT = '''import qml


def build(n_blocks: int = 1) -> qml.Circuit:
    c = qml.Circuit(2, name="tiny")
    c.add("ry", 0, qml.Input(0))
    c.add("ry", 1, qml.Input(1))
    c.add("ry", 0)
    c.add("crx", (0, 1))
    return c
'''


def test_training_on_ibm_in_local_mode_keeps_every_calls_job_ids_on_disk(tmp_path):
    """One step of 12 inputs (each with 2 + 4 shifted circuits: RY's two-term and CRX's four-term rule), one
    validation and one test call: three calls, each a job whose id is on disk."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 2))
    y = (x[:, 0] > 0).astype(np.int64)
    y[:2] = [0, 1]
    np.savez(tmp_path / "two.npz", x=x, y=y)
    (tmp_path / "tiny_circuit.py").write_text(TINY_CIRCUIT)
    config = RunConfig(task="two", circuit=str(tmp_path / "tiny_circuit.py"), data_file=str(tmp_path / "two.npz"),
                       train=TrainConfig(epochs=1, batch_size=12, seed=0),
                       onchip=OnChipConfig("fake:ibm_quito", shots=64, prune_ratio=0.0))
    run = tmp_path / "run"
    outcome = train_run(config, run, say=lambda text: None, progress=False)
    ledgers = [json.loads(p.read_text()) for p in sorted(run.glob("onchip/*/hardware/fake_ibm_quito/jobs.json"))]
    assert [ledger["n_inputs"] for ledger in ledgers] == [12 * 7, 3, 5]
    assert all(job["job_id"] and job["status"] == "DONE" for ledger in ledgers for job in ledger["jobs"])
    assert [ledger["layout"] for ledger in ledgers] == [[0, 1]] * 3  # transpiled once, its layout on every ledger
    assert outcome.model.measurer.cost() == {"circuits": 12 * 7 + 3 + 5, "executions": (12 * 7 + 3 + 5) * 64}
    assert json.loads((run / "result.json").read_text())["onchip"]["backend"] == "fake:ibm_quito"
