"""qml-torchquantum: TorchQuantum (tq) models, op histories, state dicts, templates and encoders.

Oracles: tq itself — its op histories, statevectors (tq's order), ``MeasureAll`` outputs, templates and encoder
table recorded by ``tests/plugins/data/record_torchquantum.py`` (CI cannot install torchquantum-ng), and, where
torchquantum imports (``bash bench/setup_peers.sh``), the live library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import qml_torchquantum as qtq  # noqa: F401  (installed by the README's set-up commands, as CI does)
import torch

import qml
from qml.data import load_task
from qml.train import QuantumClassifier

DATA = Path(__file__).parent / "data" / "torchquantum_recorded.json"
ROOT = Path(__file__).resolve().parents[2]
# torchquantum-ng imports torchvision at import time; the bench's stub stands in (a real torchvision wins). Set
# before any test imports it: a failed import leaves its submodules behind and breaks the next one
sys.path.append(str(ROOT / "bench" / "_stubs"))


@pytest.fixture(scope="module")
def recorded():
    return json.loads(DATA.read_text())


def _tq_state(entry) -> np.ndarray:
    real, imag = entry
    return np.array(real) + 1j * np.array(imag)


def _fidelity(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.vdot(a, b)) ** 2)


# -- recorded: runs everywhere --------------------------------------------------------------------------------------
def test_every_recorded_tq_gate_and_its_inverse_gives_tqs_state(recorded):
    assert len(recorded["gates"]) >= 60
    for entry in recorded["gates"]:
        circuit = qtq.from_op_history(entry["history"], entry["n_wires"])
        psi = qml.QuantumModule(circuit).double().statevector()
        tq_psi = qtq.tq_order(psi.detach().reshape(1, -1))[0].numpy()
        assert _fidelity(tq_psi, _tq_state(entry["state"])) == pytest.approx(1.0, abs=1e-6), (
            entry["name"], entry["inverse"])


def test_recorded_quantumnas_model_converts_to_the_same_outputs_and_state(recorded):
    qnn = recorded["qnn"]
    x = torch.tensor(qnn["x"])
    circuit = qtq.from_op_history(qnn["history"], 4, x=x[0])
    assert (circuit.n_inputs, circuit.n_trainable, len(circuit)) == (16, 48, 32)
    module = qml.QuantumModule(circuit)
    torch.testing.assert_close(module(x), torch.tensor(qnn["z"]), atol=2e-6, rtol=0)
    psi = qtq.tq_order(module.double().statevector(x[:1].double()).detach())[0].numpy()
    assert _fidelity(psi, _tq_state(qnn["state_x0"])) == pytest.approx(1.0, abs=1e-6)


def test_recorded_model_is_the_named_encoder_and_template(recorded):
    qnn = recorded["qnn"]
    converted = qtq.from_op_history(qnn["history"], 4, x=torch.tensor(qnn["x"][0]))
    named = qtq.add_layer(qtq.add_encoder(qml.Circuit(4), "4x4_ryzxy"), "U3CU3Layer0", n_blocks=2)
    assert [(op.gate, op.wires) for op in named.ops] == [(op.gate, op.wires) for op in converted.ops]
    assert [p.kind for op in named.ops for p in op.params] == [p.kind for op in converted.ops for p in op.params]
    assert [p.index for op in named.ops for p in op.params] == [p.index for op in converted.ops for p in op.params]


@pytest.mark.parametrize("name", ["U3CU3Layer0", "CU3Layer0", "RXYZCXLayer0", "RZZLayer0", "SethLayer0",
                                  "FarhiLayer0", "CXRZSXLayer0"])
def test_layer_templates_have_tqs_ops(recorded, name):
    for key, ops in recorded["templates"].items():
        template, n_wires, n_blocks = key.split("/")
        if template != name:
            continue
        circuit = qtq.add_layer(qml.Circuit(int(n_wires)), name, int(n_blocks))
        expected = [(qtq.FROM_TQ[op_name], tuple([wires] if isinstance(wires, int) else wires), trainable)
                    for op_name, wires, trainable, _ in ops]
        got = [(op.gate, op.wires, any(p.kind == "trainable" for p in op.params)) for op in circuit.ops]
        assert got == expected, key


def test_named_encoders_qml_spells_the_same_way_equal_tqs_table(recorded):
    matched = 0
    for name, func_list in recorded["encoders"].items():
        n_wires = 1 + max(w for item in func_list for w in item["wires"])
        from_list = qtq.add_encoder(qml.Circuit(n_wires), func_list)
        try:
            own = qml.Circuit(n_wires).encode(name)
        except qml.CircuitError:
            continue  # a name qml's grammar does not spell: add_encoder needs tq's table or the list for it
        assert [(o.gate, o.wires, o.params) for o in own.ops] == [(o.gate, o.wires, o.params) for o in from_list.ops]
        matched += 1
    assert matched >= 4  # 1x1_ry, 4_ry, 4x4_ryzxy, 10_ryzx, ...


def test_converted_model_trains_on_in_qml(recorded):
    qnn = recorded["qnn"]
    circuit = qtq.from_op_history(qnn["history"], 4, x=torch.tensor(qnn["x"][0]))
    model = QuantumClassifier(qml.QuantumModule(circuit), 4)
    data = load_task("digits4")
    x, y = data.x_train[:128], data.y_train[:128]
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_a_history_of_several_samples_is_one_conversion_error():
    history = [{"name": "ry", "wires": 0, "params": [0.1, 0.2], "inverse": False, "trainable": False}]
    with pytest.raises(qml.ConversionError, match=r"tq op #0 'ry': 2 angle\(s\) recorded, ry takes 1"):
        qtq.from_op_history(history, 1)
    history[0]["params"] = [[0.1], [0.2]]
    with pytest.raises(qml.ConversionError, match="record the history with a batch of one sample"):
        qtq.from_op_history(history, 1)


def test_unknown_tq_gate_and_template_are_one_conversion_error():
    with pytest.raises(qml.ConversionError, match="tq op #0 'qft': no qml gate for it"):
        qtq.from_op_history([{"name": "qft", "wires": [0, 1], "params": None}], 2)
    with pytest.raises(qml.ConversionError, match="unknown TorchQuantum layer template 'U3CU3Layer1'.*U3CU3Layer0"):
        qtq.add_layer(qml.Circuit(2), "U3CU3Layer1")


def test_equal_feature_values_cannot_name_their_feature():
    with pytest.raises(qml.ConversionError, match="features 0 and 2 have the same value"):
        qtq.from_op_history([], 1, x=[0.5, 0.1, 0.5])


def test_tq_order_reverses_the_bits_of_the_index():
    state = torch.zeros(8)
    state[0b001] = 1  # qml: wire 0 set
    assert int(torch.argmax(qtq.tq_order(state))) == 0b100  # tq: wire 0 is the most significant bit


# -- live torchquantum: where it imports ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tq():
    return pytest.importorskip("torchquantum")


def _qnn(tq):
    from tests.plugins.data.record_torchquantum import QNN  # the recorded model, built in tq

    torch.manual_seed(11)
    return QNN()


def test_live_tq_model_converts_trains_in_qml_and_its_weights_go_back(tq):
    model = _qnn(tq)
    converted = qtq.from_torchquantum(model, 16)
    assert {key for key, _ in converted.slots} == {k for k, p in model.named_parameters()}
    x = torch.rand(6, 16) * 3 - 1.5
    module = converted.module()
    torch.testing.assert_close(module(x), model(x), atol=2e-6, rtol=0)
    opt = torch.optim.SGD(module.parameters(), lr=0.3)  # train on in qml ...
    module(x).sum().backward()
    opt.step()
    model.load_state_dict(converted.tq_state_dict(module.theta, model.state_dict()))  # ... and back into tq
    torch.testing.assert_close(model(x), module(x), atol=2e-6, rtol=0)
    torch.testing.assert_close(converted.theta(model.state_dict()).float(), module.theta.detach(), atol=0, rtol=0)


def test_live_to_torchquantum_runs_a_qml_circuit_on_tqs_simulator(tq):
    c = qml.Circuit(3, n_inputs=2)
    c.h(0).sx(1).rx(2, qml.Input(0)).ry(0, None).rz(1, 0.3).u3(2).p(0, None).u2(1)
    c.cx(0, 1).cz(1, 2).cy(2, 0).swap(0, 2).iswap(1, 2).ecr(0, 1)
    c.rxx(0, 1).ryy(1, 2).rzz(0, 2, qml.Expr.feature(0) * qml.Expr.feature(1)).rzx(2, 0).crx(0, 1).cry(1, 2)
    c.crz(2, 0).cu3(0, 2).cswap(0, 1, 2).sdg(0).tdg(1).t(2).s(0).sxdg(1)
    module = qml.QuantumModule(c)
    with torch.no_grad():
        module.theta.uniform_(-2, 2)
    x = torch.rand(5, 2)
    tq_module = qtq.to_torchquantum(c, module.theta.detach())
    torch.testing.assert_close(tq_module(x), module(x), atol=2e-6, rtol=0)
