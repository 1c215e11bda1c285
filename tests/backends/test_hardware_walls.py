"""``HardwareFolder`` and the ``ibm`` executor against damaged files and failed writes, offline.

Every file of a hardware folder is written through ``qml.files.write_atomic`` (no ``.tmp`` survives a failure,
which is one ``FileError`` naming the file); every file read back that is damaged is one ``InputError`` naming
it, or, for a stored result, counts as missing: a live job is fetched again by id, a local one runs again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import qml
from qml.backends.ibm import IBMExecutor
from qml.backends.ibm_device import OpenedBackend, open_device
from qml.backends.jobs import HardwareFolder, JobRecord, Ledger, job_statuses
from qml.errors import FileError, InputError
from tests.backends.test_ibm import StubService


@pytest.fixture(scope="module")
def flip_wire_2():
    return qml.QuantumModule(qml.Circuit(4).add("x", 2)).double()


def temporary_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


def ledger(jobs: list[JobRecord], local: bool = True, digest: str = "d") -> Ledger:
    return Ledger("fake:ibm_quito", "fake_quito", local, 8, "test", 2 * len(jobs), None, [0, 1, 2, 3], 2, digest,
                  jobs=jobs)


# -- writes --------------------------------------------------------------------------------------------------------
def _save_ledger(folder: HardwareFolder) -> None:
    folder.save(ledger([JobRecord(0, 0, 2)]))


def _save_circuit(folder: HardwareFolder) -> None:
    from qiskit import QuantumCircuit

    folder.save_circuit(QuantumCircuit(1))


def _save_bits(folder: HardwareFolder, index: int = 0) -> None:
    folder.save_bits(index, np.zeros((2, 8, 1), np.uint8), 4, f"id-{index}")


@pytest.mark.parametrize("save, name", [(_save_ledger, "jobs.json"), (_save_circuit, "circuit.qpy"),
                                        (_save_bits, "results/job-0.npz")])
def test_a_write_that_fails_is_one_file_error_naming_the_file_and_leaves_no_temporary_file(tmp_path, save, name):
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    (folder.path / name).mkdir(parents=True)  # a folder where the file should go: the final rename fails
    with pytest.raises(FileError, match=f"^cannot write {folder.path / name}: "):
        save(folder)
    assert temporary_files(tmp_path) == []


def test_the_job_files_are_written_with_qml_files_and_no_training_code():
    source = Path(__file__).resolve().parents[2] / "qml/backends/jobs.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert "qml.files.write_atomic" in imported
    assert not [name for name in imported if name.startswith("qml.train")]
    assert "os.replace" not in source.read_text()


# -- reads ---------------------------------------------------------------------------------------------------------
def test_a_ledger_that_is_not_utf8_is_one_input_error_naming_it(tmp_path):
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    folder.path.mkdir(parents=True)
    (folder.path / "jobs.json").write_bytes(b'{"backend": "caf\xe9"}')
    with pytest.raises(InputError, match=f"^{folder.path / 'jobs.json'} is not a UTF-8 text file$"):
        folder.load()


@pytest.mark.parametrize("garbage", [b"", b"garbage", b"QISKIT" + bytes(64)])
def test_a_damaged_circuit_is_one_input_error_naming_it(tmp_path, garbage):
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    folder.path.mkdir(parents=True)
    (folder.path / "circuit.qpy").write_bytes(garbage)
    with pytest.raises(InputError, match=f"^{folder.path / 'circuit.qpy'} is not a readable QPY circuit"):
        folder.load_circuit()


@pytest.mark.parametrize("cut", [0, 10, 0.5])
def test_a_truncated_result_is_one_input_error_naming_it(tmp_path, cut):
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    _save_bits(folder)
    path = folder.result_path(0)
    data = path.read_bytes()
    path.write_bytes(data[: int(cut * len(data)) if isinstance(cut, float) else cut])
    with pytest.raises(InputError, match=f"^{path} is not a readable results file"):
        folder.load_bits(0)


def test_qml_jobs_shows_a_damaged_result_as_such(tmp_path):
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    record = ledger([JobRecord(0, 0, 2, "id-0", "DONE"), JobRecord(1, 2, 4, "id-1", "DONE")])
    _save_bits(folder, 0)
    _save_bits(folder, 1)
    folder.result_path(1).write_bytes(b"PK\x03\x04")
    assert job_statuses(record, folder) == ["DONE (result stored)", "DONE (result file damaged; qml run re-runs it)"]


# -- the executor --------------------------------------------------------------------------------------------------
def test_a_truncated_result_of_a_live_job_is_fetched_again_by_id_saying_so(tmp_path, flip_wire_2, monkeypatch):
    from qiskit_ibm_runtime.fake_provider import FakeQuitoV2

    service, said = StubService(), []
    device = OpenedBackend("ibm_stub", FakeQuitoV2(), service, "token")
    folder = HardwareFolder(tmp_path, "ibm_stub")
    executor = IBMExecutor(device, folder=folder, log=said.append)
    circuit, rows = executor.transpile(flip_wire_2), np.zeros((4, 0))
    folder.save(Ledger("ibm_stub", "fake_quito", False, 8, "test", 4, None, [0, 1, 2, 3], 2, executor._digest(rows, 8),
                       jobs=[JobRecord(0, 0, 2, "id-0", "DONE"), JobRecord(1, 2, 4, "id-1", "DONE")]))
    _save_bits(folder, 0)
    _save_bits(folder, 1)
    path = folder.result_path(1)
    path.write_bytes(path.read_bytes()[:40])
    monkeypatch.setattr(IBMExecutor, "_submit", lambda *a: pytest.fail("a live job was submitted twice"))
    assert executor.sample(circuit, rows, 8, 4).shape == (4, 8, 4)
    assert service.fetched == ["id-1"]
    assert f"job 1: {path} is not a readable results file" in said[0]
    assert said[0].endswith("treated as missing: the job is fetched again by id")
    assert folder.readable_bits(1) and temporary_files(tmp_path) == []


def test_a_result_of_the_wrong_shape_counts_as_missing_and_the_local_job_runs_again(tmp_path, flip_wire_2):
    folder, said = HardwareFolder(tmp_path, "fake:ibm_quito"), []
    first = IBMExecutor(open_device("fake:ibm_quito"), folder=folder, seed=1)
    z = first.expectations(flip_wire_2, None, shots=64)
    folder.save_bits(0, np.zeros((1, 3, 1), np.uint8), 4, "other")
    again = IBMExecutor(open_device("fake:ibm_quito"), folder=folder, seed=1, log=said.append)
    assert (again.expectations(flip_wire_2, None, shots=64) == z).all()
    assert again.submitted == 1
    assert "holds bits of shape (1, 3, 1), expected (1, 64, bytes); treated as missing: the job is run again" \
           in said[0]


def test_a_finished_resume_never_reads_the_circuit(tmp_path, flip_wire_2):
    folder = HardwareFolder(tmp_path, "fake:ibm_quito")
    z = IBMExecutor(open_device("fake:ibm_quito"), folder=folder, seed=1).expectations(flip_wire_2, None, shots=64)
    (folder.path / "circuit.qpy").write_bytes(b"garbage")  # needed only to submit again; nothing is left to submit
    again = IBMExecutor(open_device("fake:ibm_quito"), folder=folder, seed=1)
    assert (again.expectations(flip_wire_2, None, shots=64) == z).all() and again.submitted == 0
