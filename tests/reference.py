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
    if p.kind == "expr":
        raise NotImplementedError("angle expressions have their own oracles (tests/circuit/test_expr.py)")
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


# -- ⟨Z⟩ per wire, noise-free and noisy ------------------------------------------------------------------------------
def z_label(wire: int, n_wires: int) -> str:
    """The qiskit Pauli label of Z on ``wire`` (qubit 0 rightmost)."""
    return "I" * (n_wires - 1 - wire) + "Z" + "I" * wire


def reference_z(circuit: qml.Circuit, theta, x) -> np.ndarray:
    """(B, n) noise-free ⟨Z⟩ of every wire from qiskit's ``Statevector``."""
    return reference_expvals(circuit, theta, x, [z_label(w, circuit.n_wires) for w in range(circuit.n_wires)])


def pauli_terms(table) -> list[tuple[str, float]]:
    """A Pauli-channel table (index = sum P_j 4^j, P_j in I=0, X=1, Y=2, Z=3 on op-local qubit j) as qiskit-aer
    ``pauli_error`` terms (qiskit labels: qubit 0 rightmost)."""
    table = np.asarray(table, dtype=np.float64)
    k = int(round(np.log(len(table)) / np.log(4)))
    return [("".join("IXYZ"[(i // 4**j) % 4] for j in reversed(range(k))), float(p))
            for i, p in enumerate(table) if p > 0]


def read_out(p1: np.ndarray, confusion) -> np.ndarray:
    """⟨Z⟩ per wire from each wire's P(1) (B, n), read out through its 2x2 confusion [prepared, measured] (None:
    perfect): measured P(1) = P(0) m[0, 1] + P(1) m[1, 1]."""
    p1 = np.array(p1, dtype=np.float64)
    for w, m in enumerate(confusion):
        if m is not None:
            m = np.asarray(m, dtype=np.float64)
            p1[:, w] = (1 - p1[:, w]) * m[0, 1] + p1[:, w] * m[1, 1]
    return 1 - 2 * p1


def _wire_p1(results, n_qubits: int, wires) -> np.ndarray:
    """P(1) of each of ``wires`` from saved probabilities over ``n_qubits`` (index bit q = qubit q)."""
    index = np.arange(2**n_qubits)
    return np.array([[probs[(index >> q) & 1 == 1].sum() for q in wires] for probs in results])


def noise_instruction(table, damping=()):
    """A qiskit-aer error instruction: the Pauli channel ``table``, then on each wire ``j`` the non-unital part of
    amplitude damping ``damping[j]`` (signed), built as qiskit channels: the Pauli-transfer matrix of the identity
    with gamma in its (Z, I) entry, tensored with identities and composed after the Pauli channel."""
    from qiskit.quantum_info import PTM, Kraus, SuperOp
    from qiskit_aer.noise import QuantumError, pauli_error

    error = pauli_error(pauli_terms(table))
    if not any(damping):
        return error.to_instruction()
    channel = SuperOp(error)
    for j, gamma in enumerate(damping):
        shift = np.eye(4)
        shift[3, 0] = gamma  # PTM rows/columns I, X, Y, Z: I -> I + gamma Z
        parts = [PTM(np.eye(4))] * len(damping)
        parts[j] = PTM(shift)
        full = parts[-1]
        for part in reversed(parts[:-1]):
            full = full.tensor(part)  # qubit 0 rightmost, as qiskit orders them
        channel = channel.compose(SuperOp(full))
    return QuantumError(Kraus(channel)).to_instruction()


def _table_and_damping(entry):
    """A channel entry: a Pauli table, or (table, damping)."""
    return entry if isinstance(entry, tuple) else (entry, ())


def noisy_reference_z(circuit: qml.Circuit, theta, x, tables, confusion, before=None) -> np.ndarray:
    """(B, n) ⟨Z⟩ of every wire from qiskit-aer's density-matrix method: each op of ``circuit`` as its qiskit gate's
    unitary followed by the channel ``tables[i]`` (or none for None) on the op's wires — a Pauli table, or
    (table, damping) for a Pauli table followed by each wire's amplitude-damping shift (``noise_instruction``) —
    then every wire read out through ``confusion[w]``. ``before[i]`` (optional, ``len(ops) + 1`` lists of
    (wires, table) or (wires, table, damping)) are channels on their own wires just before op ``i`` (the last list:
    after every op)."""
    from qiskit.quantum_info import Operator
    from qiskit_aer import AerSimulator

    theta = np.asarray(theta, dtype=np.float64)
    rows = [None] if x is None else list(np.asarray(x, dtype=np.float64))
    n = circuit.n_wires
    errors = [None if entry is None else noise_instruction(*_table_and_damping(entry)) for entry in tables]
    before = [[] for _ in range(len(circuit.ops) + 1)] if before is None else before
    extra = [[(noise_instruction(*entry[1:]), list(entry[0])) for entry in at] for at in before]
    circuits = []
    for row in rows:
        qc = QuantumCircuit(n)
        for i, (op, error) in enumerate(zip(circuit.ops, errors, strict=True)):
            for instruction, wires in extra[i]:
                qc.append(instruction, wires)
            gate = getattr(qlib, GATES[op.gate].qiskit_class)(*(angle_value(p, theta, row) for p in op.params))
            qc.unitary(Operator(gate), list(op.wires))
            if error is not None:
                qc.append(error, list(op.wires))
        for instruction, wires in extra[-1]:
            qc.append(instruction, wires)
        qc.save_probabilities()
        circuits.append(qc)
    result = AerSimulator(method="density_matrix").run(circuits).result()
    probs = [np.asarray(result.data(i)["probabilities"]) for i in range(len(circuits))]
    return read_out(_wire_p1(probs, n, range(n)), confusion)


def aer_twin_reference_z(transpiled: QuantumCircuit, x, noise_model) -> np.ndarray:
    """(B, n) exact ⟨Z⟩ of the logical wires of a circuit transpiled with ``measure_all`` (clbit i = logical wire
    i; inputs as the parameters ``x[index]``) under a qiskit-aer ``noise_model``: the density-matrix method without
    the measurements, then each measured qubit read out through the model's own readout error."""
    from qiskit_aer import AerSimulator

    measured = {transpiled.find_bit(inst.clbits[0]).index: transpiled.find_bit(inst.qubits[0]).index
                for inst in transpiled.data if inst.operation.name == "measure"}
    wires = [measured[i] for i in range(len(measured))]  # physical qubit of each logical wire
    body = transpiled.copy_empty_like()
    for inst in transpiled.data:
        if inst.operation.name not in ("measure", "barrier"):
            body.append(inst)
    body.save_probabilities()
    rows = [None] if x is None else list(np.asarray(x, dtype=np.float64))
    circuits = [body if row is None else body.assign_parameters({p: row[p.index] for p in body.parameters})
                for row in rows]
    result = AerSimulator(method="density_matrix", noise_model=noise_model).run(circuits).result()
    probs = [np.asarray(result.data(i)["probabilities"]) for i in range(len(circuits))]
    readout = {tuple(e["gate_qubits"][0]): np.array(e["probabilities"]) for e in noise_model.to_dict()["errors"]
               if e["type"] == "roerror"}
    return read_out(_wire_p1(probs, transpiled.num_qubits, wires), [readout.get((q,)) for q in wires])


def error_free(snapshot):
    """``snapshot`` with every gate and readout error zero and no T1/T2 (no thermal relaxation)."""
    import dataclasses

    return dataclasses.replace(
        snapshot, gates=tuple(dataclasses.replace(g, error=0.0) for g in snapshot.gates),
        qubits=tuple(dataclasses.replace(q, t1=None, t2=None, prob_meas1_prep0=0.0, prob_meas0_prep1=0.0,
                                         readout_error=0.0) for q in snapshot.qubits))
