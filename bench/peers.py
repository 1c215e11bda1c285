"""Peer-simulator adapters for the QNN-k(n_blocks) benchmark workload (bench-only).

Workload (qiskit qubit order, qubit 0 = least significant bit):
encoder gate ``j`` in ``range(max(16, k))`` is ``ENCODER_GATES[(j // k) % 4]`` on wire ``j % k``
with angle ``x[:, j % 16]``; then ``n_blocks`` blocks of U3 on every qubit followed by a CU3 ring
(control ``q``, target ``(q + 1) % k``); output ``<Z_q>`` for ``q = 0..k-1``, shape ``(B, k)``.
``forward_backward`` uses ``loss = outputs.sum()`` and differentiates w.r.t. the U3/CU3 weights.

Each factory ``make_<peer>(k, n_blocks, batch, u3_w, cu3_w)`` takes float64 weight arrays of
shape ``(n_blocks, k, 3)`` and returns a :class:`Peer`. Peer libraries are imported lazily.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

ENCODER_GATES = ("ry", "rz", "rx", "ry")
N_FEATURES = 16
STUBS_DIR = Path(__file__).resolve().parent / "_stubs"


class Peer(Protocol):
    """What every peer adapter provides."""

    name: str
    supports_backward: bool

    def forward(self, x: Any) -> np.ndarray:
        """Return ``<Z_q>`` as a float64 array of shape ``(B, k)`` (no autograd)."""
        ...

    def forward_backward(self, x: Any) -> None:
        """Compute ``loss = sum(outputs)`` and backpropagate into the weights."""
        ...

    def grads(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the last ``(d loss / d u3_w, d loss / d cu3_w)``, each ``(n_blocks, k, 3)``."""
        ...


def encoder_spec(k: int) -> list[tuple[str, int, int]]:
    """Return the encoder as ``(gate, wire, feature)`` triples in application order."""
    return [
        (ENCODER_GATES[(j // k) % 4], j % k, j % N_FEATURES)
        for j in range(max(N_FEATURES, k))
    ]


def _as_numpy(x: Any) -> np.ndarray:
    """Convert a torch tensor or array-like to a float64 numpy array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _as_torch(x: Any, dtype: torch.dtype) -> torch.Tensor:
    """Convert a torch tensor or array-like to a torch tensor of ``dtype``."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype)


# --------------------------------------------------------------------------- PennyLane


class _PennyLanePeer:
    """PennyLane ``default.qubit``, torch interface, backprop, inputs as a broadcast dimension."""

    supports_backward = True

    def __init__(
        self, k: int, n_blocks: int, u3_w: np.ndarray, cu3_w: np.ndarray
    ) -> None:
        import pennylane as pl

        self.name = f"pennylane-{pl.__version__}-default.qubit"
        self.u3 = torch.tensor(u3_w, dtype=torch.float64, requires_grad=True)
        self.cu3 = torch.tensor(cu3_w, dtype=torch.float64, requires_grad=True)
        gates = {"rx": pl.RX, "ry": pl.RY, "rz": pl.RZ}
        spec = [(gates[g], wire, feat) for g, wire, feat in encoder_spec(k)]

        @pl.qnode(
            pl.device("default.qubit", wires=k),
            interface="torch",
            diff_method="backprop",
        )
        def circuit(x: torch.Tensor, u3: torch.Tensor, cu3: torch.Tensor) -> Any:
            for gate, wire, feat in spec:
                gate(x[:, feat], wires=wire)
            for b in range(n_blocks):
                for q in range(k):
                    pl.U3(u3[b, q, 0], u3[b, q, 1], u3[b, q, 2], wires=q)
                for q in range(k):
                    t = (q + 1) % k
                    pl.ctrl(pl.U3, control=q)(
                        cu3[b, q, 0], cu3[b, q, 1], cu3[b, q, 2], wires=t
                    )
            return [pl.expval(pl.PauliZ(q)) for q in range(k)]

        self._circuit = circuit

    def _run(self, x: Any) -> torch.Tensor:
        out = self._circuit(_as_torch(x, torch.float64), self.u3, self.cu3)
        return torch.stack(list(out), dim=-1)

    def forward(self, x: Any) -> np.ndarray:
        with torch.no_grad():
            return self._run(x).numpy()

    def forward_backward(self, x: Any) -> None:
        self.u3.grad = self.cu3.grad = None
        self._run(x).sum().backward()

    def grads(self) -> tuple[np.ndarray, np.ndarray]:
        return _grad_numpy(self.u3), _grad_numpy(self.cu3)


def _grad_numpy(p: torch.Tensor) -> np.ndarray:
    """Return ``p.grad`` as float64 numpy (zeros if no backward has run)."""
    g = p.grad if p.grad is not None else torch.zeros_like(p)
    return g.detach().to(torch.float64).numpy().copy()


def make_pennylane(
    k: int, n_blocks: int, batch: int, u3_w: np.ndarray, cu3_w: np.ndarray
) -> Peer:
    """PennyLane ``default.qubit`` (complex128 state, float64 inputs) with torch backprop."""
    del batch  # the batch is a broadcast dimension of the single qnode call
    return _PennyLanePeer(k, n_blocks, u3_w, cu3_w)


# --------------------------------------------------------------------------- qiskit-aer


class _AerEstimatorPeer:
    """qiskit-aer ``EstimatorV2``: exact statevector expectation values, forward only."""

    supports_backward = False

    def __init__(
        self,
        k: int,
        n_blocks: int,
        chunk: int,
        u3_w: np.ndarray,
        cu3_w: np.ndarray,
        bind_weights: bool,
    ) -> None:
        import qiskit_aer
        from qiskit import QuantumCircuit, transpile
        from qiskit.circuit import ParameterVector
        from qiskit.circuit.library import CU3Gate, U3Gate
        from qiskit.quantum_info import SparsePauliOp
        from qiskit_aer.primitives import EstimatorV2

        self.name = f"qiskit-aer-{qiskit_aer.__version__}-EstimatorV2"
        self.chunk = max(1, chunk)
        n_w = n_blocks * k * 3
        xs = ParameterVector("x", N_FEATURES)
        ws = ParameterVector("w", 2 * n_w)
        u3p = np.array(ws[:n_w], dtype=object).reshape(n_blocks, k, 3)
        cu3p = np.array(ws[n_w:], dtype=object).reshape(n_blocks, k, 3)
        qc = QuantumCircuit(k)
        for gate, wire, feat in encoder_spec(k):
            getattr(qc, gate)(xs[feat], wire)
        for b in range(n_blocks):
            for q in range(k):
                qc.append(U3Gate(*u3p[b, q]), [q])
            for q in range(k):
                qc.append(CU3Gate(*cu3p[b, q]), [q, (q + 1) % k])
        weights = np.concatenate([np.ravel(u3_w), np.ravel(cu3_w)]).astype(np.float64)
        if bind_weights:
            # weights are constants of a forward pass: bind them into the circuit once
            self.circuit = qc.assign_parameters(dict(zip(ws, weights, strict=False)))
            self.params: tuple[Any, ...] = tuple(xs)
            self.weights = np.empty(0)
        else:
            # Aer 0.18.2 mis-binds PUB values of parameterized native controlled gates
            # (CU3 acts as identity; cf. qiskit-aer issue #2403), so lower CU3 to u3/cx first.
            self.circuit = transpile(qc, basis_gates=["rx", "ry", "rz", "u3", "cx"])
            self.params = (*xs, *ws)
            self.weights = weights
        self.observables = [
            SparsePauliOp("I" * (k - 1 - q) + "Z" + "I" * q) for q in range(k)
        ]
        # default_precision=0 -> exact expectation values (save_expectation_value, no
        # shots); statevector method in double precision; Aer's threading left as is.
        self.estimator = EstimatorV2(
            options={
                "default_precision": 0.0,
                "backend_options": {"method": "statevector"},
            }
        )

    def forward(self, x: Any) -> np.ndarray:
        xv = _as_numpy(x)
        w = np.broadcast_to(self.weights, (len(xv), len(self.weights)))
        # parameter values (B, 1, P) broadcast against observables (k,) -> evs (B, k)
        values = np.concatenate([xv, w], axis=1)[:, None, :]
        pubs = [
            (self.circuit, self.observables, {self.params: values[i : i + self.chunk]})
            for i in range(0, len(values), self.chunk)
        ]
        result = self.estimator.run(pubs).result()
        return np.concatenate(
            [np.asarray(r.data.evs, dtype=np.float64) for r in result]
        )

    def forward_backward(self, x: Any) -> None:
        raise NotImplementedError("qiskit-aer EstimatorV2 peer is forward-only")

    def grads(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError("qiskit-aer EstimatorV2 peer is forward-only")


AER_PUB_CHUNK = 256  # B <= 256 in every benchmark size: one PUB was fastest there


def make_aer(
    k: int,
    n_blocks: int,
    batch: int,
    u3_w: np.ndarray,
    cu3_w: np.ndarray,
    pub_chunk: int = AER_PUB_CHUNK,
    bind_weights: bool = True,
) -> Peer:
    """qiskit-aer ``EstimatorV2``: one ``run`` per forward, batch split into PUBs.

    ``bind_weights=False`` keeps the weights as PUB parameters (CU3 lowered to u3/cx).
    """
    chunk = min(batch, pub_chunk)
    return _AerEstimatorPeer(k, n_blocks, chunk, u3_w, cu3_w, bind_weights)


# --------------------------------------------------------------------------- TorchQuantum


def _import_torchquantum() -> Any:
    """Import torchquantum with the bench-only stubs (torchvision) on ``sys.path``."""
    if str(STUBS_DIR) not in sys.path:
        # appended, not prepended: a real torchvision, if one is installed, wins
        sys.path.append(str(STUBS_DIR))
    import torchquantum

    return torchquantum


class _TorchQuantumPeer:
    """TorchQuantum model built the way its README does (encoder, layers, MeasureAll)."""

    supports_backward = True

    def __init__(
        self, k: int, n_blocks: int, u3_w: np.ndarray, cu3_w: np.ndarray, static: bool
    ) -> None:
        tq = _import_torchquantum()
        self.name = f"torchquantum-{tq.__version__}" + ("-static" if static else "")
        self.model = _build_tq_model(tq, k, n_blocks)
        layer = self.model.q_layer
        with torch.no_grad():
            for b in range(n_blocks):
                for q in range(k):
                    layer.u3_layers[b].ops_all[q].params.copy_(
                        torch.as_tensor(u3_w[b, q])
                    )
                    layer.cu3_layers[b].ops_all[q].params.copy_(
                        torch.as_tensor(cu3_w[b, q])
                    )

    def _run(self, x: Any) -> torch.Tensor:
        return self.model(_as_torch(x, torch.float32))

    def forward(self, x: Any) -> np.ndarray:
        with torch.no_grad():
            return self._run(x).to(torch.float64).numpy()

    def forward_backward(self, x: Any) -> None:
        self.model.zero_grad(set_to_none=True)
        self._run(x).sum().backward()

    def grads(self) -> tuple[np.ndarray, np.ndarray]:
        m = self.model.q_layer
        u3 = [
            [_grad_numpy(op.params)[0] for op in layer.ops_all] for layer in m.u3_layers
        ]
        cu3 = [
            [_grad_numpy(op.params)[0] for op in layer.ops_all]
            for layer in m.cu3_layers
        ]
        return np.array(u3), np.array(cu3)


def _build_tq_model(tq: Any, k: int, n_blocks: int) -> Any:
    """Define and instantiate the TorchQuantum ``QuantumModule`` for QNN-k(n_blocks)."""

    class QLayer(tq.QuantumModule):
        """Trainable part: per block an all-qubit U3 layer and a circular CU3 layer."""

        def __init__(self) -> None:
            super().__init__()
            self.n_wires = k
            self.u3_layers = tq.QuantumModuleList()
            self.cu3_layers = tq.QuantumModuleList()
            for _ in range(n_blocks):
                self.u3_layers.append(
                    tq.Op1QAllLayer(
                        op=tq.U3, n_wires=k, has_params=True, trainable=True
                    )
                )
                self.cu3_layers.append(
                    tq.Op2QAllLayer(
                        op=tq.CU3,
                        n_wires=k,
                        has_params=True,
                        trainable=True,
                        circular=True,
                    )
                )

        @tq.static_support
        def forward(self, qdev: Any) -> None:
            self.q_device = qdev
            for u3_layer, cu3_layer in zip(self.u3_layers, self.cu3_layers, strict=False):
                u3_layer(qdev)
                cu3_layer(qdev)

    class QNN(tq.QuantumModule):
        """Encoder + QLayer + MeasureAll(PauliZ); output column q is wire q = qiskit qubit q."""

        def __init__(self) -> None:
            super().__init__()
            self.n_wires = k
            self.encoder = tq.GeneralEncoder(
                [
                    {"input_idx": [f], "func": g, "wires": [w]}
                    for g, w, f in encoder_spec(k)
                ]
            )
            self.q_layer = QLayer()
            self.measure = tq.MeasureAll(tq.PauliZ)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            qdev = tq.QuantumDevice(
                n_wires=self.n_wires, bsz=x.shape[0], device=x.device
            )
            self.encoder(qdev, x)
            self.q_layer(qdev)
            return self.measure(qdev)

    return QNN()


def make_torchquantum(
    k: int, n_blocks: int, batch: int, u3_w: np.ndarray, cu3_w: np.ndarray
) -> Peer:
    """TorchQuantum (torchquantum-ng), default dynamic mode, complex64 state."""
    # QuantumDevice(bsz=...) is created per call from x.shape[0], as TQ's examples do
    del batch
    return _TorchQuantumPeer(k, n_blocks, u3_w, cu3_w, static=False)


def _batched_cu3_matrix(params: torch.Tensor) -> torch.Tensor:
    """CU3 matrices for ``params`` of shape ``(n, 3)``; same matrix as TQ's ``cu3_matrix``."""
    theta, phi, lam = (params[:, i].to(torch.complex64) for i in range(3))
    co, si = torch.cos(theta / 2), torch.sin(theta / 2)
    mat = torch.zeros(
        params.shape[0], 4, 4, dtype=torch.complex64, device=params.device
    )
    mat[:, 0, 0] = mat[:, 1, 1] = 1
    mat[:, 2, 2] = co
    mat[:, 2, 3] = -si * torch.exp(1j * lam)
    mat[:, 3, 2] = si * torch.exp(1j * phi)
    mat[:, 3, 3] = co * torch.exp(1j * (phi + lam))
    return mat.squeeze(0)


def make_torchquantum_static(
    k: int,
    n_blocks: int,
    batch: int,
    u3_w: np.ndarray,
    cu3_w: np.ndarray,
    wires_per_block: int = 4,
) -> Peer:
    """TorchQuantum with ``static_on`` on the trainable layers (gates fused per block).

    torchquantum-ng 0.2.0's ``cu3_matrix`` fails for more than one parameter row, which
    static mode needs (it builds all CU3 matrices in one call), so the static graph's
    ``tq.mat_dict["cu3"]`` is replaced by a batched version of the same matrix.
    ``wires_per_block=4`` was fastest of 2..5 at k=4 and k=10 (B=256, fwd+bwd).
    """
    del batch
    peer = _TorchQuantumPeer(k, n_blocks, u3_w, cu3_w, static=True)
    _import_torchquantum().mat_dict["cu3"] = _batched_cu3_matrix
    peer.model.q_layer.static_on(wires_per_block=min(k, wires_per_block))
    return peer


# --------------------------------------------------------------------------- TensorCircuit-NG


class _TensorCircuitPeer:
    """TensorCircuit-NG on JAX: one sample's circuit vectorised over the batch (``vmap``) and compiled (``jit``),
    complex64 like qml; value and gradient by JAX's reverse mode. Compilation happens on the first call of each
    function and is timed apart (``compile_s``)."""

    supports_backward = True

    def __init__(self, k: int, n_blocks: int, u3_w: np.ndarray, cu3_w: np.ndarray) -> None:
        import time

        import jax
        import jax.numpy as jnp
        import tensorcircuit as tc

        tc.set_backend("jax")
        tc.set_dtype("complex64")
        self.name = f"tensorcircuit-ng-{tc.__version__}-jax-{jax.__version__}-jit+vmap"
        spec = encoder_spec(k)
        self.u3, self.cu3 = jnp.asarray(u3_w, jnp.float32), jnp.asarray(cu3_w, jnp.float32)

        def single(x, u3, cu3):
            c = tc.Circuit(k)
            for gate, wire, feat in spec:
                getattr(c, gate)(wire, theta=x[feat])
            for b in range(n_blocks):
                for q in range(k):
                    c.u(q, theta=u3[b, q, 0], phi=u3[b, q, 1], lbd=u3[b, q, 2])
                for q in range(k):
                    c.cu(q, (q + 1) % k, theta=cu3[b, q, 0], phi=cu3[b, q, 1], lbd=cu3[b, q, 2])
            # the state once, then <Z_q> from its probabilities (k separate expectation contractions of a deep
            # circuit made jit compile for minutes); TensorCircuit orders qubit 0 as the most significant axis
            probs = jnp.abs(c.state()) ** 2
            probs = probs.reshape((2,) * k)
            return jnp.stack([(lambda m: m[0] - m[1])(probs.sum(tuple(a for a in range(k) if a != q)))
                              for q in range(k)])

        batched = jax.vmap(single, in_axes=(0, None, None))
        self._forward = jax.jit(batched)
        self._value_grad = jax.jit(jax.value_and_grad(lambda x, u3, cu3: batched(x, u3, cu3).sum(), argnums=(1, 2)))
        self._grads = (np.zeros_like(u3_w), np.zeros_like(cu3_w))
        self.compile_s = {}
        self._jnp, self._time = jnp, time

    def _x(self, x: Any):
        return self._jnp.asarray(_as_numpy(x), self._jnp.float32)

    def forward(self, x: Any) -> np.ndarray:
        if "forward" not in self.compile_s:
            t = self._time.perf_counter()
            self._forward(self._x(x), self.u3, self.cu3).block_until_ready()
            self.compile_s["forward"] = self._time.perf_counter() - t
        return np.asarray(self._forward(self._x(x), self.u3, self.cu3), dtype=np.float64)

    def forward_backward(self, x: Any) -> None:
        if "forward+backward" not in self.compile_s:
            t = self._time.perf_counter()
            self._value_grad(self._x(x), self.u3, self.cu3)[0].block_until_ready()
            self.compile_s["forward+backward"] = self._time.perf_counter() - t
        _, (gu, gc) = self._value_grad(self._x(x), self.u3, self.cu3)
        gu.block_until_ready()
        self._grads = (gu, gc)

    def grads(self) -> tuple[np.ndarray, np.ndarray]:
        return tuple(np.asarray(g, dtype=np.float64) for g in self._grads)


def make_tensorcircuit(k: int, n_blocks: int, batch: int, u3_w: np.ndarray, cu3_w: np.ndarray) -> Peer:
    """TensorCircuit-NG with JAX (jit + vmap over the batch), complex64."""
    del batch
    return _TensorCircuitPeer(k, n_blocks, u3_w, cu3_w)


PEERS = {
    "tensorcircuit": make_tensorcircuit,
    "pennylane": make_pennylane,
    "aer": make_aer,
    "torchquantum": make_torchquantum,
    "torchquantum_static": make_torchquantum_static,
}
