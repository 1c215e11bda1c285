"""Independent qiskit references for qml circuits and a seeded random-circuit generator.

Nothing here uses qml's simulator or qml's qiskit conversion: reference circuits are built by appending
qiskit gate classes with bound numeric angles, straight from the op list.
"""

from __future__ import annotations

import numpy as np
import qiskit.circuit.library as qlib
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

import qml
from qml.circuit.gates import GATES

GATE_NAMES = sorted(GATES)


def angle_value(p, theta, x_row) -> float:
    """The numeric angle of one ParamRef for trainable values ``theta`` and one sample's features."""
    if p.kind == "const":
        return float(p.offset)
    source = theta[p.index] if p.kind == "trainable" else x_row[p.index]
    return float(p.scale * float(source) + p.offset)


def qiskit_circuit(circuit: qml.Circuit, theta=None, x_row=None) -> QuantumCircuit:
    """A bound qiskit circuit built gate by gate from ``circuit.ops`` (qiskit gate classes, numeric angles)."""
    theta = np.zeros(0) if theta is None else np.asarray(theta, dtype=np.float64)
    x_row = np.zeros(0) if x_row is None else np.asarray(x_row, dtype=np.float64)
    qc = QuantumCircuit(circuit.n_wires, global_phase=float(circuit.global_phase))
    for op in circuit.ops:
        cls = getattr(qlib, GATES[op.gate].qiskit_class)
        qc.append(cls(*(angle_value(p, theta, x_row) for p in op.params)), list(op.wires))
    return qc


def reference_states(circuit: qml.Circuit, theta, x, initial=None) -> np.ndarray:
    """(B, 2**n) statevectors from qiskit; ``x`` is (B, F) or None, ``initial`` is (B, 2**n) or None."""
    rows = [None] if x is None else list(np.asarray(x, dtype=np.float64))
    out = []
    for b, row in enumerate(rows):
        qc = qiskit_circuit(circuit, theta, row)
        if initial is None:
            out.append(Statevector(qc).data)
        else:
            out.append(Statevector(np.asarray(initial[b])).evolve(qc).data)
    return np.array(out)


def reference_expvals(circuit: qml.Circuit, theta, x, labels) -> np.ndarray:
    """(B, K) Pauli expectations from qiskit."""
    rows = [None] if x is None else list(np.asarray(x, dtype=np.float64))
    out = []
    for row in rows:
        sv = Statevector(qiskit_circuit(circuit, theta, row))
        out.append([sv.expectation_value(SparsePauliOp(label)).real for label in labels])
    return np.array(out)


def random_circuit(seed: int, n_wires: int | None = None, max_wires: int = 10, n_ops: int | None = None,
                   gates=None, kinds=("const", "input", "new", "trainable"), n_features: int | None = None,
                   all_features_used: bool = True):
    """A seeded random circuit mixing ``gates`` (default all) with angles that are constants, features
    ``qml.Input(i, scale, offset)``, new trainable slots (None) or ``qml.Trainable(init, scale, offset)``.
    Returns (circuit, x) with x of shape (B, F), B in 2..3. With ``all_features_used`` every declared
    feature feeds at least one angle."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, max_wires + 1)) if n_wires is None else n_wires
    f = int(rng.integers(1, 5)) if n_features is None else n_features
    names = [g for g in (gates or GATE_NAMES) if GATES[g].num_qubits <= n]
    c = qml.Circuit(n, n_inputs=f)
    used: set[int] = set()
    count = int(rng.integers(1, 5 * n + 6)) if n_ops is None else n_ops
    for _ in range(count):
        g = GATES[names[int(rng.integers(len(names)))]]
        wires = tuple(int(w) for w in rng.permutation(n)[: g.num_qubits])
        params = []
        for _ in range(g.num_params):
            kind = kinds[int(rng.integers(len(kinds)))]
            if kind == "const":
                params.append(float(rng.uniform(-4, 4)))
            elif kind == "input":
                i = int(rng.integers(f))
                used.add(i)
                params.append(qml.Input(i, float(rng.choice([-1, 1]) * rng.uniform(0.3, 2)),
                                        float(rng.uniform(-1, 1))))
            elif kind == "new":
                params.append(None)
            else:
                params.append(qml.Trainable(init=float(rng.uniform(-3, 3)),
                                            scale=float(rng.choice([-1, 1]) * rng.uniform(0.3, 2)),
                                            offset=float(rng.uniform(-1, 1))))
        c.add(g.name, wires, *params)
    if all_features_used:
        for i in sorted(set(range(f)) - used):
            c.add("ry", int(rng.integers(n)), qml.Input(i, 0.7, 0.1))
    batch = int(rng.integers(2, 4))
    x = rng.uniform(-2, 2, (batch, f))
    return c, x


def theta_of(module: qml.QuantumModule) -> np.ndarray:
    return module.theta.detach().cpu().double().numpy()
