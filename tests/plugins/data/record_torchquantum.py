"""Record TorchQuantum's own behaviour for the tests that run without it (CI cannot install torchquantum-ng: its
declared dependencies pin tensorflow and qiskit<1.0). Run where ``bash bench/setup_peers.sh`` installed it:

    python tests/plugins/data/record_torchquantum.py   # writes tests/plugins/data/torchquantum_recorded.json

Everything here is tq's: op histories (``QuantumDevice(record_op=True)``), statevectors (tq's order: wire 0 is the
most significant bit), ``MeasureAll(PauliZ)`` outputs, its encoder table. Nothing of qml is used."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.append(str(ROOT / "bench" / "_stubs"))  # tq imports torchvision at import time; the bench stubs it

import torchquantum as tq  # noqa: E402

GATE_NAMES = ["hadamard", "paulix", "pauliy", "pauliz", "i", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz",
              "phaseshift", "u3", "u", "cnot", "cy", "cz", "swap", "iswap", "ecr", "rxx", "ryy", "rzz", "rzx", "crx",
              "cry", "crz", "cu3", "cswap"]
TEMPLATE_NAMES = ["U3CU3Layer0", "CU3Layer0", "RXYZCXLayer0", "RZZLayer0", "SethLayer0", "FarhiLayer0",
                  "CXRZSXLayer0"]


def states(qdev) -> list[list[float]]:
    s = qdev.get_states_1d()[0].to(torch.complex128)
    return [s.real.tolist(), s.imag.tolist()]


def gates() -> list[dict]:
    out = []
    for name in GATE_NAMES:
        for inverse in (False, True):
            if name == "iswap" and inverse:
                continue
            n = 3
            qdev = tq.QuantumDevice(n_wires=n, bsz=1, record_op=True)
            for w in range(n):
                tq.functional.u3(qdev, wires=w, params=torch.rand(1, 3) * 3)
            fn = tq.functional.func_name_dict[name]
            k = {"cswap": 3}.get(name, 2 if name in ("cnot", "cy", "cz", "swap", "iswap", "ecr", "rxx", "ryy", "rzz",
                                                      "rzx", "crx", "cry", "crz", "cu3") else 1)
            wires = [2, 0, 1][:k] if k > 1 else [1]
            n_params = {"rx": 1, "ry": 1, "rz": 1, "phaseshift": 1, "rxx": 1, "ryy": 1, "rzz": 1, "rzx": 1, "crx": 1,
                        "cry": 1, "crz": 1, "u3": 3, "u": 3, "cu3": 3}.get(name, 0)
            if n_params:
                fn(qdev, wires=wires, params=torch.rand(1, n_params) * 4 - 2, inverse=inverse)
            else:
                fn(qdev, wires=wires, inverse=inverse)
            out.append({"name": name, "inverse": inverse, "n_wires": n, "history": qdev.op_history,
                        "state": states(qdev)})
    return out


class QNN(tq.QuantumModule):
    """QuantumNAS's model in tq: the 4x4_ryzxy encoder, U3CU3Layer0 with 2 blocks, MeasureAll(PauliZ)."""

    def __init__(self) -> None:
        super().__init__()
        self.n_wires = 4
        self.encoder = tq.GeneralEncoder(tq.encoder_op_list_name_dict["4x4_ryzxy"])
        self.q_layer = tq.layer.U3CU3Layer0({"n_wires": 4, "n_blocks": 2})
        self.measure = tq.MeasureAll(tq.PauliZ)

    def forward(self, x, qdev=None):
        qdev = qdev or tq.QuantumDevice(n_wires=4, bsz=x.shape[0], device=x.device)
        self.encoder(qdev, x)
        self.q_layer(qdev)
        return self.measure(qdev)


def qnn() -> dict:
    torch.manual_seed(7)
    model = QNN()
    x = torch.rand(8, 16) * 3 - 1.5
    record = tq.QuantumDevice(n_wires=4, bsz=1, record_op=True)
    model(x[:1], record)
    with torch.no_grad():
        z = model(x)
    return {"x": x.tolist(), "history": record.op_history, "state_x0": states(record), "z": z.tolist(),
            "state_dict": {k: v.tolist() for k, v in model.state_dict().items() if "q_device" not in k}}


def templates() -> dict:
    out = {}
    for name in TEMPLATE_NAMES:
        for n_wires, n_blocks in ((2, 1), (3, 2), (4, 2), (5, 3)):
            qdev = tq.QuantumDevice(n_wires=n_wires, bsz=1, record_op=True)
            getattr(tq.layer, name)({"n_wires": n_wires, "n_blocks": n_blocks})(qdev)
            ops = [[op["name"], op["wires"], op["trainable"], op["params"] is not None] for op in qdev.op_history]
            out[f"{name}/{n_wires}/{n_blocks}"] = ops
    return out


def main() -> None:
    torch.manual_seed(0)
    data = {"torchquantum": tq.__version__, "gates": gates(), "qnn": qnn(), "templates": templates(),
            "encoders": tq.encoder_op_list_name_dict}
    (HERE / "torchquantum_recorded.json").write_text(json.dumps(data))
    print(f"recorded torchquantum {tq.__version__}: {len(data['gates'])} gates, {len(data['templates'])} templates")


if __name__ == "__main__":
    main()
