"""Check every peer in ``bench/peers.py`` against a direct qiskit ``Statevector`` reference.

Run ``python bench/check_peers.py``: prints PASS/FAIL per peer (forward at k=4 and k=5,
1 and 2 blocks, tolerance 1e-4) and per gradient check (PennyLane vs TorchQuantum vs a
central finite difference of the qiskit reference); exits 1 on any FAIL.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers

TOL = 1e-4
CASES = [(4, 1), (4, 2), (5, 1), (5, 2)]  # (k, n_blocks)
BATCH = 3


def reference(x: np.ndarray, u3_w: np.ndarray, cu3_w: np.ndarray) -> np.ndarray:
    """``<Z_q>`` per sample from a directly built qiskit circuit and ``Statevector``."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import CU3Gate, RXGate, RYGate, RZGate, U3Gate
    from qiskit.quantum_info import SparsePauliOp, Statevector

    n_blocks, k, _ = u3_w.shape
    gates = {"rx": RXGate, "ry": RYGate, "rz": RZGate}
    obs = [SparsePauliOp("I" * (k - 1 - q) + "Z" + "I" * q) for q in range(k)]
    out = np.empty((len(x), k))
    for i, row in enumerate(x):
        qc = QuantumCircuit(k)
        for j in range(max(16, k)):
            gate = gates[["ry", "rz", "rx", "ry"][(j // k) % 4]]
            qc.append(gate(float(row[j % 16])), [j % k])
        for b in range(n_blocks):
            for q in range(k):
                qc.append(U3Gate(*u3_w[b, q]), [q])
            for q in range(k):
                qc.append(CU3Gate(*cu3_w[b, q]), [q, (q + 1) % k])
        sv = Statevector(qc)
        out[i] = [sv.expectation_value(o).real for o in obs]
    return out


def finite_diff_grads(
    x: np.ndarray, u3_w: np.ndarray, cu3_w: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray]:
    """Central finite differences of ``sum(reference)`` w.r.t. both weight arrays."""
    grads = []
    for which in (0, 1):
        w = (u3_w, cu3_w)[which]
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            vals = []
            for sign in (1, -1):
                ws = [u3_w.copy(), cu3_w.copy()]
                ws[which][idx] += sign * eps
                vals.append(reference(x, *ws).sum())
            g[idx] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return grads[0], grads[1]


def _report(label: str, fn: Callable[[], str]) -> bool:
    """Run one check; print PASS/FAIL with its detail line."""
    try:
        detail = fn()
        print(f"PASS  {label}  {detail}")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure is a FAIL line
        print(f"FAIL  {label}  {type(exc).__name__}: {exc}")
        traceback.print_exc(limit=2, file=sys.stdout)
        return False


def _weights(rng: np.random.Generator, k: int, n_blocks: int) -> tuple[np.ndarray, ...]:
    """Random ``(u3_w, cu3_w)`` in ``[-pi, pi)``, float64, shape ``(n_blocks, k, 3)``."""
    return tuple(rng.uniform(-np.pi, np.pi, (n_blocks, k, 3)) for _ in range(2))


def check_forward(name: str, factory: Callable[..., peers.Peer]) -> bool:
    """Forward of one peer vs the qiskit reference on all CASES."""

    def run() -> str:
        rng = np.random.default_rng(1234)
        worst = 0.0
        for k, n_blocks in CASES:
            u3_w, cu3_w = _weights(rng, k, n_blocks)
            x = torch.tensor(
                rng.uniform(-np.pi, np.pi, (BATCH, 16)), dtype=torch.float32
            )
            want = reference(x.double().numpy(), u3_w, cu3_w)
            got = factory(k, n_blocks, BATCH, u3_w, cu3_w).forward(x)
            assert got.shape == (BATCH, k), f"shape {got.shape} != {(BATCH, k)}"
            err = float(np.abs(got - want).max())
            assert err < TOL, f"k={k} blocks={n_blocks}: max |diff| {err:.2e}"
            worst = max(worst, err)
        return f"max |diff| {worst:.1e}"

    return _report(f"forward {name}", run)


def check_grads() -> bool:
    """PennyLane and TorchQuantum gradients vs finite differences of the reference."""
    rng = np.random.default_rng(99)
    k, n_blocks = 4, 2
    u3_w, cu3_w = _weights(rng, k, n_blocks)
    x = torch.tensor(rng.uniform(-np.pi, np.pi, (BATCH, 16)), dtype=torch.float32)
    fd = finite_diff_grads(x.double().numpy(), u3_w, cu3_w)
    ok = True
    for name in ("pennylane", "torchquantum", "torchquantum_static"):

        def run(name: str = name) -> str:
            peer = peers.PEERS[name](k, n_blocks, BATCH, u3_w, cu3_w)
            peer.forward_backward(x)
            err = max(float(np.abs(g - f).max()) for g, f in zip(peer.grads(), fd, strict=False))
            assert err < TOL, f"max |grad - finite diff| {err:.2e}"
            return f"max |grad - finite diff| {err:.1e}"

        ok &= _report(f"grad    {name}", run)
    return ok


def main() -> int:
    """Run all checks; return the process exit code."""
    factories = dict(peers.PEERS)
    factories["aer(bind_weights=False)"] = partial(peers.make_aer, bind_weights=False)
    results = [check_forward(name, f) for name, f in factories.items()]
    ok = all(results)
    ok &= check_grads()
    print("ALL PASS" if ok else "SOME FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
