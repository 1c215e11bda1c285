"""Device snapshots: read from a qiskit backend, saved and loaded as JSON, shipped for ten IBM devices."""

from __future__ import annotations

import json
import math
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit_ibm_runtime.fake_provider import FakeBrisbane, FakeQuitoV2

from qml.errors import NoiseError, QmlError
from qml.noise import (
    DeviceSnapshot,
    device_name,
    fake_backend,
    list_snapshots,
    load_snapshot,
    save_snapshot,
    snapshot_from_backend,
)

SHIPPED = {  # device -> (qubits, native 2-qubit gate)
    "ibm_yorktown": (5, "cx"), "ibm_santiago": (5, "cx"), "ibm_belem": (5, "cx"), "ibm_quito": (5, "cx"),
    "ibm_athens": (5, "cx"), "ibm_lima": (5, "cx"), "ibm_manila": (5, "cx"), "ibm_jakarta": (7, "cx"),
    "ibm_brisbane": (127, "ecr"), "ibm_torino": (133, "cz"),
}


def close(a: float | None, b: float | None) -> bool:
    """Equal to the 6 significant digits a snapshot keeps."""
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-5))


@pytest.fixture(scope="module")
def quito_backend():
    return FakeQuitoV2()


@pytest.fixture(scope="module")
def quito(quito_backend) -> DeviceSnapshot:
    return snapshot_from_backend(quito_backend)


@pytest.fixture(scope="module")
def shipped_quito_path() -> Path:
    return Path(__file__).resolve().parents[2] / "noise_models" / "ibm_quito.json"


# -- reading a backend ---------------------------------------------------------------------------------------
def test_snapshot_names_the_device_and_its_source(quito):
    assert quito.device == "ibm_quito"
    assert (quito.source_backend, quito.source_kind) == ("fake_quito", "fake")
    assert quito.runtime_version and quito.source_backend_version == "1.0.8"
    assert quito.calibrated_at.startswith("2021-03-15T")
    assert quito.written_at.endswith("+00:00")


def test_snapshot_matches_target_errors_and_durations(quito, quito_backend):
    target = quito_backend.target
    checked = 0
    for name in target.operation_names:
        for qargs, props in (target[name] or {}).items():
            if qargs is None or props is None:
                continue
            assert close(quito.gate_error(name, qargs), props.error), (name, qargs)
            assert close(quito.gate_duration(name, qargs), props.duration), (name, qargs)
            checked += 1
    assert checked == len(quito.gates) == 8 + 6 * 5  # cx on 8 directed edges; x sx id rz measure reset per qubit


def test_snapshot_matches_qubit_properties(quito, quito_backend):
    for q in range(5):
        expected = quito_backend.qubit_properties(q)
        assert close(quito.qubit(q).t1, expected.t1) and close(quito.qubit(q).t2, expected.t2)
        assert close(quito.qubit(q).frequency, expected.frequency)


def test_readout_comes_from_backend_properties(quito, quito_backend):
    props = quito_backend.properties()
    assert quito.readout_source == "properties"
    for q in range(5):
        confusion = quito.readout_confusion(q)
        assert close(confusion[0, 1], props.qubit_property(q)["prob_meas1_prep0"][0])
        assert close(confusion[1, 0], props.qubit_property(q)["prob_meas0_prep1"][0])
        assert close(quito.qubit(q).readout_error, props.readout_error(q))
        np.testing.assert_allclose(confusion.sum(axis=1), [1.0, 1.0])


def test_readout_falls_back_to_symmetric_measure_error_without_properties():
    backend = FakeQuitoV2()
    backend.properties = lambda: None
    snap = snapshot_from_backend(backend)
    assert snap.readout_source == "measure"
    q = snap.qubit(2)
    assert q.prob_meas1_prep0 == q.prob_meas0_prep1 == q.readout_error == snap.gate_error("measure", 2)
    assert snap.calibrated_at is None


def test_any_backend_v2_without_ibm_properties_can_be_snapshotted():
    snap = snapshot_from_backend(GenericBackendV2(3, seed=7), name="ibm_test")
    assert (snap.device, snap.source_kind, snap.readout_source) == ("ibm_test", "other", "measure")
    assert snap.num_qubits == 3 and snap.two_qubit_gate == "cx"


def test_coupling_map_is_directed_and_edges_are_undirected_pairs(quito):
    assert quito.coupling_map == ((0, 1), (1, 0), (1, 2), (1, 3), (2, 1), (3, 1), (3, 4), (4, 3))
    assert quito.edges == ((0, 1), (1, 2), (1, 3), (3, 4))


def test_basis_gates_are_the_unitary_gates_of_the_target(quito):
    assert quito.basis_gates == ("cx", "id", "rz", "sx", "x")
    assert quito.gate_error("reset", 0) is None and quito.gate_duration("reset", [0]) > 0


def test_medians_follow_the_per_gate_and_per_qubit_data(quito):
    assert quito.median_1q_error() == statistics.median(quito.gate_error("sx", q) for q in range(5))
    assert quito.median_2q_error() == statistics.median(g.error for g in quito.gates if g.gate == "cx")
    assert quito.median_readout_error() == statistics.median(q.readout_error for q in quito.qubits)
    assert quito.median_t1() == statistics.median(q.t1 for q in quito.qubits)
    assert quito.median_t2() == statistics.median(q.t2 for q in quito.qubits)


def test_missing_gate_or_qubits_is_a_noise_error(quito):
    with pytest.raises(NoiseError, match="has no gate 'ecr'"):
        quito.gate_error("ecr", (0, 1))
    with pytest.raises(NoiseError, match=r"has no cx on qubits \(0, 2\)"):
        quito.gate_error("cx", (0, 2))
    with pytest.raises(NoiseError, match="has qubits 0..4, not 5"):
        quito.readout_confusion(5)


# -- JSON round trip and shipped files ---------------------------------------------------------------------------
def test_save_then_load_gives_an_equal_snapshot(quito, tmp_path):
    path = save_snapshot(quito, tmp_path / "sub" / "quito.json")
    assert load_snapshot(path) == quito
    assert load_snapshot(str(path)) == quito


def test_saved_file_declares_schema_and_version(quito, tmp_path):
    doc = json.loads(save_snapshot(quito, tmp_path / "q.json").read_text())
    assert (doc["schema"], doc["version"]) == ("qml.device-snapshot", 1)
    assert doc["gates"]["cx"][0] == {"qubits": [0, 1], "error": quito.gate_error("cx", (0, 1)),
                                     "duration": quito.gate_duration("cx", (0, 1))}


def test_list_snapshots_names_the_shipped_devices():
    assert list_snapshots() == sorted(SHIPPED)


@pytest.mark.parametrize("device", sorted(SHIPPED))
def test_every_shipped_snapshot_loads_with_its_qubits_and_native_gate(device):
    snap = load_snapshot(device)
    n, gate = SHIPPED[device]
    assert (snap.device, snap.num_qubits, snap.two_qubit_gate) == (device, n, gate)
    assert len(snap.qubits) == n and snap.readout_source == "properties"
    assert all(q.t1 is not None and q.t2 is not None for q in snap.qubits)
    assert 0 < snap.median_2q_error() < 0.1 and 0 < snap.median_1q_error() < snap.median_2q_error()
    assert snap.coupling_map and all(snap.gate_error(gate, e) is not None for e in snap.coupling_map)


def test_shipped_snapshot_equals_a_fresh_one_from_its_fake(quito):
    shipped = load_snapshot("ibm_quito")
    assert shipped.gates == quito.gates and shipped.qubits == quito.qubits
    assert shipped.coupling_map == quito.coupling_map and shipped.calibrated_at == quito.calibrated_at


@pytest.mark.parametrize("name", ["quito", "ibm_quito", "ibmq_quito", "fake_quito", "FakeQuitoV2", " IBM_Quito "])
def test_device_names_resolve_to_the_shipped_snapshot(name):
    assert device_name(name) == "ibm_quito"
    assert load_snapshot(name).device == "ibm_quito"


def test_a_path_loads_that_file(tmp_path, shipped_quito_path):
    copy = tmp_path / "my_device.json"
    shutil.copy(shipped_quito_path, copy)
    assert load_snapshot(copy) == load_snapshot("quito")


def test_unknown_name_lists_shipped_names_and_suggests_one():
    with pytest.raises(NoiseError) as info:
        load_snapshot("quitto")
    message = str(info.value)
    assert "unknown device 'quitto' (did you mean 'ibm_quito'?)" in message
    assert "ibm_brisbane, ibm_jakarta" in message and "\n" not in message
    assert isinstance(info.value, QmlError) and isinstance(info.value, ValueError)


def test_missing_file_is_a_noise_error(tmp_path):
    with pytest.raises(NoiseError, match="does not exist"):
        load_snapshot(tmp_path / "nothing.json")


def _load_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(NoiseError) as info:
        load_snapshot(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_corrupted_json_is_one_line_naming_the_file(tmp_path, shipped_quito_path):
    text = shipped_quito_path.read_text()
    assert "invalid JSON at line" in _load_error(tmp_path, text[: len(text) // 2])


def test_wrong_version_is_one_line_naming_the_file(tmp_path, shipped_quito_path):
    doc = json.loads(shipped_quito_path.read_text())
    doc["version"] = 2
    message = _load_error(tmp_path, json.dumps(doc))
    assert "snapshot version 2 is not supported (this qml reads version 1); a newer qml wrote it" in message


@pytest.mark.parametrize("edit,expected", [
    (lambda d: d.update(schema="something.else"), "not a qml device snapshot"),
    (lambda d: d.pop("qubits"), "missing field 'qubits'"),
    (lambda d: d["qubits"].pop(), "field 'qubits' has 4 rows for 5 qubits"),
    (lambda d: d["qubits"][1].update(prob_meas1_prep0=1.5), "'qubits[1].prob_meas1_prep0' must be a probability"),
    (lambda d: d["gates"]["cx"][0].update(qubits=[0, 9]), "field 'gates.cx[0].qubits' must be a list of distinct"),
    (lambda d: d.update(num_qubits="5"), "field 'num_qubits' must be int"),
    (lambda d: d["source"].pop("kind"), "missing field 'source.kind'"),
])
def test_schema_violations_name_the_field(tmp_path, shipped_quito_path, edit, expected):
    doc = json.loads(shipped_quito_path.read_text())
    edit(doc)
    assert expected in _load_error(tmp_path, json.dumps(doc))


def test_a_json_array_is_not_a_snapshot(tmp_path):
    assert "expected a JSON object, got list" in _load_error(tmp_path, "[1, 2]")


# -- fake backends -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,cls", [("ibm_quito", FakeQuitoV2), ("fake_quito", FakeQuitoV2),
                                      ("FakeQuitoV2", FakeQuitoV2), ("ibm_brisbane", FakeBrisbane)])
def test_fake_backend_resolves_device_names(name, cls):
    assert type(fake_backend(name)) is cls


def test_unknown_fake_backend_suggests_a_name():
    with pytest.raises(NoiseError, match=r"no fake backend for device 'ibm_quitoo' \(did you mean 'ibm_quito'\?\)"):
        fake_backend("ibm_quitoo")


def test_saving_where_a_file_blocks_the_folder_is_a_noise_error(quito, tmp_path):
    (tmp_path / "blocker").write_text("a file")
    with pytest.raises(NoiseError, match="cannot write snapshot"):
        save_snapshot(quito, tmp_path / "blocker" / "quito.json")


def test_restricting_a_snapshot_keeps_the_picked_qubits_calibration_renumbered():
    from qml.device import load_snapshot

    whole = load_snapshot("ibm_jakarta")
    part = whole.restrict([5, 3, 1])
    assert part.num_qubits == 3 and part.device == "ibm_jakarta[5,3,1]"
    for i, q in enumerate([5, 3, 1]):
        assert part.qubit(i).t1 == whole.qubit(q).t1
        np.testing.assert_array_equal(part.readout_confusion(i), whole.readout_confusion(q))
        assert part.gate_error("sx", i) == whole.gate_error("sx", q)
    # Jakarta couples 1-3 and 3-5 (not 1-5): the region keeps those two pairs, renumbered
    assert part.edges == ((0, 1), (1, 2))
    assert part.gate_error("cx", (1, 2)) == whole.gate_error("cx", (3, 1))
    with pytest.raises(Exception, match="cannot restrict"):
        whole.restrict([1, 1])
