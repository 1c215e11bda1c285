"""Snapshot files are checked for values, not only types: a probability outside [0, 1], a negative or NaN time, an
empty gate table, qubits out of range or a coupling edge without a calibration is refused on load with one line
naming the file, the field, and the gate and qubits, before Aer or the transpiler ever sees it."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from qml.cli.main import main
from qml.device import list_snapshots, load_snapshot
from qml.errors import NoiseError

NOISE_MODELS = Path(__file__).resolve().parents[2] / "noise_models"
NAN, INF = math.nan, math.inf


@pytest.fixture(scope="module")
def quito_doc() -> dict:
    return json.loads((NOISE_MODELS / "ibm_quito.json").read_text())


def write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))  # json writes float('nan') as NaN, which json (and so the loader) reads back
    return path


def load_error(path: Path) -> str:
    with pytest.raises(NoiseError) as info:
        load_snapshot(path)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("path", sorted(NOISE_MODELS.glob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_snapshot_passes_the_value_checks(path):
    assert load_snapshot(path).device == path.stem


def test_the_value_checks_cover_every_shipped_snapshot():
    assert sorted(p.stem for p in NOISE_MODELS.glob("*.json")) == list_snapshots()


def _gate(name: str, i: int, **values):
    return lambda d: d["gates"][name][i].update(values)


def _qubit(i: int, **values):
    return lambda d: d["qubits"][i].update(values)


BAD_VALUES = [
    # gate errors: probabilities
    (_gate("cx", 3, error=5.0),
     "field 'gates.cx[3].error' (cx on qubits 1,3) must be a probability in [0, 1], got 5.0"),
    (_gate("cx", 0, error=-0.5),
     "field 'gates.cx[0].error' (cx on qubits 0,1) must be a probability in [0, 1], got -0.5"),
    (_gate("sx", 2, error=NAN), "field 'gates.sx[2].error' (sx on qubit 2) must be a probability in [0, 1], got NaN"),
    # gate durations: finite, >= 0
    (_gate("x", 4, duration=-3.5e-8),
     "field 'gates.x[4].duration' (x on qubit 4) must be a time >= 0 in seconds or null, got -3.5e-08"),
    (_gate("cx", 1, duration=NAN),
     "field 'gates.cx[1].duration' (cx on qubits 1,0) must be a time >= 0 in seconds or null, got NaN"),
    (_gate("cx", 1, duration=INF),
     "field 'gates.cx[1].duration' (cx on qubits 1,0) must be a time >= 0 in seconds or null, got Infinity"),
    # coherence times: positive, finite
    (_qubit(0, t1=0), "field 'qubits[0].t1' must be a positive time in seconds or null, got 0.0"),
    (_qubit(2, t1=NAN), "field 'qubits[2].t1' must be a positive time in seconds or null, got NaN"),
    (_qubit(1, t2=0.0), "field 'qubits[1].t2' must be a positive time in seconds or null, got 0.0"),
    (_qubit(4, t2=-1e-5), "field 'qubits[4].t2' must be a positive time in seconds or null, got -1e-05"),
    (_qubit(3, t2=NAN), "field 'qubits[3].t2' must be a positive time in seconds or null, got NaN"),
    (_qubit(3, frequency=-INF), "field 'qubits[3].frequency' must be >= 0 Hz or null, got -Infinity"),
    # readout probabilities
    (_qubit(1, prob_meas0_prep1=-0.01),
     "field 'qubits[1].prob_meas0_prep1' must be a probability in [0, 1], got -0.01"),
    (_qubit(2, prob_meas1_prep0=NAN), "field 'qubits[2].prob_meas1_prep0' must be a probability in [0, 1], got NaN"),
    (_qubit(0, readout_error=1.5), "field 'qubits[0].readout_error' must be a probability in [0, 1], got 1.5"),
    (_qubit(0, readout_error=None), "field 'qubits[0].readout_error' must be a probability in [0, 1], got None"),
    # the gate table
    (lambda d: d.update(gates={}, two_qubit_gate=None, coupling_map=[]),
     "field 'gates' is empty; a snapshot needs at least one calibrated gate"),
    (lambda d: d["gates"].update(id=[]), "field 'gates.id' must be a non-empty list of rows, got no rows"),
    (lambda d: d["gates"]["cx"].append(dict(d["gates"]["cx"][0])),
     "field 'gates.cx[8]' (cx on qubits 0,1) repeats the row gates.cx[0]"),
    # qubits of gates and of the coupling map
    (_gate("cx", 0, qubits=[0, 5]),
     "field 'gates.cx[0].qubits' must be a list of distinct qubit indices in 0..4, got [0, 5]"),
    (_gate("sx", 1, qubits=[-1]),
     "field 'gates.sx[1].qubits' must be a list of distinct qubit indices in 0..4, got [-1]"),
    (_gate("cx", 2, qubits=[1, 1]),
     "field 'gates.cx[2].qubits' must be a list of distinct qubit indices in 0..4, got [1, 1]"),
    (lambda d: d["coupling_map"].append([4, 7]),
     "field 'coupling_map[8]' must be 2 distinct qubit indices in 0..4, got [4, 7]"),
    (lambda d: d["coupling_map"].insert(0, [2, 2]),
     "field 'coupling_map[0]' must be 2 distinct qubit indices in 0..4, got [2, 2]"),
    (lambda d: d["coupling_map"].append([0, 4]),
     "field 'coupling_map[8]' is [0, 4] but 'gates.cx' has no row on these qubits"),
    # the sample time
    (lambda d: d.update(dt=-2.2e-10), "field 'dt' must be a positive time in seconds or null, got -2.2e-10"),
]


@pytest.mark.parametrize("edit,expected", BAD_VALUES)
def test_a_bad_value_is_one_line_naming_file_field_gate_and_qubits(tmp_path, quito_doc, edit, expected):
    doc = copy.deepcopy(quito_doc)
    edit(doc)
    path = write(tmp_path, doc)
    assert load_error(path) == f"{path}: {expected}"


def test_nan_spelled_in_the_file_is_refused(tmp_path):
    text = (NOISE_MODELS / "ibm_quito.json").read_text()
    first_error = text.index('"error": ') + len('"error": ')
    path = tmp_path / "nan.json"
    path.write_text(text[:first_error] + "NaN" + text[text.index(",", first_error):])
    assert load_error(path).endswith("(cx on qubits 0,1) must be a probability in [0, 1], got NaN")


def test_null_errors_durations_and_times_stay_allowed(tmp_path, quito_doc):
    doc = copy.deepcopy(quito_doc)
    doc["gates"]["sx"][0].update(error=None, duration=None)
    doc["qubits"][0].update(t1=None, t2=None, frequency=None)
    doc["dt"] = None
    snap = load_snapshot(write(tmp_path, doc))
    assert snap.gate_error("sx", 0) is None and snap.qubit(0).t1 is None and snap.dt is None


def test_zero_error_and_duration_of_virtual_gates_stay_allowed(tmp_path, quito_doc):
    doc = copy.deepcopy(quito_doc)
    assert {(g["error"], g["duration"]) for g in doc["gates"]["rz"]} == {(0.0, 0.0)}
    assert load_snapshot(write(tmp_path, doc)).gate_duration("rz", 3) == 0.0


def test_noise_show_of_a_bad_file_exits_2_with_one_line(tmp_path, quito_doc, capsys):
    doc = copy.deepcopy(quito_doc)
    doc["gates"]["cx"][3]["error"] = 5.0
    path = write(tmp_path, doc)
    code = main(["noise", "show", str(path)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.splitlines() == [
        f"qml: error: {path}: field 'gates.cx[3].error' (cx on qubits 1,3) must be a probability in [0, 1], got 5.0"]
