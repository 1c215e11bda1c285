"""``qml search``: a tiny search end to end through the real console script, ``--resume`` of the finished run, and
bad settings, each exiting 2 with one ``qml: error:`` line before any run folder is made. Only the first search
runs as a subprocess; the rest call ``qml.cli.main.main(argv)``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from qml.cli.main import main

ENV = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
QML = ["qml"] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]
TINY = ["search", "--space-blocks", "2", "--super-epochs", "1", "--valid-size", "40", "--population", "4",
        "--parents", "2", "--mutations", "1", "--crossovers", "1", "--generations", "2", "--retrain-epochs", "1",
        "--prune-ratio", "0", "--shots", "64", "--super-noise", "0.5", "--quiet"]
RUN_FILES = {"config.json", "super.pt", "super_metrics.jsonl", "evaluations.jsonl", "generations.jsonl",
             "random.jsonl", "results.json", "report.md", "fitness.png", "layout.png", "winner", "random", "baseline"}


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def _qml(argv: list[str], cwd: Path) -> Done:
    proc = subprocess.run(QML + argv, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
    return Done(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    base = tmp_path_factory.mktemp("search_cli")
    run = base / "run"
    first = _qml(TINY + ["--out", str(run)], base)
    assert first.returncode == 0, first.stderr
    evaluations = (run / "evaluations.jsonl").read_text()
    resumed = main(["search", "--resume", "--out", str(run), "--quiet"])  # in-process: the imports are paid
    return {"run": run, "first": first, "evaluations": evaluations, "resumed": resumed}


def test_tiny_search_writes_a_complete_run_folder(search):
    assert "Traceback" not in search["first"].stderr
    assert RUN_FILES <= {p.name for p in search["run"].iterdir()}
    results = json.loads((search["run"] / "results.json").read_text())
    assert {"winner", "random", "baseline"} <= set(results)


def test_search_records_its_settings_for_resume(search):
    config = json.loads((search["run"] / "config.json").read_text())
    assert config["space_options"] == {"variant": "front", "n_blocks": 2}
    assert config["evolution"]["population"] == 4 and config["prune_ratio"] is None
    assert config["super_train"]["noise_factor"] == 0.5  # noise-aware SuperCircuit training, kept for --resume


def test_resuming_a_finished_search_evaluates_nothing(search):
    assert search["resumed"] == 0
    assert (search["run"] / "evaluations.jsonl").read_text() == search["evaluations"]


# -- bad settings, in-process ----------------------------------------------------------------------------------------
def _main(argv: list[str], capsys) -> Done:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return Done(code, captured.out, captured.err)


def _search_error(flags: list[str], tmp_path: Path, capsys) -> Done:
    out = tmp_path / "run"
    done = _main(["search", "--quiet", *flags, "--out", str(out)], capsys)
    assert not out.exists(), "a rejected search left its folder behind"
    return done


def assert_qml_error(done: Done, *patterns: str) -> None:
    """Exit code 2, no traceback, and exactly one stderr line: ``qml: error: ...`` containing every pattern."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qml: error: "), done.stderr
    for pattern in patterns:
        assert pattern in lines[0], done.stderr


@pytest.mark.parametrize("flags,patterns", [
    (["--space", "u3cu4"], ["unknown design space 'u3cu4'", "did you mean 'u3cu3'"]),
    (["--device", "ibm_quitto"], ["unknown device 'ibm_quitto'", "did you mean 'ibm_quito'"]),
    (["--population", "2", "--parents", "5"], ["parents (5) cannot exceed the population (2)"]),
    (["--prune-ratio", "1.5"], ["--prune-ratio must be in [0, 1), got 1.5"]),
])
def test_bad_setting_is_a_clean_error(flags, patterns, tmp_path, capsys):
    assert_qml_error(_search_error(flags, tmp_path, capsys), *patterns)


def test_zero_generations_is_an_argparse_error(tmp_path, capsys):
    done = _search_error(["--generations", "0"], tmp_path, capsys)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("qml search: error: argument --generations")


def test_design_space_file_with_a_syntax_error_names_file_and_line(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text(textwrap.dedent("""
        import qml.search

        def space(:
            pass
    """).lstrip("\n"))
    done = _search_error(["--space", str(path)], tmp_path, capsys)
    assert_qml_error(done)
    assert re.search(rf"{re.escape(str(path))}:3: syntax error", done.stderr), done.stderr


def test_resume_of_an_empty_folder_is_a_clean_error_that_writes_nothing(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _main(["search", "--resume", "--out", str(empty), "--quiet"], capsys)
    assert_qml_error(done, f"nothing to resume: {empty} is not a qml run folder (no config.json)")
    assert list(empty.iterdir()) == []
