"""``qml prune RUN``: gate pruning of a trained run (the qml-quantum plugin's ``gate_prune``), written as a run
folder that ``qml eval`` reads.

One short noisy training run is made (``qml train`` in-process: the run is this module's input, and the console
script's training is checked in test_cli.py and test_train_eval_cli.py), then pruned through the real console script
(and pruned again with the plugins disabled) concurrently, then the pruned run is evaluated by ``qml eval``
in-process. Bad input is checked in-process through ``qml.cli.main.main(argv)``: each must exit 2 with one
``qml: error:`` line."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import qml_quantum  # noqa: E402, F401  (qml prune needs the plugin; the README's set-up commands install it)
import torch
from qiskit import qasm3

from qml.cli.main import main
from qml.plugins import DISABLE_ENV
from tests.cli.test_cli import Done, assert_qml_error

QML = [shutil.which("qml")] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]
ENV = {**{k: v for k, v in os.environ.items() if k != DISABLE_ENV}, "PYTHONWARNINGS": "ignore",
       "OMP_NUM_THREADS": "1"}  # concurrent runs share 2 cores
PRUNED_FILES = {"config.json", "provenance.json", "model.pt", "circuit.qasm", "result.json"}


def start(argv: list[str], cwd: Path, env: dict[str, str] = ENV) -> subprocess.Popen:
    return subprocess.Popen(QML + argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs: dict[str, subprocess.Popen]) -> dict[str, Done]:
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[name] = Done(proc.returncode, stdout, stderr)
    return out


def in_process_captured(argv: list[str], cwd: Path) -> Done:
    """``qml ARGV`` run by ``qml.cli.main.main`` in this process from ``cwd``, its output captured (for a module
    fixture, which has no capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.chdir(cwd)
        mp.delenv(DISABLE_ENV, raising=False)
        code = main(argv)
    return Done(code, out.getvalue(), err.getvalue())


def ok(done: Done) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("prune_cli")
    run = base / "run"
    done = {"train": in_process_captured(["train", "--task", "digits4", "--device", "ibm_quito", "--epochs", "2",
                                          "--out", str(run), "--quiet"], base)}
    assert done["train"].returncode == 0, done["train"].stderr
    disabled = base / "disabled"
    done.update(finish({
        "prune": start(["prune", str(run), "--ratio", "0.5", "--steps", "2", "--finetune-epochs", "1"], base),
        "disabled": start(["prune", str(run), "--out", str(disabled)], base, {**ENV, DISABLE_ENV: "1"}),
    }))
    pruned = run / "pruned-0.5"
    done["eval"] = in_process_captured(["eval", str(pruned), "--backend", "torch"], base)
    done["paths"] = {"base": base, "run": run, "pruned": pruned, "disabled": disabled}
    return done


def qasm_ops(path: Path) -> int:
    return len(qasm3.loads(path.read_text()).data)


# -- the pruned run --------------------------------------------------------------------------------------------
def test_prune_writes_a_run_folder_next_to_the_run(runs):
    ok(runs["prune"])
    names = {p.name for p in runs["paths"]["pruned"].iterdir()}
    assert names - {"eval.jsonl", ".lock"} == PRUNED_FILES  # eval.jsonl: from the qml eval that followed


def test_prune_reports_the_pruned_angles_and_gate_counts(runs):
    lines = ok(runs["prune"]).splitlines()
    assert lines[:2] == ["gate_prune: step 1/2 ratio 0.100", "gate_prune: step 2/2 ratio 0.500"]
    assert lines[2].startswith("pruned 24/48 angles; logical gates 32 -> ")
    assert lines[3].startswith("on ibm_quito: 2-qubit gates ")
    assert lines[-1] == f"wrote {runs['paths']['pruned']}"


def test_pruned_config_is_the_runs_config(runs):
    paths = runs["paths"]
    assert json.loads((paths["pruned"] / "config.json").read_text()) == \
        json.loads((paths["run"] / "config.json").read_text())


def test_pruned_weights_load_with_weights_only_and_hold_half_the_angles_at_zero(runs):
    state = torch.load(runs["paths"]["pruned"] / "model.pt", weights_only=True)
    original = torch.load(runs["paths"]["run"] / "model.pt", weights_only=True)
    assert set(state) == set(original)  # the masks are folded into plain weights
    theta = state["qmodule.theta"]
    assert theta.numel() == 48 and int((theta == 0).sum()) == 24


def test_pruned_circuit_has_fewer_gates_than_the_original(runs):
    paths = runs["paths"]
    result = json.loads((paths["pruned"] / "result.json").read_text())
    after = qasm_ops(paths["pruned"] / "circuit.qasm")
    assert after == result["gates_after"] < qasm_ops(paths["run"] / "circuit.qasm") == result["gates_before"]


def test_result_has_transpiled_counts_with_no_more_two_qubit_gates(runs):
    result = json.loads((runs["paths"]["pruned"] / "result.json").read_text())
    before, after = result["transpiled_before"], result["transpiled_after"]
    assert result["device"] == "ibm_quito" and set(before) == set(after) >= {"two_qubit", "pulses_1q", "depth"}
    assert after["two_qubit"] <= before["two_qubit"]
    assert result["pruned_angles"] == 24 and result["angles"] == 48


def test_result_records_the_schedule(runs):
    result = json.loads((runs["paths"]["pruned"] / "result.json").read_text())
    assert [entry["ratio"] for entry in result["schedule"]] == pytest.approx([0.1, 0.5])


def test_eval_reads_the_pruned_run_and_matches_the_reported_accuracy(runs):
    ok(runs["eval"])
    pruned = runs["paths"]["pruned"]
    result = json.loads((pruned / "result.json").read_text())
    evaluated = json.loads((pruned / "eval.jsonl").read_text().splitlines()[-1])
    assert evaluated["backend"] == "torch" and evaluated["n"] == 180
    assert evaluated["accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-6)


# -- refusals --------------------------------------------------------------------------------------------------
def test_prune_with_plugins_disabled_is_one_error_line(runs):
    assert_qml_error(runs["disabled"], f"disabled by {DISABLE_ENV}")
    assert not runs["paths"]["disabled"].exists()


def in_process(argv: list[str], capsys) -> Done:
    code = main(argv)
    captured = capsys.readouterr()
    return Done(code, captured.out, captured.err)


def test_unknown_run_folder_is_one_error_line(runs, capsys):
    missing = runs["paths"]["base"] / "missing"
    assert_qml_error(in_process(["prune", str(missing)], capsys), f"run folder {missing} does not exist")


def test_ratio_outside_zero_one_is_one_error_line(runs, capsys):
    run = runs["paths"]["run"]
    done = in_process(["prune", str(run), "--ratio", "1.5"], capsys)
    assert_qml_error(done, "gate_prune: option ratio must be in [0, 1), got 1.5")
    assert not (run / "pruned-1.5").exists()


def test_pruning_again_into_the_same_folder_is_refused(runs, capsys):
    ok(runs["prune"])
    pruned = runs["paths"]["pruned"]
    files = {p.name: p.stat().st_mtime_ns for p in pruned.iterdir()}
    done = in_process(["prune", str(runs["paths"]["run"]), "--ratio", "0.5"], capsys)
    assert_qml_error(done, f"{pruned} already holds a run; choose a new folder")
    assert {p.name: p.stat().st_mtime_ns for p in pruned.iterdir()} == files
