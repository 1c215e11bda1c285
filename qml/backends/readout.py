"""Readout-error mitigation with mthree (matrix-free measurement mitigation, IBM's choice for Sampler users).

The calibration circuits are built here, on the physical qubits the transpiled circuit measures, so that they go
in the same sampler run (or IBM Batch) as the circuits they correct: mthree's own calibration submits its own
jobs through ``backend.run``, which IBM's runtime no longer has. They follow mthree's *balanced* scheme (its
``HadamardGenerator``): each qubit is prepared in 0 in half of them and in 1 in the other half, with varied
neighbours. Their bits give one 2 x 2 assignment matrix per clbit (``M[measured, prepared]``, mthree's layout),
handed to ``M3Mitigation.cals_from_matrices``; each input's counts are corrected to a quasi-distribution and
⟨Z⟩ of logical wire i is read from clbit i of it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qml.errors import InputError

EXTRA = "mitigation"  # the optional extra that installs mthree


def require_mthree():
    """The ``mthree`` module, or a one-line ``InputError`` naming the extra that installs it."""
    try:
        import mthree
    except ImportError:
        raise InputError("--mitigate readout needs mthree, which is not installed: pip install "
                         f"'qml-robust[{EXTRA}]' (or pip install 'mthree>=3')") from None
    return mthree


def measured_qubits(circuit) -> list[int]:
    """The physical qubit each clbit of ``circuit`` is measured from, by clbit index (the last measurement wins)."""
    out: dict[int, int] = {}
    for inst in circuit.data:
        if inst.operation.name == "measure":
            out[circuit.find_bit(inst.clbits[0]).index] = circuit.find_bit(inst.qubits[0]).index
    if sorted(out) != list(range(circuit.num_clbits)):
        raise InputError(f"the circuit measures clbits {sorted(out)} of {circuit.num_clbits}: every clbit must be "
                         "measured once for readout mitigation")
    return [out[i] for i in range(circuit.num_clbits)]


def calibration_states(n_bits: int) -> np.ndarray:
    """mthree's balanced calibration states (circuits, n_bits): entry [k, i] is the state clbit i's qubit is
    prepared in by circuit k."""
    from mthree.generators import HadamardGenerator

    # mthree's generator lists bit arrays with the last qubit first (it reverses them when it builds circuits)
    return np.array([np.asarray(bits)[::-1] for bits in HadamardGenerator(n_bits)], dtype=np.uint8)


def calibration_circuits(circuit, states: np.ndarray) -> list:
    """One circuit per calibration state, on ``circuit``'s qubits: X on the measured qubits prepared in 1, then
    each measured into its clbit of a ``meas`` register (as ``measure_all`` names it)."""
    from qiskit import ClassicalRegister, QuantumCircuit

    qubits = measured_qubits(circuit)
    out = []
    for k, state in enumerate(states):
        qc = QuantumCircuit(circuit.num_qubits, name=f"readout_cal_{k}")
        qc.add_register(ClassicalRegister(len(qubits), "meas"))
        for q, bit in zip(qubits, state, strict=True):
            if bit:
                qc.x(q)
        qc.barrier(qubits)
        qc.measure(qubits, range(len(qubits)))
        out.append(qc)
    return out


def assignment_matrices(states: np.ndarray, bits: np.ndarray) -> list[np.ndarray]:
    """Per clbit i, ``M[measured, prepared]`` (columns sum to 1) from the calibration circuits' bits (circuits,
    shots, n_bits), pooling every circuit that prepared clbit i's qubit in 0 (or 1)."""
    states = np.asarray(states, dtype=bool)
    bits = np.asarray(bits, dtype=bool)
    out = []
    for i in range(states.shape[1]):
        ones_when = [bits[states[:, i] == prepared, :, i].mean() for prepared in (False, True)]
        if any(np.isnan(v) for v in ones_when):
            raise InputError(f"the calibration circuits never prepare clbit {i} in both 0 and 1")
        p10, p11 = ones_when  # P(1 | 0), P(1 | 1)
        out.append(np.array([[1 - p10, 1 - p11], [p10, p11]], dtype=np.float32))
    return out


def counts_of(bits: np.ndarray) -> list[dict[str, int]]:
    """Counts per input, qiskit's bitstrings (clbit 0 rightmost), from bits (inputs, shots, n_bits)."""
    bits = np.asarray(bits, dtype=np.int64)
    n = bits.shape[-1]
    index = bits @ (1 << np.arange(n))
    out = []
    for row in index:
        values, freq = np.unique(row, return_counts=True)
        out.append({format(int(v), f"0{n}b"): int(c) for v, c in zip(values, freq, strict=True)})
    return out


def z_from_quasi(quasi: dict[str, float], n_bits: int) -> np.ndarray:
    """⟨Z⟩ of every clbit from a (quasi-)distribution over bitstrings: Σ q(s) (1 - 2 s_i), clipped to [-1, 1]."""
    z = np.zeros(n_bits)
    for key, q in quasi.items():
        bits = np.array([key[-1 - i] == "1" for i in range(n_bits)])
        z += q * (1.0 - 2.0 * bits)
    return np.clip(z, -1.0, 1.0)


def corrected_z(bits: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    """⟨Z⟩ (inputs, n_bits) after mthree's correction of each input's counts with the clbits' assignment
    ``matrices``; bits (inputs, shots, n_bits)."""
    mthree = require_mthree()

    n = len(matrices)
    if bits.shape[-1] != n:
        raise InputError(f"{bits.shape[-1]} clbits measured but {n} calibration matrices")
    mit = mthree.M3Mitigation()
    mit.cals_from_matrices([np.asarray(m, dtype=np.float32) for m in matrices])
    quasis = mit.apply_correction(counts_of(bits), list(range(n)))  # clbit i is "qubit" i of the matrices
    return np.stack([z_from_quasi(q, n) for q in quasis])


__all__ = ["assignment_matrices", "calibration_circuits", "calibration_states", "corrected_z", "counts_of",
           "measured_qubits", "require_mthree", "z_from_quasi"]
