"""``qml passes list | show | apply`` from the real console script.

Each start costs about two seconds of imports, so one module fixture launches the console-script commands at once
(list, show and a real apply) and the tests read their results. The refusals and the dry run call
``qml.cli.main.main(argv)`` in-process, from the same folder: the same code path after the imports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from qml.cli.main import main
from qml.plugins import DISABLE_ENV
from tests.cli.test_cli import Done, assert_qml_error

QML = [shutil.which("qml")] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]
# the commands run concurrently: one torch thread each
ENV = {**{k: v for k, v in os.environ.items() if k != DISABLE_ENV}, "PYTHONWARNINGS": "ignore",
       "OMP_NUM_THREADS": "1"}
BUILTINS = ["channel_prune", "distill", "kmeans_quant", "linear_quant", "magnitude_prune", "qat"]
PRUNE_THEN_INT8 = "magnitude_prune sparsity=0.7 -> linear_quant bits=8"
MLP = ["--model", "mlp", "--epochs", "3"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every console-script command of this module concurrently; wait for all; return name -> Done (and the
    paths)."""
    base = tmp_path_factory.mktemp("passes_cli")
    out = base / "out"
    full = base / "full"
    full.mkdir()
    (full / "old.txt").write_text("old run")
    (base / "pipeline.toml").write_text('[[pass]]\nname = "magnitude_prune"\nsparsity = 0.7\n\n'
                                        '[[pass]]\nname = "linear_quant"\nbits = 8\n')
    apply = ["passes", "apply"]
    commands = {
        "list": ["passes", "list"],
        "show": ["passes", "show", "magnitude_prune"],
        "apply": apply + [PRUNE_THEN_INT8, *MLP, "--out", str(out)],
    }
    procs = {name: subprocess.Popen(QML + cmd, cwd=base, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
             for name, cmd in commands.items()}
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        results[name] = Done(proc.returncode, stdout, stderr)
    results["paths"] = {"base": base, "out": out, "full": full}
    return results


def in_process(runs, argv: list[str], capsys, monkeypatch) -> Done:
    """``qml ARGV`` run by ``qml.cli.main.main`` in this process, from the folder the console scripts ran in."""
    monkeypatch.chdir(runs["paths"]["base"])
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    captured = capsys.readouterr()
    return Done(code, captured.out, captured.err)


def apply_in_process(runs, specs: list[str], capsys, monkeypatch) -> Done:
    return in_process(runs, ["passes", "apply", *specs], capsys, monkeypatch)


def ok(done: Done) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def columns(stdout: str) -> dict[str, list[str]]:
    """Table rows by their first column (columns are separated by two or more spaces)."""
    rows = [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines() if line.strip()]
    return {r[0]: r for r in rows}


# -- list and show ---------------------------------------------------------------------------------------------
def test_list_shows_the_six_builtins_from_qml_robust(runs):
    rows = columns(ok(runs["list"]))
    assert rows["NAME"] == ["NAME", "APPLIES TO", "DISTRIBUTION", "VERSION", "STATE"]
    for name in BUILTINS:
        assert rows[name][2] == "qml-robust" and rows[name][4] == "loaded", rows[name]


def test_list_shows_what_each_builtin_applies_to(runs):
    rows = columns(ok(runs["list"]))
    assert rows["distill"][1] == "circuit/torch" and rows["magnitude_prune"][1] == "torch"


def test_show_describes_the_pass(runs):
    lines = ok(runs["show"]).splitlines()
    assert lines[0] == "magnitude_prune — Fine-grained magnitude pruning with an optional iterative schedule and " \
                       "finetuning."
    assert "  from:       qml-robust 0.1.0 (qml.passes.magnitude_prune:MagnitudePrune)" in lines


def test_show_lists_the_options_with_types_defaults_and_ranges(runs):
    rows = columns(ok(runs["show"]))
    assert rows["sparsity"][:4] == ["sparsity", "float", "0.7", "[0, 1)"]
    assert rows["scope"][:4] == ["scope", "str", "'global'", "global | layer"]
    assert rows["steps"][:3] == ["steps", "int", "1"]
    assert rows["keep_masks"][:3] == ["keep_masks", "bool", "True"]
    assert {"schedule", "finetune_epochs", "bias"} <= set(rows)


# -- apply -----------------------------------------------------------------------------------------------------
def test_apply_trains_then_prints_one_report_per_pass(runs):
    lines = ok(runs["apply"]).splitlines()
    assert lines[0].startswith("dense mlp: test accuracy ")
    assert lines[1].startswith("magnitude_prune: params 17226 -> 17226, nonzeros 17226 -> ")
    assert lines[2].startswith("linear_quant: params 17226 -> 17226")
    assert "accuracy" in lines[1] and "latency" in lines[2]


def test_apply_out_writes_the_reports(runs):
    reports = json.loads((runs["paths"]["out"] / "reports.json").read_text())
    assert [r["pass"] for r in reports] == ["magnitude_prune", "linear_quant"]
    assert reports[0]["config"]["sparsity"] == 0.7 and reports[1]["config"]["bits"] == 8
    assert reports[0]["after"]["sparsity"] == pytest.approx(0.69, abs=0.01)  # 70% of the weights, no biases
    assert reports[1]["after"]["size_bytes"] < reports[0]["after"]["size_bytes"] / 3


def test_apply_out_writes_a_state_dict_that_loads_with_weights_only(runs):
    state = torch.load(runs["paths"]["out"] / "model.pt", weights_only=True)
    assert state["0.parametrizations.weight.original"].shape == (128, 64)
    mask = state["0.parametrizations.weight.0.mask"]
    assert float((mask == 0).float().mean()) > 0.5
    assert {"0.parametrizations.weight.1.scale", "0.input_quant.lo", "0.input_quant.hi"} <= set(state)


def test_dry_run_prints_each_pass_plan_and_trains_nothing(runs, capsys, monkeypatch):
    lines = ok(apply_in_process(runs, ["--pipeline", "pipeline.toml", *MLP, "--dry-run"], capsys, monkeypatch)
               ).splitlines()
    assert lines == ["magnitude_prune:",
                     "  0.weight: mask 8192 values (global ranking)",
                     "  2.weight: mask 8192 values (global ranking)",
                     "  4.weight: mask 640 values (global ranking)",
                     "linear_quant:",
                     "  0: weights 8-bit symmetric per channel, inputs 8-bit",
                     "  2: weights 8-bit symmetric per channel, inputs 8-bit",
                     "  4: weights 8-bit symmetric per channel, inputs 8-bit"]


# -- clean errors ----------------------------------------------------------------------------------------------
def test_unknown_pass_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(apply_in_process(runs, ["magnitude_prun sparsity=0.7", *MLP], capsys, monkeypatch),
                     "unknown pass 'magnitude_prun' (did you mean 'magnitude_prune'?)")


def test_sparsity_out_of_range_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(apply_in_process(runs, ["magnitude_prune sparsity=1.5", *MLP], capsys, monkeypatch),
                     "magnitude_prune: option sparsity must be in [0, 1), got 1.5")


def test_zero_bits_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(apply_in_process(runs, ["linear_quant bits=0", *MLP], capsys, monkeypatch),
                     "linear_quant: option bits must be in [2, 16], got 0")


def test_spec_word_without_equals_sign_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(apply_in_process(runs, ["magnitude_prune sparsity", *MLP], capsys, monkeypatch),
                     "expected key=value, got 'sparsity'")


def test_spec_with_an_unclosed_quote_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(apply_in_process(runs, ['magnitude_prune sparsity="0.7', *MLP], capsys, monkeypatch),
                     "No closing quotation")


def test_missing_pipeline_file_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(apply_in_process(runs, ["--pipeline", "missing.toml", *MLP], capsys, monkeypatch),
                     "pipeline file missing.toml does not exist")


def test_out_refuses_a_non_empty_folder(runs, capsys, monkeypatch):
    full = runs["paths"]["full"]
    assert_qml_error(apply_in_process(runs, [PRUNE_THEN_INT8, *MLP, "--out", str(full)], capsys, monkeypatch),
                     "exists and is not an empty folder")
    assert [p.name for p in Path(runs["paths"]["full"]).iterdir()] == ["old.txt"]
