"""What one logical gate costs on a device: how many native 1-qubit pulses (sx, x) land on each of its wires
and how many native 2-qubit gates (cx, ecr or cz) it needs, found once per (gate, native 2-qubit gate) by letting
qiskit transpile the gate with generic angles to ``rz, sx, x`` + the native gate. ``rz`` is virtual (a frame
change, no error, no duration), so diagonal gates cost nothing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from qml.circuit.gates import GATES

GENERIC_ANGLES = (0.7311, -1.2917, 2.0443)  # no special values, so nothing simplifies away


@dataclass(frozen=True)
class GateCost:
    one_qubit: tuple[int, ...]  # sx / x pulses on each of the op's wires, in the op's wire order
    two_qubit: int              # native two-qubit gates
    pairs: tuple[tuple[int, int], ...] = ()  # op-local wire pairs the two-qubit gates act on (one per gate)
    natives: tuple[tuple[str, tuple[int, ...]], ...] = ()  # the pulses and 2-qubit gates in order: (name, wires)


@cache
def gate_cost(gate: str, native_2q: str) -> GateCost:
    from qiskit import QuantumCircuit, transpile

    from qml.circuit.circuit import Circuit
    from qml.circuit.qiskit_io import to_qiskit

    g = GATES[gate]
    c = Circuit(g.num_qubits)
    c.add(gate, list(range(g.num_qubits)), *GENERIC_ANGLES[: g.num_params])
    qc: QuantumCircuit = to_qiskit(c)
    out = transpile(qc, basis_gates=["rz", "sx", "x", native_2q], optimization_level=1, seed_transpiler=0)
    one = [0] * g.num_qubits
    pairs, natives = [], []
    for inst in out.data:
        qubits = [out.find_bit(q).index for q in inst.qubits]
        if inst.operation.name in ("sx", "x"):
            one[qubits[0]] += 1
            natives.append((inst.operation.name, (qubits[0],)))
        elif len(qubits) == 2:
            pairs.append((qubits[0], qubits[1]))
            natives.append((inst.operation.name, (qubits[0], qubits[1])))
    return GateCost(tuple(one), len(pairs), tuple(pairs), tuple(natives))
