"""Room ``circuit``: the circuit IR, its builders, named encoders and qiskit / OpenQASM 3 conversion."""

from qml.circuit.circuit import Circuit, Op
from qml.circuit.expr import Expr
from qml.circuit.gates import GATES, GateDef, gate_def, matrix_np
from qml.circuit.params import Input, ParamRef, Trainable, ref_value
from qml.circuit.qiskit_io import from_qasm2, from_qasm3, from_qiskit, to_qasm3, to_qiskit
from qml.circuit.simplify import drop_identity_gates

__all__ = ["Circuit", "Op", "GATES", "GateDef", "gate_def", "matrix_np", "Expr", "Input", "ParamRef", "Trainable",
           "ref_value", "from_qasm2", "from_qasm3", "from_qiskit", "to_qasm3", "to_qiskit", "drop_identity_gates"]
