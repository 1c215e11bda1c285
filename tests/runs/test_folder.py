"""The walls of a run folder: one writer at a time, schema-checked reads, atomic writes, and runs killed before
their first checkpoint that can be resumed or restarted without deleting anything by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from qml.errors import FileError, InputError
from qml.files import FolderLock, write_atomic
from qml.runs import RunConfig, RunFolder, SearchConfig, train_run
from qml.train import TrainConfig

HOLD = """
import sys, time
from qml.runs import RunFolder
path = sys.stdin.readline().rstrip("\\n")  # the folder to hold, sent once its test has started
if not path:  # the tests ended without this holder
    sys.exit(0)
folder = RunFolder.create(path)
print("holding", flush=True)
time.sleep(60)
"""
HOLDING_TESTS = 4  # the tests below that take a holder


def cli(argv: list[str], capsys) -> tuple[int, str]:
    """The console script in-process: exit code and stderr."""
    from qml.cli.main import main

    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capsys.readouterr().err


def _quick(**train) -> RunConfig:
    return RunConfig(task="digits2", blocks=1, train=TrainConfig(epochs=train.pop("epochs", 1), batch_size=64,
                                                                  **train))


@pytest.fixture(scope="module")
def idle_holders():
    """The interpreters of this module's holders, started together (each start costs seconds of imports, paid on
    both cores at once); each waits for the folder it is to hold. Those left unused are killed at the end."""
    procs = [subprocess.Popen([sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(HOLDING_TESTS)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture
def holder(tmp_path, idle_holders):
    """A second process that holds a run folder's lock until killed."""
    run = tmp_path / "run"
    proc = idle_holders.pop() if idle_holders else subprocess.Popen(
        [sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc.stdin.write(f"{run}\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "holding"
    yield run, proc
    proc.kill()
    proc.wait()


def test_a_second_writer_gets_one_line_naming_the_holder(holder):
    run, proc = holder
    with pytest.raises(InputError, match=rf"{run} is in use by process {proc.pid} on .*one writer per run folder"):
        RunFolder.resume(run) if (run / "config.json").exists() else RunFolder.create(run)


def test_qml_train_on_a_folder_in_use_exits_2_with_one_line(holder, capsys):
    run, proc = holder
    code, err = cli(["train", "--task", "digits2", "--epochs", "1", "--quiet", "--out", str(run)], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and f"in use by process {proc.pid}" in err


def test_a_second_search_resume_on_a_folder_in_use_evaluates_nothing(holder, capsys):
    run, proc = holder
    (run / "config.json").write_text(json.dumps(SearchConfig().to_dict()))
    code, err = cli(["search", "--resume", "--quiet", "--out", str(run)], capsys)
    assert code == 2 and f"in use by process {proc.pid}" in err
    assert sorted(p.name for p in run.iterdir()) == [".lock", "config.json"]


def test_the_lock_of_a_killed_process_is_taken_over(holder):
    run, proc = holder
    proc.kill()
    proc.wait()
    with RunFolder.create(run) as folder:  # the kernel dropped the dead holder's lock
        folder.write_json("config.json", {})
    assert json.loads((run / ".lock").read_text())["pid"] == os.getpid()


def test_two_locks_in_one_process_exclude_each_other(tmp_path):
    with FolderLock(tmp_path / "r"), pytest.raises(InputError, match="in use by process"):
        FolderLock(tmp_path / "r").acquire()


def test_a_run_killed_before_its_first_checkpoint_can_be_restarted(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(_quick().to_dict()))  # what a kill during data loading leaves
    outcome = train_run(_quick(), run, say=lambda text: None, progress=False)
    assert len(outcome.result.history) == 1 and (run / "model.pt").is_file()


def test_a_run_killed_before_its_first_checkpoint_can_be_resumed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(_quick(epochs=2).to_dict()))
    said = []
    outcome = train_run(None, run, resume=True, say=said.append, progress=False)
    assert "stopped before its first checkpoint" in said[0]
    assert [row["epoch"] for row in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())] == [1, 2]
    assert outcome.result.test_accuracy == json.loads((run / "result.json").read_text())["test_accuracy"]


def test_a_finished_run_is_not_overwritten(tmp_path):
    run = tmp_path / "run"
    train_run(_quick(), run, say=lambda text: None, progress=False)
    with pytest.raises(InputError, match="already holds a run"):
        train_run(_quick(), run, say=lambda text: None, progress=False)


def test_resume_rewrites_metrics_from_the_checkpoint_so_no_epoch_is_logged_twice(tmp_path):
    run = tmp_path / "run"
    train_run(_quick(epochs=2), run, say=lambda text: None, progress=False)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["epoch"], state["history"] = 1, state["history"][:1]
    torch.save(state, run / "checkpoint.pt")  # as if killed after epoch 1's checkpoint, with epoch 2 logged
    (run / "model.pt").unlink()
    train_run(None, run, resume=True, say=lambda text: None, progress=False)
    assert [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


@pytest.mark.parametrize(("doc", "message"), [
    ([], "expected a JSON object, found list"),
    ({}, "missing field"),
    ({"train": {"epochs": -5}}, "epochs must be a positive integer"),
    ({"train": {"lr": "fast"}}, "field 'lr' must be a finite number"),
    ({"quant_levels": 99}, "quant_levels must be 2 to 64"),
    ({"blocks": 1.5}, "field 'blocks' must be an integer"),
    ({"colour": "red"}, "unknown field"),
])
def test_a_damaged_train_config_is_one_line_naming_the_file_and_field(tmp_path, doc, message):
    if isinstance(doc, dict) and doc:
        full = _quick().to_dict()
        doc = {**full, **doc, "train": {**full["train"], **doc.get("train", {})}}
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message) as info:
        RunFolder(tmp_path).read_config(RunConfig)
    assert str(tmp_path / "config.json") in str(info.value)


def test_nan_in_a_config_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(_quick().to_dict()).replace('"lr": 0.005', '"lr": NaN'))
    with pytest.raises(InputError, match="'lr' must be a finite number"):
        RunFolder(tmp_path).read_config(RunConfig)


@pytest.mark.parametrize("text", ["[]", "{}", '{"fitness": "magic"}', '{"noise_factor": -1}'])
def test_qml_search_resume_refuses_a_damaged_config_before_touching_anything(tmp_path, text, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(text)
    code, err = cli(["search", "--resume", "--quiet", "--out", str(run)], capsys)
    assert code == 2 and "config.json" in err and err.count("\n") == 1
    assert sorted(p.name for p in run.iterdir()) == [".lock", "config.json"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("epoch", -5, "field 'epoch' is -5"),
    ("epoch", 99, "field 'epoch' is 99"),
    ("history", "oops", "field 'history' must be a list"),
    ("epoch", "1", "field 'epoch' must be a int"),
])
def test_a_checkpoint_with_a_bad_field_is_one_line(tmp_path, field, value, message):
    run = tmp_path / "run"
    train_run(_quick(), run, say=lambda text: None, progress=False)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state[field] = value
    torch.save(state, run / "checkpoint.pt")
    with pytest.raises(InputError, match=message):
        train_run(None, run, resume=True, say=lambda text: None, progress=False)


def test_nan_weights_are_never_written_as_a_finished_run(tmp_path):
    folder = RunFolder.create(tmp_path / "run")
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with folder, pytest.raises(InputError, match="training diverged"):
        folder.save_weights(model)
    assert not (tmp_path / "run" / "model.pt").exists()


def test_a_failed_atomic_write_is_one_line_and_leaves_no_tmp(tmp_path):
    def explode(path):
        path.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(FileError, match="No space left on device"):
        write_atomic(tmp_path / "model.pt", explode)
    assert list(tmp_path.iterdir()) == []


def test_an_out_folder_that_cannot_be_made_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    code, err = cli(["train", "--task", "digits2", "--epochs", "1", "--quiet", "--out", str(tmp_path / "file" / "r")],
                    capsys)
    assert code == 2 and err.count("\n") == 1 and "Not a directory" in err


def test_a_reader_needs_no_lock(tmp_path):
    run = tmp_path / "run"
    train_run(_quick(), run, say=lambda text: None, progress=False)
    with FolderLock(run):
        assert RunFolder(run).read_config(RunConfig).task == "digits2"
    time.sleep(0)


def test_a_checkpoint_into_a_folder_moved_away_is_one_line_not_a_torch_traceback(tmp_path):
    """torch.save reports a missing folder as a RuntimeError; qml names the file and the folder instead."""
    gone = tmp_path / "moved" / "model.pt"
    with pytest.raises(FileError, match="does not exist") as excinfo:
        write_atomic(gone, lambda tmp: torch.save({"a": torch.zeros(1)}, tmp))
    assert "\n" not in str(excinfo.value) and str(gone) in str(excinfo.value)
