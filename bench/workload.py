"""The QNN-k workload written with qml's public API (the same circuit the peers build in peers.py)."""

from __future__ import annotations

import numpy as np
import torch

import qml


def build_circuit(k: int, n_blocks: int) -> qml.Circuit:
    c = qml.Circuit(k, n_inputs=16, name=f"qnn{k}")
    c.encode("ryzxy")  # gate j: [RY, RZ, RX, RY][(j // k) % 4] on wire j % k, feature j % 16
    for _ in range(n_blocks):
        c.layer("u3")
        c.ring("cu3")
    return c


class QmlPeer:
    """qml's QuantumModule behind the peers' interface."""

    supports_backward = True

    def __init__(self, k: int, n_blocks: int, u3_w: np.ndarray, cu3_w: np.ndarray,
                 device: str = "cpu", fusion: dict[bool, int] | None = None):
        self.name = f"qml-{qml.__version__}" + (f"-{device}" if device != "cpu" else "")
        self.device = torch.device(device)
        self.model = qml.QuantumModule(build_circuit(k, n_blocks), fusion=fusion).to(self.device)
        theta = np.concatenate([np.concatenate([u3_w[b].reshape(-1), cu3_w[b].reshape(-1)])
                                for b in range(n_blocks)])
        with torch.no_grad():
            self.model.theta.copy_(torch.as_tensor(theta))
        self.k, self.n_blocks = k, n_blocks

    def _x(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).to(self.device)

    def forward(self, x) -> np.ndarray:
        with torch.no_grad():
            return self.model(self._x(x)).double().cpu().numpy()

    def forward_backward(self, x) -> None:
        self.model.zero_grad(set_to_none=True)
        self.model(self._x(x)).sum().backward()

    def grads(self) -> tuple[np.ndarray, np.ndarray]:
        g = self.model.theta.grad.detach().double().cpu().numpy().reshape(self.n_blocks, 2, self.k, 3)
        return g[:, 0], g[:, 1]
