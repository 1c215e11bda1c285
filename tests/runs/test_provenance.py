"""Self-contained run folders: a run keeps copies of the user's files it was made from, the versions and the
snapshot it used; it reloads from its copies, and says so when the original changed."""

from __future__ import annotations

import json
import shutil

import pytest

from qml.cli.main import main
from qml.errors import InputError
from qml.runs import RunConfig, evaluate_run, train_run
from qml.train import TrainConfig

CIRCUIT = '''import qml


def build(n_blocks=1, encoder="4x4_ryzxy"):
    c = qml.Circuit(4)
    c.encode(encoder)
    for _ in range(n_blocks):
        c.layer("ry").ring("cx")
    return c
'''


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("provenance")
    circuit = root / "mine.py"
    circuit.write_text(CIRCUIT)
    config = RunConfig(task="digits2", circuit=str(circuit), blocks=1, device_name="ibm_quito",
                       train=TrainConfig(epochs=2, batch_size=64, lr=0.05))
    train_run(config, root / "run", say=lambda text: None, progress=False)
    return root


def test_a_run_records_versions_the_snapshot_and_a_copy_of_the_users_circuit(trained):
    doc = json.loads((trained / "run" / "provenance.json").read_text())
    import hashlib

    import qiskit
    import torch

    assert doc["versions"]["torch"] == torch.__version__ and doc["versions"]["qiskit"] == qiskit.__version__
    assert doc["snapshot"]["device"] == "ibm_quito" and doc["snapshot"]["calibrated_at"]
    assert len(doc["snapshot"]["sha256"]) == 64
    entry = doc["files"]["circuit"]
    assert (trained / "run" / entry["stored"]).read_text() == CIRCUIT
    assert entry["sha256"] == hashlib.sha256(CIRCUIT.encode()).hexdigest()


def test_a_copied_run_whose_circuit_file_was_edited_evaluates_as_trained_and_warns(trained, tmp_path, capsys):
    before = evaluate_run(trained / "run", "torch").accuracy
    copy = shutil.copytree(trained / "run", tmp_path / "elsewhere")
    original = trained / "mine.py"
    try:
        original.write_text(CIRCUIT.replace('c.layer("ry")', 'c.layer("rx")'))  # a different circuit now
        capsys.readouterr()
        after = evaluate_run(copy, "torch").accuracy
        err = capsys.readouterr().err
    finally:
        original.write_text(CIRCUIT)
    assert after == before
    assert f"{original} changed since {copy} was made; using the copy stored with the run" in err


def test_a_run_whose_circuit_file_was_deleted_still_evaluates(trained, tmp_path):
    before = evaluate_run(trained / "run", "torch").accuracy
    root = tmp_path / "moved"
    shutil.copytree(trained, root)
    (root / "mine.py").unlink()
    (trained / "mine.py").rename(trained / "gone.py")
    try:
        assert evaluate_run(root / "run", "torch").accuracy == before
    finally:
        (trained / "gone.py").rename(trained / "mine.py")


def test_a_search_folder_given_to_eval_names_the_run_folders_inside_it(tmp_path):
    search = tmp_path / "search"
    (search / "winner").mkdir(parents=True)
    (search / "config.json").write_text("{}")
    (search / "evaluations.jsonl").write_text("")
    (search / "winner" / "config.json").write_text("{}")
    with pytest.raises(InputError, match=f"{search} is a search run folder.*{search / 'winner'}"):
        evaluate_run(search, "torch")


def test_qml_train_without_out_writes_a_default_run_folder_and_says_where(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--task", "digits2", "--epochs", "1", "--quiet"]) == 0
    assert main(["train", "--task", "digits2", "--epochs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("wrote")] == ["wrote runs/train-digits2-u3cu3",
                                                                  "wrote runs/train-digits2-u3cu3-2"]
    assert (tmp_path / "runs" / "train-digits2-u3cu3-2" / "model.pt").is_file()


def _npz(path, n=60, features=10, classes=2, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, features)) + y[:, None] * 1.5
    np.savez(path, x=x.astype(np.float32), y=y)
    return path


def test_qml_train_and_eval_run_on_the_users_npz_and_record_its_hash(tmp_path, capsys):
    import hashlib

    data = _npz(tmp_path / "mine.npz")
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["task"], config["data_file"]) == ("mine", str(data))
    entry = json.loads((out / "provenance.json").read_text())["files"]["data"]
    assert entry["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert main(["eval", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    _npz(data, seed=1)  # the file changes under the run
    evaluate_run(out, "torch")
    assert f"{data} changed since {out} was made" in capsys.readouterr().err


def test_task_and_data_together_are_refused(tmp_path, capsys):
    data = _npz(tmp_path / "mine.npz")
    assert main(["train", "--task", "digits2", "--data", str(data), "--out", str(tmp_path / "r")]) == 2
    assert "give --task or --data FILE, not both" in capsys.readouterr().err


def test_a_bad_npz_is_one_line_before_any_folder_is_made(tmp_path, capsys):
    import numpy as np

    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((10, 4)), y=np.zeros(10, dtype=int))  # one class
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err
    assert not (tmp_path / "r").exists()
