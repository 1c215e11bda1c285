"""``qml run``, ``qml jobs`` and ``qml ibm login`` against a second writer, damaged or read-only files, and token
files others can read. The walls between processes (two runs started at once on one folder, a run refused while
another process holds the folder, ``qml jobs`` reading it meanwhile) are the real console script in processes of
their own, started together (each start costs seconds of imports). The damaged folders and token files are each
one command run by ``qml.cli.main.main`` in-process, its output read at the file descriptors. ``HOME`` is a
temporary folder and no ``QISKIT_IBM_*`` variable is set, so the developer's saved account is never read or
written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from qml.backends.account import ACCOUNT_FILE_ENV
from qml.cli.main import main
from qml.files import FolderLock
from tests.cli.test_run_cli import HW, QML, TOKEN, Done, assert_qml_error, ledger, make_trained_run

# 16 inputs in 8 jobs of 2 rows: a second writer has many chances to submit a job twice or lose an id
SMALL = ["--backend", "fake:ibm_quito", "--limit", "16", "--shots", "64", "--max-rows-per-job", "2", "--yes"]
PLANNED = 8
RESUME = ["--backend", "fake:ibm_quito", "--yes"]  # the settings come from jobs.json


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QISKIT_IBM") and k != ACCOUNT_FILE_ENV}
    return {**env, "HOME": str(home), "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}


def start(argv: list, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(QML + [str(a) for a in argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(proc: subprocess.Popen) -> Done:
    stdout, stderr = proc.communicate(timeout=300)
    return Done(proc.returncode, stdout, stderr)


def in_process(argv: list, home: Path, monkeypatch, capfd) -> Done:
    """``qml ARGV`` run by ``qml.cli.main.main`` in this process, in ``environment(home)``'s account setting (that
    ``HOME``, no ``QISKIT_IBM_*`` variable, no account file variable); stdout and stderr read at the descriptors."""
    monkeypatch.setenv("HOME", str(home))
    for name in [k for k in os.environ if k.startswith("QISKIT_IBM")] + [ACCOUNT_FILE_ENV]:
        monkeypatch.delenv(name, raising=False)
    capfd.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capfd.readouterr()
    return Done(code, out, err)


def submitted(stdout: str) -> list[str]:
    """The job ids a ``qml run`` says it submitted."""
    return re.findall(r"^job \d+: submitted (\S+) ", stdout, flags=re.MULTILINE)


def temporary_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


@contextlib.contextmanager
def read_only(folder: Path):
    """``folder`` refuses new files: mode 0555, or for root (whom modes do not stop) the immutable attribute."""
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
        pytest.skip("running as root on a file system without chattr +i: no folder is read-only to root")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.fixture(scope="module")
def raced(tmp_path_factory) -> tuple[Path, list[Done], list[int]]:
    """Two ``qml run`` on one fresh folder, started at the same moment."""
    base = tmp_path_factory.mktemp("walls")
    run = make_trained_run(base / "run")
    procs = [start(["run", run, *SMALL], environment(base / "home")) for _ in range(2)]
    return run, [finish(p) for p in procs], [p.pid for p in procs]


# -- one writer per hardware folder --------------------------------------------------------------------------------
def test_two_runs_on_one_folder_submit_each_planned_job_once_and_keep_every_id(raced):
    run, done, pids = raced
    jobs = ledger(run)["jobs"]
    ids = [j["job_id"] for j in jobs]
    assert len(jobs) == PLANNED and all(ids) and all(j["previous_ids"] == [] for j in jobs)
    assert sorted(submitted(done[0].stdout) + submitted(done[1].stdout)) == sorted(ids)
    codes = [d.returncode for d in done]
    if sorted(codes) == [0, 2]:
        loser = codes.index(2)
        assert_qml_error(done[loser], f"{run / HW} is in use by ")
        # the holder is named, unless it was caught between taking the lock and writing its name into it
        assert re.search(f"in use by (process {pids[1 - loser]} on |another process)", done[loser].stderr)
        assert submitted(done[loser].stdout) == []
    else:  # the first finished before the second took the lock: the second found every result stored
        assert codes == [0, 0], [d.stderr for d in done]
        assert sorted(len(submitted(d.stdout)) for d in done) == [0, PLANNED]
    assert json.loads((run / HW / "result.json").read_text())["jobs"] == ids
    assert all((run / HW / f"results/job-{k}.npz").is_file() for k in range(PLANNED))
    assert temporary_files(run) == []


def test_a_run_at_work_refuses_a_second_one_by_name_while_qml_jobs_reads_the_folder(raced, tmp_path):
    run = Path(shutil.copytree(raced[0], tmp_path / "run"))
    before = (run / HW / "jobs.json").read_bytes()
    env = environment(tmp_path / "home")
    with FolderLock(run / HW, "qml run held by the test"):
        second, listing = start(["run", run, *RESUME], env), start(["jobs", run], env)
        second, listing = finish(second), finish(listing)
    assert_qml_error(second, f"{run / HW} is in use by process {os.getpid()} on {socket.gethostname()} "
                             f"(qml run held by the test, since ")
    assert second.stdout == "" and (run / HW / "jobs.json").read_bytes() == before
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("DONE (result stored)") == PLANNED


# -- damaged and read-only files -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def faults(raced, tmp_path_factory) -> dict:
    """Copies of the finished run, each damaged one way, and token files; the command of each is run by its test
    (``fault``)."""
    base = tmp_path_factory.mktemp("faults")
    runs = {name: Path(shutil.copytree(raced[0], base / name)) for name in ("truncated", "garbled", "read_only")}
    npz = runs["truncated"] / HW / "results/job-3.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])  # as a copy that stopped half way leaves it
    (runs["garbled"] / HW / "circuit.qpy").write_bytes(b"QISKIT" + bytes(64))
    for name in ("garbled", "read_only"):  # a local job whose result is gone: it must be submitted again
        (runs[name] / HW / "results/job-3.npz").unlink()
    tokens = base / "tokens"
    tokens.mkdir()
    (tokens / "latin1").write_bytes(b"caf\xe9 " + TOKEN.encode())
    (tokens / "shared").write_text(TOKEN + "\n")
    (tokens / "shared").chmod(0o644)
    commands = {
        "truncated": ["run", runs["truncated"], *RESUME],
        "garbled": ["run", runs["garbled"], *RESUME],
        "read_only": ["run", runs["read_only"], *RESUME],
        "latin1": ["ibm", "login", "--token-file", tokens / "latin1"],
        "shared": ["ibm", "login", "--token-file", tokens / "shared"],
    }
    before = {name: (run / HW / "jobs.json").read_bytes() for name, run in runs.items()}
    return {"runs": runs, "commands": commands, "before": before, "tokens": tokens, "base": base}


def fault(faults, name: str, monkeypatch, capfd) -> Done:
    """The command of fault ``name``, run once its folder or file is in place (the read-only folder made read-only
    for it)."""
    home = faults["base"] / name / "home"
    if name != "read_only":
        return in_process(faults["commands"][name], home, monkeypatch, capfd)
    with read_only(faults["runs"][name] / HW):
        return in_process(faults["commands"][name], home, monkeypatch, capfd)


def test_a_truncated_result_of_a_local_job_counts_as_missing_and_the_job_runs_again_saying_so(faults, raced,
                                                                                             monkeypatch, capfd):
    run, done = faults["runs"]["truncated"], fault(faults, "truncated", monkeypatch, capfd)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    npz = run / HW / "results/job-3.npz"
    assert (f"job 3: {npz} is not a readable results file (BadZipFile; expected the npz of bits a finished job "
            f"returned); treated as missing: the job is run again") in done.stdout
    old = ledger(raced[0])["jobs"][3]["job_id"]
    job = ledger(run)["jobs"][3]
    assert submitted(done.stdout) == [job["job_id"]] and job["previous_ids"] == [old]
    with np.load(npz) as data:
        assert data["bits"].shape[:2] == (2, 64)
    assert json.loads((run / HW / "result.json").read_text())["submitted_by_last_call"] == 1
    assert temporary_files(run) == []


def test_a_garbled_circuit_with_a_job_left_to_submit_is_one_line_naming_it(faults, monkeypatch, capfd):
    run, done = faults["runs"]["garbled"], fault(faults, "garbled", monkeypatch, capfd)
    assert_qml_error(done, f"{run / HW / 'circuit.qpy'} is not a readable QPY circuit", "remove it")
    assert submitted(done.stdout) == []
    assert (run / HW / "jobs.json").read_bytes() == faults["before"]["garbled"]
    assert temporary_files(run) == []


def test_a_read_only_folder_is_one_line_naming_the_file_and_leaves_no_temporary_file(faults, monkeypatch, capfd):
    run, done = faults["runs"]["read_only"], fault(faults, "read_only", monkeypatch, capfd)
    assert_qml_error(done, f"cannot write {run / HW / 'jobs.json'}: ")
    assert submitted(done.stdout) == []
    assert (run / HW / "jobs.json").read_bytes() == faults["before"]["read_only"]
    assert temporary_files(run) == []


def test_login_with_a_token_file_not_in_utf8_is_one_line_and_saves_nothing(faults, monkeypatch, capfd):
    done, path = fault(faults, "latin1", monkeypatch, capfd), faults["tokens"] / "latin1"
    assert_qml_error(done, f"--token-file {path} is not a UTF-8 text file")
    assert TOKEN not in done.stdout + done.stderr
    assert not (faults["base"] / "latin1/home/.qiskit/qiskit-ibm.json").exists()


def test_login_warns_of_a_token_file_others_can_read_and_saves_the_account_for_its_owner_only(faults, monkeypatch,
                                                                                              capfd):
    done, path = fault(faults, "shared", monkeypatch, capfd), faults["tokens"] / "shared"
    saved = faults["base"] / "shared/home/.qiskit/qiskit-ibm.json"
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"qml: warning: --token-file {path} can be read by other users (mode 0644); "
                                        f"restrict it with: chmod 600 {path}"]
    assert done.stdout.strip() == f"saved the IBM Quantum account to {saved}"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert TOKEN not in done.stdout + done.stderr and TOKEN in saved.read_text()
