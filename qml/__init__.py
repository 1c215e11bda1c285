"""qml: quantum machine learning that stays accurate on noisy quantum hardware.

Define a circuit, wrap it as a ``torch.nn.Module`` and train it::

    import qml
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")          # 16 features -> RY, RZ, RX, RY layers
    for _ in range(2):
        c.layer("u3").ring("cu3")  # trainable U3 on every wire, CU3 ring
    model = qml.QuantumModule(c)   # (B, 16) -> <Z> on each wire, (B, 4)
"""

from typing import TYPE_CHECKING

from qml.errors import CircuitError, ConversionError, InputError, QmlError

if TYPE_CHECKING:  # imported on first use (``__getattr__``): ``import qml`` alone does not import torch
    from qml.circuit import Circuit, Expr, Input, Trainable, from_qasm2, from_qasm3, from_qiskit, to_qasm3, to_qiskit
    from qml.sim import Counts, Expval, ExpZ, Probs, QuantumModule, get_threads, set_threads

__version__ = "0.1.0"

__all__ = ["Circuit", "Expr", "Input", "Trainable", "from_qasm2", "from_qasm3", "from_qiskit", "to_qasm3",
           "to_qiskit", "QuantumModule", "Counts", "Expval", "ExpZ", "Probs", "QmlError", "CircuitError",
           "ConversionError", "InputError", "get_threads", "set_threads", "__version__"]

_ROOMS = ("circuit", "sim")  # the rooms the root re-exports, each imported on first use of one of its names
_FROM_ROOM = {**dict.fromkeys(("Circuit", "Expr", "Input", "Trainable", "from_qasm2", "from_qasm3", "from_qiskit",
                                "to_qasm3", "to_qiskit"), "circuit"),
              **dict.fromkeys(("QuantumModule", "Counts", "Expval", "ExpZ", "Probs", "get_threads", "set_threads"),
                              "sim")}


def __getattr__(name: str):
    import importlib

    if name in _ROOMS:
        return importlib.import_module(f"qml.{name}")
    room = _FROM_ROOM.get(name)
    if room is None:
        raise AttributeError(f"module 'qml' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"qml.{room}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM_ROOM) | set(_ROOMS))
