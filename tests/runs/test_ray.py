"""Studies and searches on a real Ray cluster: ``ray start --head`` on 127.0.0.1 with two CPUs (token
authentication, as Ray enables by default for local clusters), which the real console script joins with
``--ray-address`` and this process joins as a driver. A tiny study (one noise-free run that three devices' cells
evaluate) has its worker killed mid-training: Ray runs the cell again, which resumes from its checkpoint and trains
no epoch twice; Ctrl-C then stops it, ``--resume`` finishes it in-process, and every cell equals the in-process
run's. A tiny search scores its candidates and retrains its finalists on the workers with the same records; a
unit's own error is raised as it is, a worker that keeps dying is one line; bad Ray flags are one line and exit
2."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qml.cli.main import main
from qml.errors import InputError
from qml.runs import SearchConfig, StudyConfig, search_run, study_run
from qml.runs.fanout import Unit

ray = pytest.importorskip("ray", reason="the ray extra: pip install 'qml-robust[ray]'")

from qml.runs.ray_pool import RETRIES, RayPool, WorkerLost  # noqa: E402

EPOCHS = 10  # long enough (a second or two a cell) to kill a worker mid-cell
FLAGS = ["--methods", "plain", "--devices", "quito,lima,manila", "--tasks", "digits2", "--seeds", "0", "--epochs",
         str(EPOCHS), "--shots", "128", "--limit", "20"]
STUDY = StudyConfig(methods=["plain"], devices=["quito", "lima", "manila"], tasks=["digits2"], seeds=[0],
                    epochs=EPOCHS, shots=128, limit=20)


@pytest.fixture(scope="module")
def cluster():
    """A two-CPU Ray head on 127.0.0.1 with the token conftest.py set, which the console script joins with
    --ray-address; yields (address, the environment that reaches it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    ray_cli = str(Path(sys.executable).with_name("ray"))
    started = subprocess.run([ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                              "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        if ray.is_initialized():
            ray.shutdown()
        # not waited for: `ray stop` takes 7 s to see every process gone, while the next tests need nothing of it
        subprocess.Popen([ray_cli, "stop", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)


@pytest.fixture(scope="module")
def joined(cluster):
    """This process as a driver on the cluster (what ``RayPool(ADDR)`` does for ``--ray-address`` in Python)."""
    with RayPool(cluster[0]) as pool:
        yield pool


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("ray") / "in-process"
    study_run(out, STUDY, say=lambda text: None)
    return out


def _default_sigint() -> None:
    """A shell without job control starts background jobs with SIGINT ignored, and Python then ignores Ctrl-C:
    the console script gets the terminal's default, as a user's would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _qml(args: list[str], env: dict, stdout) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qml.cli.main", *args], stdout=stdout,
                            env={**env, "PYTHONUNBUFFERED": "1"},
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def _workers_running_a_unit() -> list[int]:
    """Worker processes executing a unit now: Ray titles them after the task (``ray::_run_unit``)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(b"ray::_run_unit"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _cells(study: Path) -> dict[str, dict]:
    """Every cell's record without its timings."""
    return {str(p.relative_to(study)): {k: v for k, v in json.loads(p.read_text()).items() if k != "timings_s"}
            for p in sorted(study.glob("cells/**/cell.json"))}


def _wait_for(what, proc: subprocess.Popen, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"the study ended (exit {proc.returncode}) or timed out before {what.__doc__}")


def test_a_study_on_ray_retries_a_killed_worker_stops_on_ctrl_c_and_resumes_in_process_alike(
        cluster, in_process, tmp_path, capsys):
    address, env = cluster
    out = tmp_path / "on-ray"
    run = out / "cells" / "digits2" / "noise-free" / "0" / "plain"  # trained once, evaluated on every device
    first = out / "cells" / "digits2" / "ibm_quito" / "0" / "plain" / "cell.json"
    printed = tmp_path / "stdout.txt"  # read while the study runs
    proc = _qml(["study", *FLAGS, "--out", str(out), "--ray-address", address], env, printed.open("w"))

    def training_worker() -> int | None:
        """a worker holding the shared run's lock with an epoch on disk"""
        if not (run / "checkpoint.pt").is_file():
            return None
        try:
            pid = json.loads((run / ".lock").read_text())["pid"]
        except ValueError:  # being written
            return None
        return pid if pid in _workers_running_a_unit() else None

    os.kill(_wait_for(training_worker, proc), signal.SIGKILL)  # mid-training: Ray runs the cell again

    def first_counted() -> bool:
        """the driver counted the retried cell, which the worker wrote before the driver heard of it"""
        return first.is_file() and "[1/3 done" in printed.read_text()

    _wait_for(first_counted, proc)
    proc.send_signal(signal.SIGINT)  # the other devices' cells (1 to 3 s each) were just handed out
    _, stderr = proc.communicate(timeout=120)
    stdout = printed.read_text()
    assert proc.returncode == 130, stderr[-3000:]
    assert re.search(r"^stopped: 1/3 done, [12] running, 0 failed", stdout, re.M), stdout[-2000:]
    assert "--resume continues" in stdout
    assert "Traceback" not in stderr
    assert 1 <= len(list(out.glob("cells/**/cell.json"))) < 3  # a cell finishing as Ctrl-C came is kept
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, EPOCHS + 1))  # the retry resumed from the checkpoint: no epoch twice, none lost

    assert main(["study", "--resume", "--out", str(out)]) == 0  # finished in-process
    assert "to run" in capsys.readouterr().out
    assert _cells(out) == _cells(in_process)
    assert json.loads((out / "results.json").read_text()) == json.loads((in_process / "results.json").read_text())


def test_a_search_on_ray_scores_and_retrains_its_finalists_like_in_process(joined, tmp_path):
    from qml.search.evolution import EvolutionConfig
    from qml.search.supercircuit import SuperTrainConfig

    config = SearchConfig(task="digits2", space="u3cu3", space_options={"n_blocks": 1}, device="ibm_quito",
                          valid_size=20, super_train=SuperTrainConfig(1), retrain_epochs=1, prune_ratio=None,
                          evolution=EvolutionConfig(6, 2, 2, crossovers=1, generations=2), shots=128, finalists=2,
                          random_baseline=False, human_baseline=False)  # their batching: tests/search
    here = search_run(tmp_path / "here", config, quiet=True)
    there = search_run(tmp_path / "there", config, quiet=True, pool=joined)
    assert joined.workers == 2
    here.pop("timings_s"), there.pop("timings_s")
    assert there == here
    assert len(here["winner"]["finalists"]) == 2  # two finalists, retrained on the workers
    for name in ("evaluations.jsonl", "generations.jsonl", "winner/finalists.json"):
        assert (tmp_path / "there" / name).read_text() == (tmp_path / "here" / name).read_text(), name


def test_a_units_own_error_is_raised_as_it_is_and_a_worker_that_keeps_dying_is_one_line(joined):
    from qml.data import load_task

    assert joined.retries == RETRIES
    with pytest.raises(InputError, match="unknown task 'nope'"):
        joined.map([Unit("a task that does not exist", load_task, ("nope",))])
    with pytest.MonkeyPatch.context() as mp:  # one retry, not three: every attempt starts a worker
        mp.setattr(joined, "retries", 1)
        with pytest.raises(WorkerLost, match="dies: its Ray worker died 2 times"):
            joined.map([Unit("dies", os._exit, (1,))])
    assert joined.map([Unit("after", sum, ([1, 2],))]) == [3]  # the pool still works


@pytest.mark.parametrize("argv, message", [
    (["--workers", "2"], "--workers set(s) up Ray's workers: add --ray"),
    (["--ray-address", "127.0.0.1:1"], "cannot reach a Ray cluster at 127.0.0.1:1"),
    (["--ray-address", "somewhere"], "expected HOST:PORT"),
    (["--ray-address", "127.0.0.1:1", "--workers", "2"], "--workers is for the local Ray"),
])
def test_bad_ray_flags_are_one_line_and_exit_2_before_any_folder_is_made(tmp_path, capsys, argv, message):
    out = tmp_path / "never"
    assert main(["study", *FLAGS, "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
