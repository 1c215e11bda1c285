"""``qml train`` with a device's noise and ``qml eval`` on the torch and Aer backends.

The main commands run through the real console script: one noisy training run first, then (concurrently) its
evaluation on two backends and ``--resume`` of a copy of the finished run. Bad settings are checked in-process
through ``qml.cli.main.main(argv)``: each must exit 2 with one ``qml: error:`` line and leave no run folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from qml.cli.main import main
from qml.runs import RunConfig
from qml.train import TrainConfig

ENV = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}  # concurrent runs share 2 cores
QML = ["qml"] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]
TRAIN = ["train", "--task", "digits4", "--device", "ibm_quito", "--noise-factor", "0.5", "--norm", "--quant", "5",
         "--epochs", "2", "--quiet"]
RUN_FILES = {"config.json", "metrics.jsonl", "checkpoint.pt", "model.pt", "circuit.qasm", "result.json"}


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def start(argv: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(QML + argv, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs: dict[str, subprocess.Popen]) -> dict[str, Done]:
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[name] = Done(proc.returncode, stdout, stderr)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("train_eval_cli")
    run = base / "run"
    (base / "not_a_run").mkdir()
    done = finish({
        "train": start(TRAIN + ["--out", str(run)], base),
        "unknown_device": start(["train", "--device", "ibm_quitto", "--epochs", "1", "--quiet",
                                 "--out", str(base / "bad_run")], base),
        "not_a_run": start(["eval", str(base / "not_a_run")], base),
    })
    assert done["train"].returncode == 0, done["train"].stderr
    metrics_after_train = (run / "metrics.jsonl").read_text()
    theta_after_train = torch.load(run / "model.pt", weights_only=True)["qmodule.theta"]
    resumed = base / "resumed"
    shutil.copytree(run, resumed)
    done.update(finish({
        "eval_aer": start(["eval", str(run), "--backend", "aer:ibm_quito", "--shots", "256", "--limit", "40"], base),
        "eval_torch": start(["eval", str(run), "--backend", "torch:ibm_quito", "--limit", "40"], base),
        "resume": start(["train", "--resume", "--out", str(resumed), "--quiet"], base),
    }))
    done["paths"] = {"base": base, "run": run, "resumed": resumed}
    done["before_resume"] = (metrics_after_train, theta_after_train)
    return done


def assert_ok(done: Done) -> list[str]:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.strip().splitlines()


def assert_qml_error(done: Done, *patterns: str) -> None:
    """Exit code 2, no traceback, and exactly one stderr line: ``qml: error: ...`` containing every pattern."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qml: error: "), done.stderr
    for pattern in patterns:
        assert pattern in lines[0], done.stderr


# -- qml train with noise ------------------------------------------------------------------------------------------
def test_noisy_train_reports_its_noise_model_and_test_accuracy(runs):
    lines = assert_ok(runs["train"])
    assert lines[0].startswith("task digits4: 432 train / 108 valid / 180 test, 4 classes")
    assert "noise NoiseModel(ibm_quito, layout=trivial, factor=0.5)" in lines[0]
    accuracy = [line for line in lines if line.startswith("test accuracy ")]
    assert len(accuracy) == 1 and accuracy[0].endswith("(noise-free)")


def test_noisy_train_writes_a_complete_run_folder(runs):
    assert RUN_FILES <= {p.name for p in runs["paths"]["run"].iterdir()}


def test_run_config_records_device_noise_and_post_processing(runs):
    config = json.loads((runs["paths"]["run"] / "config.json").read_text())
    assert config["device_name"] == "ibm_quito" and config["layout"] is None
    assert config["train"]["noise_factor"] == 0.5 and config["train"]["noise_schedule"] == "constant"
    assert config["norm"] is True and config["quant_levels"] == 5 and config["train"]["epochs"] == 2


def test_metrics_have_one_line_per_epoch(runs):
    rows = [json.loads(line) for line in runs["before_resume"][0].splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]


def test_checkpoint_loads_with_weights_only_after_the_last_epoch(runs):
    state = torch.load(runs["paths"]["run"] / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]) == 2


def test_model_holds_the_normalisation_statistics_gathered_in_training(runs):
    state = torch.load(runs["paths"]["run"] / "model.pt", weights_only=True)
    assert set(state) == {"qmodule.theta", "post.running_mean", "post.running_std"}
    assert not torch.equal(state["post.running_std"], torch.ones(4))


def test_result_json_holds_the_test_accuracy(runs):
    result = json.loads((runs["paths"]["run"] / "result.json").read_text())
    assert 0 <= result["test_accuracy"] <= 1


# -- qml eval ------------------------------------------------------------------------------------------------------
def eval_records(runs) -> dict[str, dict]:
    lines = (runs["paths"]["run"] / "eval.jsonl").read_text().splitlines()
    return {r["backend"]: r for r in map(json.loads, lines)}


def test_eval_on_the_aer_twin_prints_an_accuracy(runs):
    lines = assert_ok(runs["eval_aer"])
    assert re.fullmatch(r"aer twin of ibm_quito: test accuracy [01]\.\d{4} on 40 inputs x 256 shots \(.*\)", lines[-1])


def test_eval_on_the_aer_twin_appends_a_record(runs):
    record = eval_records(runs)["aer:ibm_quito"]
    assert (record["shots"], record["n"], record["split"]) == (256, 40, "test")
    assert 0 <= record["accuracy"] <= 1
    assert "cx" in record["transpiled"]["ops"] and "cu3" not in record["transpiled"]["ops"]


def test_eval_with_torch_device_noise_works(runs):
    lines = assert_ok(runs["eval_torch"])
    assert re.fullmatch(r"torch with NoiseModel\(ibm_quito, .*\): test accuracy [01]\.\d{4} on 40 inputs \(.*\)",
                        lines[-1])
    record = eval_records(runs)["torch:ibm_quito"]
    assert record["shots"] is None and record["n"] == 40


def test_eval_records_one_line_per_evaluation(runs):
    assert len((runs["paths"]["run"] / "eval.jsonl").read_text().splitlines()) == 2


# -- resume --------------------------------------------------------------------------------------------------------
def test_resuming_a_finished_run_repeats_no_epoch(runs):
    lines = assert_ok(runs["resume"])
    assert lines[0] == f"resuming {runs['paths']['resumed']}"
    metrics = (runs["paths"]["resumed"] / "metrics.jsonl").read_text()
    assert metrics == runs["before_resume"][0]
    assert len(metrics.splitlines()) == 2


def test_resuming_a_finished_run_keeps_its_weights(runs):
    theta = torch.load(runs["paths"]["resumed"] / "model.pt", weights_only=True)["qmodule.theta"]
    torch.testing.assert_close(theta, runs["before_resume"][1], rtol=0, atol=0)


# -- clean errors from the real command -----------------------------------------------------------------------------
def test_unknown_device_lists_the_devices_and_leaves_no_run_folder(runs):
    assert_qml_error(runs["unknown_device"], "unknown device 'ibm_quitto'", "did you mean 'ibm_quito'",
                     "ibm_brisbane")
    assert not (runs["paths"]["base"] / "bad_run").exists()


def test_eval_of_a_folder_that_is_not_a_run_is_a_clean_error(runs):
    assert_qml_error(runs["not_a_run"], "is not a qml run folder: no config.json")


# -- more bad settings, in-process -----------------------------------------------------------------------------------
def _main(argv, capsys) -> Done:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return Done(code, captured.out, captured.err)


def _train_error(flags: list[str], tmp_path: Path, capsys) -> Done:
    out = tmp_path / "run"
    done = _main(["train", "--epochs", "1", "--quiet", *flags, "--out", str(out)], capsys)
    assert not out.exists(), "a rejected run left its folder behind"
    return done


@pytest.mark.parametrize("layout,pattern", [
    ("0,0,1,2", "uses physical qubit 0 twice"),
    ("0,1,2", "gives 3 physical qubits for 4 logical wires"),
    ("0,1,2,9", "qubit 9 is not on device ibm_quito (0..4)"),
])
def test_bad_layout_is_a_clean_error(layout, pattern, tmp_path, capsys):
    assert_qml_error(_train_error(["--device", "ibm_quito", "--layout", layout], tmp_path, capsys), pattern)


def test_layout_that_is_not_numbers_is_an_argparse_error(tmp_path, capsys):
    done = _train_error(["--device", "ibm_quito", "--layout", "a,b"], tmp_path, capsys)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("qml train: error: argument --layout")


def test_device_narrower_than_the_circuit_is_a_clean_error(tmp_path, capsys):
    from qiskit.providers.fake_provider import GenericBackendV2

    from qml.noise import save_snapshot, snapshot_from_backend

    tiny = save_snapshot(snapshot_from_backend(GenericBackendV2(3, seed=1)), tmp_path / "tiny.json")
    done = _train_error(["--device", str(tiny)], tmp_path, capsys)
    assert_qml_error(done, "the circuit has 4 qubits but device generic_backend_3q has only 3")


@pytest.mark.parametrize("flags, message", [
    (["--noise-factor", "0.5"], "need --device"), (["--noise-schedule", "linear"], "need --device"),
    (["--layout", "0,1,2,3"], "--layout needs --device (noise injection) or --on (on-chip training)")])
def test_noise_settings_without_a_device_are_a_clean_error(flags, message, tmp_path, capsys):
    assert_qml_error(_train_error(flags, tmp_path, capsys), message)


def test_negative_noise_factor_is_a_clean_error(tmp_path, capsys):
    done = _train_error(["--device", "ibm_quito", "--noise-factor", "-1"], tmp_path, capsys)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "argument --noise-factor: expected a positive noise factor" in done.stderr


@pytest.mark.parametrize("levels", ["1", "65"])
def test_quantization_levels_out_of_range_are_an_argparse_error(levels, tmp_path, capsys):
    done = _train_error(["--quant", levels], tmp_path, capsys)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("qml train: error: argument --quant: expected 2 to 64 quantization levels"), last


def _run_folder(path: Path, checkpoint: bytes) -> Path:
    path.mkdir()
    config = RunConfig(train=TrainConfig(epochs=2), device_name="ibm_quito", norm=True, quant_levels=5)
    (path / "config.json").write_text(json.dumps(config.to_dict()))
    (path / "checkpoint.pt").write_bytes(checkpoint)
    return path


def test_resume_from_a_corrupted_checkpoint_is_a_clean_error_that_keeps_the_run(tmp_path, capsys):
    run = _run_folder(tmp_path / "run", os.urandom(512))
    done = _main(["train", "--resume", "--out", str(run), "--quiet"], capsys)
    assert_qml_error(done, f"checkpoint {run / 'checkpoint.pt'} is corrupted")
    assert {p.name for p in run.iterdir()} >= {"config.json", "checkpoint.pt"}


def test_resume_of_a_folder_without_config_is_a_clean_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert_qml_error(_main(["train", "--resume", "--out", str(tmp_path / "empty")], capsys),
                     "is not a qml run folder")


def test_resume_without_out_is_a_clean_error(capsys):
    assert_qml_error(_main(["train", "--resume"], capsys), "--resume needs --out")


def test_eval_of_a_missing_folder_is_a_clean_error(tmp_path, capsys):
    assert_qml_error(_main(["eval", str(tmp_path / "nowhere")], capsys), "does not exist")


def test_eval_of_an_unfinished_run_says_to_resume(tmp_path, capsys):
    run = _run_folder(tmp_path / "run", b"")
    assert_qml_error(_main(["eval", str(run)], capsys), "no trained weights", "--resume")


def test_eval_on_aer_without_a_device_is_a_clean_error(runs, capsys):
    assert_qml_error(_main(["eval", str(runs["paths"]["run"]), "--backend", "aer"], capsys),
                     "the aer backend needs a device")


def test_eval_on_an_unknown_backend_is_a_clean_error(runs, capsys):
    assert_qml_error(_main(["eval", str(runs["paths"]["run"]), "--backend", "qpu"], capsys),
                     "unknown backend 'qpu'")
