"""``qml noise list | show | snapshot``.

One of each runs through the real console script (started at once, as in test_cli.py: each start costs seconds of
imports); the further variants call ``qml.cli.main.main(argv)`` in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from qml.cli.main import main
from qml.noise import load_snapshot

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
QML = ["qml"] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every command concurrently in its own folder; return name -> Done, plus the folders."""
    base = tmp_path_factory.mktemp("noise_cli")
    folders = {}
    commands = {
        "list": ["noise", "list"],
        "show": ["noise", "show", "quito"],
        "snapshot": ["noise", "snapshot", "fake_quito"],
    }
    procs = {}
    for name, argv in commands.items():
        folders[name] = base / name
        folders[name].mkdir()
        procs[name] = subprocess.Popen(QML + argv, cwd=folders[name], env=ENV, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        results[name] = Done(proc.returncode, stdout, stderr)
    results["folders"] = folders
    return results


def assert_ok(done: Done) -> list[str]:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.strip().splitlines()


def assert_qml_error(done: Done, pattern: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qml: error: ") and pattern in lines[0], done.stderr


def test_list_prints_one_row_per_shipped_snapshot(runs):
    lines = assert_ok(runs["list"])
    assert lines[0].split() == ["device", "qubits", "2q", "1q", "err", "2q", "err", "readout", "T1", "us", "T2", "us"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert len(rows) == 10
    assert rows["ibm_quito"][1:3] == ["5", "cx"]
    assert rows["ibm_brisbane"][1:3] == ["127", "ecr"] and rows["ibm_torino"][1:3] == ["133", "cz"]
    quito = load_snapshot("ibm_quito")
    assert float(rows["ibm_quito"][4]) == pytest.approx(quito.median_2q_error(), rel=1e-2)
    assert float(rows["ibm_quito"][6]) == pytest.approx(quito.median_t1() * 1e6, abs=0.1)


def test_list_and_show_import_no_torch():
    """The snapshot commands need neither torch nor the engine: ``import qml`` and ``qml noise list | show`` leave
    torch unimported, so each starts in a fraction of a second."""
    script = ("import sys\nfrom qml.cli.main import main\n"
              "codes = [main(['noise', 'list']), main(['noise', 'show', 'quito'])]\n"
              "print(codes, sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n")
    done = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 0] []"


def test_show_prints_source_dates_coupling_and_a_row_per_qubit(runs):
    lines = assert_ok(runs["show"])
    text = "\n".join(lines)
    assert lines[0] == "device         ibm_quito (5 qubits)"
    assert "fake_quito (fake" in text and "calibrated at  2021-03-15T00:39:13-04:00" in text
    assert "basis gates    cx, id, rz, sx, x; native 2-qubit gate cx" in text
    assert "0-1 1-2 1-3 3-4" in text
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["qubit"])
    assert [line.split()[0] for line in lines[header + 1:]] == ["0", "1", "2", "3", "4"]


def _main(argv: list[str], capsys) -> Done:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return Done(code, captured.out, captured.err)


def test_show_handles_a_133_qubit_device(capsys):
    lines = assert_ok(_main(["noise", "show", "ibm_torino"], capsys))
    assert lines[0] == "device         ibm_torino (133 qubits)"
    assert lines[-1].split()[0] == "132"


def test_snapshot_writes_ibm_name_json_in_the_current_folder(runs):
    lines = assert_ok(runs["snapshot"])
    path = runs["folders"]["snapshot"] / "ibm_quito.json"
    assert lines == ["wrote ibm_quito.json"]
    snap = load_snapshot(path)
    assert snap.gates == load_snapshot("ibm_quito").gates


def test_snapshot_of_an_ibm_name_without_a_token_says_loudly_it_is_the_old_fake_calibration(tmp_path, monkeypatch,
                                                                                               capsys):
    monkeypatch.chdir(tmp_path)  # no token: a HOME of its own, without a saved account, and no QISKIT_IBM_* variable
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in [k for k in os.environ if k.startswith("QISKIT_IBM")] + ["QML_IBM_ACCOUNT_FILE"]:
        monkeypatch.delenv(name, raising=False)
    done = _main(["noise", "snapshot", "ibm_lima"], capsys)
    assert assert_ok(done) == ["wrote ibm_lima.json"]
    snap = load_snapshot(tmp_path / "ibm_lima.json")
    assert (snap.source_kind, snap.calibrated_at[:4]) == ("fake", "2021")
    assert done.stderr.splitlines() == [
        "qml: warning: no IBM Quantum token, so this is NOT today's calibration of ibm_lima: it is the offline fake "
        f"calibration of ibm_lima from qiskit-ibm-runtime's fake provider ({snap.source_backend}), calibrated "
        f"{snap.calibrated_at}; for today's, give a token (qml ibm login, $QISKIT_IBM_TOKEN or --token-file PATH)"]


@pytest.mark.parametrize("argv", [["fake_quito"], ["ibm_quito", "--offline"]])
def test_a_snapshot_asked_for_offline_notes_where_its_calibration_comes_from(argv, tmp_path, capsys):
    done = _main(["noise", "snapshot", *argv, "--out", str(tmp_path)], capsys)
    assert assert_ok(done) == [f"wrote {tmp_path / 'ibm_quito.json'}"]
    assert done.stderr.splitlines() == ["qml: note: the offline fake calibration of ibm_quito from "
                                        "qiskit-ibm-runtime's fake provider (fake_quito), calibrated "
                                        "2021-03-15T00:39:13-04:00"]


def test_snapshot_out_names_a_file_to_write(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert assert_ok(_main(["noise", "snapshot", "FakeManilaV2", "--out", "out/manila.json"], capsys)) == [
        f"wrote {Path('out') / 'manila.json'}"]
    doc = json.loads((tmp_path / "out" / "manila.json").read_text())
    assert (doc["device"], doc["num_qubits"]) == ("ibm_manila", 5)


def test_snapshot_out_folder_gets_the_ibm_name(tmp_path, capsys):
    assert assert_ok(_main(["noise", "snapshot", "ibm_belem", "--offline", "--out", str(tmp_path)], capsys)) == [
        f"wrote {tmp_path / 'ibm_belem.json'}"]
    assert load_snapshot(tmp_path / "ibm_belem.json").device == "ibm_belem"


def test_show_accepts_a_snapshot_file(tmp_path, capsys):
    assert_ok(_main(["noise", "snapshot", "quito", "--out", str(tmp_path)], capsys))
    lines = assert_ok(_main(["noise", "show", str(tmp_path / "ibm_quito.json")], capsys))
    assert lines[0] == "device         ibm_quito (5 qubits)"


def test_show_unknown_device_exits_2_with_one_line(capsys):
    assert_qml_error(_main(["noise", "show", "quitto"], capsys), "unknown device 'quitto' (did you mean 'ibm_quito'?)")


def test_snapshot_unknown_backend_exits_2_with_one_line(capsys):
    assert_qml_error(_main(["noise", "snapshot", "fake_nowhere"], capsys), "no fake backend for device 'fake_nowhere'")


def test_show_corrupt_file_exits_2_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert_qml_error(_main(["noise", "show", str(bad)], capsys), f"{bad}: invalid JSON at line 1")


def test_noise_without_subcommand_is_an_argparse_error(capsys):
    done = _main(["noise"], capsys)
    assert done.returncode == 2 and "qml noise: error:" in done.stderr
