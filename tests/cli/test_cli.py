"""The ``qml`` command line.

The documented commands run as real subprocesses (``python -m qml.cli.main`` and the installed ``qml`` script):
a training run through each, a clean error through the installed script, and the CUDA refusal (which depends on the
process's environment). Each start costs about two seconds of imports, so one module fixture launches all of them at
once and the tests read their results. The other refusals and flag checks call ``qml.cli.main.main(argv)``
in-process, from the folder the command would run in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from qiskit import qasm3

from qml.cli.main import main

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
HAS_SCRIPT = shutil.which("qml") is not None


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every subprocess of this module concurrently; wait for all; return name -> (Done, workdir)."""
    base = tmp_path_factory.mktemp("cli")
    work = {}

    def folder(name: str) -> Path:
        path = base / name
        path.mkdir()
        work[name] = path
        return path

    out_dir = folder("train") / "run"
    full = folder("full_out") / "run"
    full.mkdir()
    (full / "old.txt").write_text("old run")
    afile = folder("file_out") / "afile"
    afile.write_text("keep me")
    (folder("syntax") / "broken.py").write_text("import qml\n\ndef build(n_blocks=2)\n    return qml.Circuit(4)\n")
    for name in ("missing", "epochs0", "task"):
        folder(name)
    no_cuda = {**ENV, "CUDA_VISIBLE_DEVICES": ""}
    module = [sys.executable, "-m", "qml.cli.main"]
    commands = {
        "train": (module + ["train", "--task", "digits4", "--epochs", "2", "--quiet", "--out", str(out_dir)], ENV),
        "cuda": (module + ["train", "--torch-device", "cuda", "--epochs", "1"], no_cuda),
    }
    if HAS_SCRIPT:
        commands["script_train"] = (["qml", "train", "--task", "digits2", "--epochs", "1", "--quiet"], ENV)
        commands["script_error"] = (["qml", "train", "--task", "nope"], ENV)
    procs = {name: subprocess.Popen(cmd, cwd=work.get(name, base), env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, (cmd, env) in commands.items()}
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        results[name] = Done(proc.returncode, stdout, stderr)
    results["paths"] = {"out": out_dir, "full": full, "afile": afile}
    results["folders"] = work
    return results


def in_folder(runs, name: str, argv: list[str], capsys, monkeypatch) -> Done:
    """``qml ARGV`` run by ``qml.cli.main.main`` in this process, from the folder of the command ``name``."""
    monkeypatch.chdir(runs["folders"][name])
    capsys.readouterr()
    return _main(argv, capsys)


def assert_qml_error(done: Done, pattern: str) -> None:
    """Exit code 2, no traceback, and exactly one stderr line: ``qml: error: ...`` containing ``pattern``."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qml: error: ") and pattern in lines[0], done.stderr


def assert_argparse_error(done: Done, pattern: str) -> None:
    """Exit code 2, no traceback, usage then one ``qml train: error: ...`` line containing ``pattern``."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("usage: qml")
    assert lines[-1].startswith("qml train: error: ") and pattern in lines[-1], done.stderr


# -- a real training run ------------------------------------------------------------------------------
def test_train_prints_test_accuracy(runs):
    done = runs["train"]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("task digits4: 432 train / 108 valid / 180 test, 4 classes")
    assert lines[1].startswith("epoch 2: train loss")
    accuracy = [line for line in lines if line.startswith("test accuracy ")]
    assert len(accuracy) == 1
    assert 0.0 <= float(accuracy[0].split()[-1]) <= 1.0


def test_quiet_train_prints_no_progress_bar(runs):
    assert "step" not in runs["train"].stderr


def test_out_folder_has_config_metrics_weights_and_circuit(runs):
    out = runs["paths"]["out"]
    assert {"config.json", "metrics.jsonl", "model.pt", "circuit.qasm"} <= {p.name for p in out.iterdir()}


def test_out_config_records_the_settings(runs):
    config = json.loads((runs["paths"]["out"] / "config.json").read_text())
    assert config["task"] == "digits4" and config["train"]["epochs"] == 2 and config["circuit"] == "u3cu3"
    assert config["blocks"] == 2 and config["train"]["lr"] == 0.02 and config["train"]["device"] == "cpu"
    assert config["device_name"] is None and config["norm"] is False and config["quant_levels"] is None


def test_out_metrics_have_one_line_per_epoch(runs):
    text = (runs["paths"]["out"] / "metrics.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(0 <= r["valid_accuracy"] <= 1 for r in rows)


def test_out_model_loads_with_weights_only(runs):
    state = torch.load(runs["paths"]["out"] / "model.pt", weights_only=True)
    assert sorted(state) == ["post.running_mean", "post.running_std", "qmodule.theta"]
    assert state["qmodule.theta"].shape == (48,)
    assert torch.isfinite(state["qmodule.theta"]).all()


def test_out_circuit_qasm_loads_with_bound_weights_and_symbolic_features(runs):
    qc = qasm3.loads((runs["paths"]["out"] / "circuit.qasm").read_text())
    assert qc.num_qubits == 4
    assert sorted(p.name for p in qc.parameters) == sorted(f"_x_{i}_" for i in range(16))
    assert dict(qc.count_ops()) == {"ry": 8, "rz": 4, "rx": 4, "u3": 8, "cu3": 8}


# -- clean errors (the installed script's own below; the CUDA refusal from a real process) ---------------------
def test_out_refuses_a_non_empty_folder(runs, capsys, monkeypatch):
    full = runs["paths"]["full"]
    assert_qml_error(in_folder(runs, "full_out", ["train", "--epochs", "1", "--quiet", "--out", str(full)], capsys,
                               monkeypatch), "exists and is not empty")
    assert sorted(p.name for p in runs["paths"]["full"].iterdir()) == ["old.txt"]


def test_out_pointing_at_a_file_is_a_clean_error(runs, capsys, monkeypatch):
    afile = runs["paths"]["afile"]
    assert_qml_error(in_folder(runs, "file_out", ["train", "--epochs", "1", "--quiet", "--out", str(afile)], capsys,
                               monkeypatch), "--out")
    assert runs["paths"]["afile"].read_text() == "keep me"


def test_zero_epochs_is_an_argparse_error(runs, capsys, monkeypatch):
    assert_argparse_error(in_folder(runs, "epochs0", ["train", "--epochs", "0"], capsys, monkeypatch),
                          "argument --epochs: expected a positive integer, got '0'")


def test_unknown_task_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(in_folder(runs, "task", ["train", "--task", "nope", "--epochs", "1"], capsys, monkeypatch),
                     "unknown task 'nope': expected one of digits2, digits4")


def test_missing_circuit_file_is_a_clean_error(runs, capsys, monkeypatch):
    assert_qml_error(in_folder(runs, "missing", ["train", "--circuit", "missing.py", "--epochs", "1"], capsys,
                               monkeypatch), "circuit file 'missing.py' does not exist")


def test_circuit_file_with_syntax_error_names_the_line(runs, capsys, monkeypatch):
    assert_qml_error(in_folder(runs, "syntax", ["train", "--circuit", "broken.py", "--epochs", "1"], capsys,
                               monkeypatch), "broken.py:3: syntax error")


def test_cuda_device_without_cuda_is_a_clean_error(runs):
    assert_qml_error(runs["cuda"], "torch device 'cuda' requested but CUDA is not available")


@pytest.mark.skipif(not HAS_SCRIPT, reason="the qml console script is not installed")
def test_installed_console_script_trains(runs):
    done = runs["script_train"]
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout


@pytest.mark.skipif(not HAS_SCRIPT, reason="the qml console script is not installed")
def test_installed_console_script_reports_errors_cleanly(runs):
    assert_qml_error(runs["script_error"], "unknown task 'nope'")


# -- more flags, in-process ------------------------------------------------------------------------------------
def _main(argv, capsys) -> Done:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return Done(code, captured.out, captured.err)


@pytest.mark.parametrize("flags,pattern", [
    (["--epochs", "two"], "argument --epochs: expected a positive integer, got 'two'"),
    (["--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
    (["--lr", "nan"], "argument --lr: expected a positive number, got 'nan'"),
    (["--lr", "inf"], "argument --lr: expected a positive number, got 'inf'"),
    (["--batch-size", "0"], "argument --batch-size: expected a positive integer, got '0'"),
    (["--blocks", "-2"], "argument --blocks: expected a positive integer, got '-2'"),
    (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
])
def test_bad_flag_values_are_argparse_errors(flags, pattern, capsys):
    assert_argparse_error(_main(["train", *flags], capsys), pattern)


def test_unknown_flag_is_an_argparse_error(capsys):
    done = _main(["train", "--bogus"], capsys)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "qml: error: unrecognized arguments: --bogus"


def test_unknown_builtin_circuit_is_a_clean_error(capsys):
    assert_qml_error(_main(["train", "--circuit", "nosuch", "--epochs", "1"], capsys), "unknown circuit 'nosuch'")


def test_circuit_with_wrong_feature_count_is_a_clean_error(tmp_path, capsys):
    path = tmp_path / "wide.py"
    path.write_text(textwrap.dedent("""
        import qml

        def build(n_blocks=2):
            return qml.Circuit(4).encode("4x4_ryzxy").ry(0, qml.Input(20))
    """))
    done = _main(["train", "--circuit", str(path), "--epochs", "1"], capsys)
    assert_qml_error(done, "takes 21 features, task 'digits4' gives 16")


def test_unknown_torch_device_is_a_clean_error(capsys):
    assert_qml_error(_main(["train", "--torch-device", "tpu9", "--epochs", "1"], capsys),
                     "unknown torch device 'tpu9'")


def test_bad_device_with_out_leaves_no_run_folder(tmp_path, capsys, monkeypatch):
    """A setting rejected before training starts must not leave a half-written --out folder behind
    (a later run with the same --out would then be refused as non-empty)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "run"
    done = _main(["train", "--torch-device", "cuda", "--epochs", "1", "--quiet", "--out", str(out)], capsys)
    assert_qml_error(done, "CUDA is not available")
    assert not out.exists() or not any(out.iterdir())


def test_no_command_prints_help_and_returns_2(capsys):
    done = _main([], capsys)
    assert done.returncode == 2
    assert "usage: qml" in done.stdout and "train" in done.stdout


def test_version_flag(capsys):
    done = _main(["--version"], capsys)
    assert done.returncode == 0 and done.stdout.strip() == "qml 0.1.0"


def test_an_abbreviated_flag_is_an_argparse_error(capsys):
    """``--data-d`` is not read as ``--data-dir``: a prefix names no flag, so a misspelt one never runs a command."""
    done = _main(["train", "--data-d", "x", "--epochs", "1"], capsys)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "qml: error: unrecognized arguments: --data-d x"


def test_no_qml_parser_matches_flag_prefixes():
    import argparse

    from qml.cli.main import build_parser

    def tree(parser, path):
        yield path, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from tree(child, f"{path} {name}")

    parsers = dict(tree(build_parser(), "qml"))
    assert {"qml train", "qml noise show", "qml passes apply"} <= set(parsers)
    assert [path for path, parser in parsers.items() if parser.allow_abbrev] == []


def test_a_data_folder_for_a_task_that_reads_none_is_a_clean_error(tmp_path, capsys):
    done = _main(["train", "--task", "digits2", "--data-dir", str(tmp_path), "--epochs", "1", "--quiet",
                  "--out", str(tmp_path / "run")], capsys)
    assert_qml_error(done, f"digits2 reads no data folder (its images ship with scikit-learn), but {tmp_path}")
