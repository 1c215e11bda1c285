"""``qml run RUN --backend ibm_NAME|fake:ibm_NAME``, ``qml jobs RUN``, ``qml ibm login`` — offline.

A small run (4 qubits, one U3+CU3 block, untrained weights) goes through qiskit-ibm-runtime's local testing mode
(``fake:ibm_quito``): 16 inputs x 256 shots in two jobs. The live path meets this machine's missing network, a
stubbed rejection, or no token at all. ``HOME`` is a temporary folder and no ``QISKIT_IBM_*`` variable is set,
so the developer's saved account is never read or written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from qml.backends import account
from qml.cli.main import main

TOKEN = "fake-token-XYZ123-never-to-be-seen"
QML = ["qml"] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]
FAKE = ["--backend", "fake:ibm_quito", "--limit", "16", "--shots", "256", "--max-rows-per-job", "8", "--yes"]
HW = Path("hardware") / "fake_ibm_quito"
NETWORK_DOWN = "cannot reach IBM Quantum (network)"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def isolated_account(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL", "QISKIT_IBM_URL",
                 account.ACCOUNT_FILE_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return make_trained_run(tmp_path_factory.mktemp("run_cli") / "run")


def make_trained_run(run: Path) -> Path:
    """A run folder as ``qml train --device ibm_quito`` leaves it (weights drawn, not trained: the path matters)."""
    from qml.data import load_task
    from qml.files import write_atomic
    from qml.runs import RunConfig, build_model

    run.mkdir()
    config = RunConfig(task="digits4", circuit="u3cu3", blocks=1, device_name="ibm_quito", layout=[1, 0, 2, 3])
    data = load_task(config.task, seed=config.train.seed)
    torch.manual_seed(0)
    torch.save(build_model(config, data.n_features, data.n_classes).state_dict(), run / "model.pt")
    write_atomic(run / "config.json", json.dumps(config.to_dict()))
    write_atomic(run / "result.json", json.dumps({"test_accuracy": 0.61, "test_loss": 1.0}))
    write_atomic(run / "eval.jsonl", json.dumps({"backend": "aer:ibm_quito", "shots": 256, "split": "test", "n": 16,
                                                 "accuracy": 0.4375}) + "\n")
    return run


@pytest.fixture
def run(trained, tmp_path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "run"))


def _main(argv: list[str], capfd) -> Done:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    captured = capfd.readouterr()
    return Done(code, captured.out, captured.err)


def assert_qml_error(done: Done, *patterns: str) -> None:
    """Exit code 2, no traceback, and exactly one stderr line: ``qml: error: ...`` containing every pattern."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qml: error: "), done.stderr
    for pattern in patterns:
        assert pattern in lines[0], done.stderr


def files(folder: Path) -> set[str]:
    """The files under ``folder``, but the ``.lock`` a ``qml run`` holds while it works (it stays, free, after)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


def ledger(run: Path, hw: Path = HW) -> dict:
    return json.loads((run / hw / "jobs.json").read_text())


# -- local testing mode --------------------------------------------------------------------------------------------
def test_fake_run_reports_accuracy_next_to_the_simulated_figures(run, capfd):
    done = _main(["run", run, *FAKE], capfd)
    assert done.returncode == 0, done.stderr
    assert "16 circuits x 256 shots = 4,096 executions in 2 job(s)" in done.stdout
    assert "physical qubits [1, 0, 2, 3]" in done.stdout
    result = json.loads((run / HW / "result.json").read_text())
    assert result["n"] == 16 and result["shots"] == 256 and result["local"] and 0 <= result["accuracy"] <= 1
    assert result["jobs"] == [j["job_id"] for j in ledger(run)["jobs"]] and all(result["jobs"])
    report = (run / HW / "report.md").read_text()
    assert "| noise-free (training run) | none | test | 180 (all) | exact | 0.6100 |" in report
    assert "| aer:ibm_quito (Aer twin) | none | test | 16 | 256 | 0.4375 |" in report
    assert f"| **fake:ibm_quito** (local testing mode) | none | test | 16 | 256 | {result['accuracy']:.4f} |" in report
    assert "different numbers of inputs (16, 180 (all);" in report
    assert {"results/job-0.npz", "results/job-1.npz", "circuit.qpy", "attempts.log"} <= files(run / HW)


def test_an_interrupted_run_resumes_without_submitting_finished_jobs_again(run, tmp_path, monkeypatch, capfd):
    import qml.backends.ibm as ibm

    whole = Path(shutil.copytree(run, tmp_path / "whole"))
    assert _main(["run", whole, *FAKE], capfd).returncode == 0
    real_wait, waits = ibm.wait_result, []

    def wait_then_die(job, poll_interval=ibm.POLL_SECONDS):
        on_disk = ledger(run)["jobs"]
        assert len(on_disk) == 2 and all(j["job_id"] for j in on_disk), "job ids must be on disk before any wait"
        waits.append(job.job_id())
        if len(waits) == 2:
            raise KeyboardInterrupt  # the process dies while job 1 is still out
        return real_wait(job, poll_interval)

    monkeypatch.setattr(ibm, "wait_result", wait_then_die)
    done = _main(["run", run, *FAKE], capfd)
    assert done.returncode == 130
    assert f"resume with: qml run {run} --backend fake:ibm_quito" in done.stderr
    first = [j["job_id"] for j in ledger(run)["jobs"]]
    assert waits == first
    assert (run / HW / "results/job-0.npz").is_file() and not (run / HW / "results/job-1.npz").exists()

    listed = _main(["jobs", run], capfd)
    assert listed.returncode == 0, listed.stderr
    assert f"{first[0]}   DONE (result stored)" in listed.stdout
    assert f"{first[1]}   LOST (local job ended with its process; qml run re-runs it)" in listed.stdout

    monkeypatch.setattr(ibm, "wait_result", real_wait)
    resumed = _main(["run", run, *FAKE], capfd)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "submitted" in resumed.stdout
    jobs = ledger(run)["jobs"]
    assert jobs[0]["job_id"] == first[0] and jobs[0]["previous_ids"] == []  # finished: never submitted again
    assert jobs[1]["previous_ids"] == [first[1]] and jobs[1]["job_id"] not in first  # local: re-run
    assert json.loads((run / HW / "result.json").read_text())["submitted_by_last_call"] == 1
    for k in (0, 1):  # seeded per job: the same bits as the run that was never interrupted
        with np.load(run / HW / f"results/job-{k}.npz") as a, np.load(whole / HW / f"results/job-{k}.npz") as b:
            np.testing.assert_array_equal(a["bits"], b["bits"])
    assert (json.loads((run / HW / "result.json").read_text())["accuracy"]
            == json.loads((whole / HW / "result.json").read_text())["accuracy"])


def test_a_finished_run_resumes_from_stored_results_alone(run, capfd):
    assert _main(["run", run, *FAKE], capfd).returncode == 0
    again = _main(["run", run, "--backend", "fake:ibm_quito", "--yes"], capfd)  # settings come from jobs.json
    assert again.returncode == 0, again.stderr
    assert "submitted" not in again.stdout and "executions" not in again.stdout
    assert json.loads((run / HW / "result.json").read_text())["submitted_by_last_call"] == 0


def test_jobs_lists_each_job_with_its_id_and_status(run, capfd):
    assert _main(["run", run, *FAKE], capfd).returncode == 0
    done = _main(["jobs", run, "--backend", "fake:ibm_quito"], capfd)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("fake:ibm_quito (local testing mode): 2 job(s), 16 inputs of split test x 256 shots")
    for k, job in enumerate(ledger(run)["jobs"]):
        assert lines[1 + k].split() == ["job", str(k), "rows", f"{8 * k}-{8 * k + 7}", job["job_id"], "DONE",
                                        "(result", "stored)"]
    assert lines[3].startswith("  accuracy ")


def test_declining_the_prompt_submits_nothing_and_writes_nothing(run, monkeypatch, capfd):
    before = files(run)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    done = _main(["run", run, "--backend", "fake:ibm_quito", "--limit", "4", "--shots", "16"], capfd)
    assert_qml_error(done, "not submitted")
    assert "4 circuits x 16 shots = 64 executions" in done.stdout
    assert files(run) == before


def test_a_mitigated_run_keeps_calibration_job_ids_on_disk_and_resumes(run, monkeypatch, capfd):
    import qml.backends.ibm as ibm

    argv = ["run", run, *FAKE[:-1], "--limit", "8", "--mitigate", "readout", "--yes"]
    real_wait, waits = ibm.wait_result, []

    def wait_then_die(job, poll_interval=ibm.POLL_SECONDS):
        waits.append(job.job_id())
        if len(waits) == 2:  # the evaluation's job is in, the calibration job still out
            raise KeyboardInterrupt
        return real_wait(job, poll_interval)

    monkeypatch.setattr(ibm, "wait_result", wait_then_die)
    assert _main(argv, capfd).returncode == 130
    jobs = ledger(run)["jobs"]
    assert [(j["circuit"], j["start"], j["stop"]) for j in jobs] == [("raw", 0, 8), ("cal", 0, 8)]
    assert [j["job_id"] for j in jobs] == waits and ledger(run)["mitigation"]["methods"] == ["readout"]
    monkeypatch.setattr(ibm, "wait_result", real_wait)
    assert_qml_error(_main(["run", run, "--backend", "fake:ibm_quito", "--mitigate", "zne", "--yes"], capfd),
                     "submitted with --mitigate readout")
    done = _main(["run", run, "--backend", "fake:ibm_quito", "--yes"], capfd)  # settings come from jobs.json
    assert done.returncode == 0, done.stderr
    again = ledger(run)["jobs"]
    assert again[0]["job_id"] == waits[0] and again[1]["previous_ids"] == [waits[1]]  # only the lost one re-run
    lines = done.stdout.splitlines()
    assert lines[-3].startswith("fake_quito (local testing mode): test accuracy ") and "2,048 executions" in lines[-3]
    assert lines[-2].startswith("fake_quito (local testing mode), readout-mitigated: test accuracy ")
    assert "4,096 executions" in lines[-2]
    result = json.loads((run / HW / "result.json").read_text())
    assert [m["mitigation"] for m in result["mitigated"]] == ["readout"] and len(result["jobs"]) == 2
    report = (run / HW / "report.md").read_text()
    assert f"| **fake:ibm_quito** (local testing mode) | readout | test | 8 | 256 | " \
           f"{result['mitigated'][0]['accuracy']:.4f} |" in report
    listed = _main(["jobs", run], capfd).stdout
    assert "mitigation readout, created" in listed
    assert ["job", "1", "calibration", "0-7", again[1]["job_id"], "DONE", "(result", "stored)"] in [
        line.split() for line in listed.splitlines()]
    assert f"readout-mitigated {result['mitigated'][0]['accuracy']:.4f}" in listed


def test_mitigation_cost_is_printed_and_refused_off_a_terminal_without_yes(run, monkeypatch, capfd):
    before = files(run)
    monkeypatch.setattr("builtins.input", lambda prompt: "y")  # a "y" piped in is no terminal's answer
    done = _main(["run", run, "--backend", "fake:ibm_quito", "--limit", "4", "--shots", "16", "--mitigate",
                  "readout,zne"], capfd)
    assert_qml_error(done, "not submitted", "pass --yes")
    assert "20 circuits x 16 shots = 320 executions in 4 job(s)" in done.stdout
    assert "readout calibration 8 circuits x 16 shots = 128; ZNE x3 4 inputs x 16 shots = 64" in done.stdout
    assert files(run) == before


def test_eval_with_mitigation_appends_a_raw_and_a_mitigated_record(run, capfd):
    done = _main(["eval", run, "--backend", "aer:ibm_quito", "--shots", "128", "--limit", "12",
                  "--mitigate", "readout", "--mitigate", "zne", "--zne-fit", "richardson"], capfd)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("aer twin of ibm_quito: mitigation readout,zne (scales 1,3,5, richardson fit) adds ")
    labels = [line.split(": test accuracy")[0] for line in lines[1:]]
    assert labels == ["aer twin of ibm_quito"] + [f"aer twin of ibm_quito, {m}-mitigated"
                                                  for m in ("readout", "zne", "readout+zne")]
    records = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()[1:]]
    assert [r["mitigation"] for r in records] == [None, "readout", "zne", "readout+zne"]
    assert all(r["n"] == 12 and r["shots"] == 128 and 0 <= r["accuracy"] <= 1 for r in records)
    assert [r["executions"] for r in records] == [1536, 1536 + 1024, 3 * 1536, 3 * 1536 + 1024]


@pytest.mark.parametrize("argv, message", [
    (["eval", "{run}", "--backend", "torch:ibm_quito", "--mitigate", "zne"], "backend 'torch:ibm_quito' cannot "
                                                                             "mitigate errors"),
    (["eval", "{run}", "--backend", "aer:ibm_quito", "--mitigate", "zne,readuot"], "did you mean 'readout'"),
    (["run", "{run}", "--backend", "fake:ibm_quito", "--mitigate", "zne", "--zne-scales", "1,2"], "odd integers"),
])
def test_bad_mitigation_is_one_line_and_exit_2(run, capfd, argv, message):
    before = files(run)
    assert_qml_error(_main([a.format(run=run) for a in argv], capfd), message)
    assert files(run) == before


def test_resuming_with_other_settings_is_refused(run, capfd):
    assert _main(["run", run, *FAKE], capfd).returncode == 0
    assert_qml_error(_main(["run", run, "--backend", "fake:ibm_quito", "--shots", "512"], capfd),
                     "submitted with --shots 256")


# -- bad input: one line, exit 2, nothing written ------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["run", "{tmp}/nowhere", "--backend", "fake:ibm_quito"], "run folder {tmp}/nowhere does not exist"),
    (["jobs", "{tmp}/nowhere"], "run folder {tmp}/nowhere does not exist"),
    (["jobs", "{run}"], "has no hardware jobs"),
    (["run", "{run}", "--backend", "fake:ibm_quitto"], "no fake backend for device 'ibm_quitto' (did you mean "
                                                       "'ibm_quito'?)"),
    (["run", "{run}", "--backend", "fake:ibm_armonk", "--yes"], "the circuit has 4 qubits but device "
                                                                "fake:ibm_armonk has only 1"),
    (["run", "{run}", "--backend", "aer:ibm_quito"], "expected an IBM device"),
])
def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capfd, argv, message):
    before = files(run)
    fill = {"tmp": tmp_path, "run": run}
    assert_qml_error(_main([a.format(**fill) for a in argv], capfd), message.format(**fill))
    assert files(run) == before


# -- the live service, offline -------------------------------------------------------------------------------------
def attempts(run: Path) -> list[str]:
    return (run / "hardware/ibm_torino/attempts.log").read_text().splitlines()


def test_no_token_is_one_line_and_leaves_only_a_log_of_the_attempt(run, capfd):
    before = files(run)
    start = time.perf_counter()
    assert_qml_error(_main(["run", run, "--backend", "ibm_torino", "--yes"], capfd),
                     "no IBM Quantum token: set QISKIT_IBM_TOKEN, run `qml ibm login`, or pass --token-file PATH")
    assert time.perf_counter() - start < 10
    assert files(run) - before == {"hardware/ibm_torino/attempts.log"}
    assert "ibm_torino: failed: no IBM Quantum token" in attempts(run)[0]


def test_a_rejected_token_is_told_apart_from_the_network(run, monkeypatch, capfd):
    import qiskit_ibm_runtime
    from ibm_cloud_sdk_core import ApiException
    from qiskit_ibm_runtime.accounts.exceptions import InvalidAccountError

    def reject(**kwargs):
        try:
            raise ApiException(400, message=f"Provided API key could not be found ({kwargs['token']})")
        except ApiException as exc:
            raise InvalidAccountError("Unable to retrieve instances. Please check that you are using a valid API "
                                      "token.") from exc

    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", reject)
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    before = files(run)
    done = _main(["run", run, "--backend", "ibm_torino", "--yes"], capfd)
    assert_qml_error(done, "IBM Quantum rejected the token from $QISKIT_IBM_TOKEN")
    assert files(run) - before == {"hardware/ibm_torino/attempts.log"}
    assert TOKEN not in done.stderr + (run / "hardware/ibm_torino/attempts.log").read_text()


def test_the_token_appears_nowhere_on_the_live_and_the_fake_path(run, tmp_path, monkeypatch, capfd):
    env = {**os.environ, "HOME": str(tmp_path / "home"), "QISKIT_IBM_TOKEN": TOKEN, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    live = subprocess.run(QML + ["run", str(run), "--backend", "ibm_torino", "--yes"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - start < 60  # no hang: the console script starts, fails and exits
    assert_qml_error(Done(live.returncode, live.stdout, live.stderr))
    assert NETWORK_DOWN in live.stderr or "rejected the token" in live.stderr  # with a network: rejected
    assert files(run) - {"config.json", "model.pt", "result.json", "eval.jsonl"} == {
        "hardware/ibm_torino/attempts.log"}

    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    outputs = [live.stdout, live.stderr]
    for argv in (["run", run, *FAKE], ["jobs", run], ["noise", "snapshot", "ibm_quito", "--out", tmp_path]):
        done = _main(argv, capfd)
        outputs += [done.stdout, done.stderr]
    assert "qml: error: " in outputs[-1] and "IBM Quantum" in outputs[-1]  # ibm_* with a token goes live
    assert (run / HW / "result.json").is_file()
    for path in run.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    for text in outputs:
        assert TOKEN not in text


# -- qml ibm login and qml noise snapshot --------------------------------------------------------------------------
def test_login_saves_the_token_file_as_qiskits_default_account_without_printing_it(tmp_path, capfd):
    (tmp_path / "token").write_text(TOKEN)
    done = _main(["ibm", "login", "--token-file", tmp_path / "token", "--instance", "crn:v1:x"], capfd)
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "home/.qiskit/qiskit-ibm.json"
    assert done.stdout.strip() == f"saved the IBM Quantum account to {saved} (instance crn:v1:x)"
    assert TOKEN not in done.stdout + done.stderr
    creds = account.find_credentials()
    assert creds.token == TOKEN and creds.instance == "crn:v1:x"


def test_login_reads_the_token_without_echo(monkeypatch, capfd):
    import getpass

    prompts = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: prompts.append(prompt) or f"  {TOKEN}\n")
    done = _main(["ibm", "login"], capfd)
    assert done.returncode == 0, done.stderr
    assert prompts == ["IBM Quantum API token (not echoed): "]
    assert account.find_credentials().token == TOKEN


def test_snapshot_of_an_ibm_name_stays_offline_without_a_token_or_with_offline(tmp_path, monkeypatch, capfd):
    done = _main(["noise", "snapshot", "ibm_quito", "--out", tmp_path], capfd)
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    done = _main(["noise", "snapshot", "ibm_lima", "--offline", "--out", tmp_path], capfd)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.glob("*.json")} == {"ibm_quito.json", "ibm_lima.json"}
