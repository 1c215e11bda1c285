"""qml: quantum machine learning that stays accurate on noisy quantum hardware.

Define a circuit, wrap it as a ``torch.nn.Module`` and train it::

    import qml
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")          # 16 features -> RY, RZ, RX, RY layers
    for _ in range(2):
        c.layer("u3").ring("cu3")  # trainable U3 on every wire, CU3 ring
    model = qml.QuantumModule(c)   # (B, 16) -> <Z> on each wire, (B, 4)
"""

from qml.circuit import Circuit, Expr, Input, Trainable, from_qasm2, from_qasm3, from_qiskit, to_qasm3, to_qiskit
from qml.errors import CircuitError, ConversionError, InputError, QmlError
from qml.sim import Counts, Expval, ExpZ, Probs, QuantumModule, get_threads, set_threads

__version__ = "0.1.0"

__all__ = ["Circuit", "Expr", "Input", "Trainable", "from_qasm2", "from_qasm3", "from_qiskit", "to_qasm3",
           "to_qiskit", "QuantumModule", "Counts", "Expval", "ExpZ", "Probs", "QmlError", "CircuitError",
           "ConversionError", "InputError", "get_threads", "set_threads", "__version__"]
