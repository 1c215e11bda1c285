"""qml-torchquantum: a way in for TorchQuantum users.

- ``from_torchquantum(model, n_inputs)`` traces a tq model (encoder, layers, ``MeasureAll``) into a qml circuit
  and maps its ``state_dict`` onto qml's ``theta`` and back (``Converted``);
- ``from_op_history(history, n_wires, x)`` converts a recorded tq op history;
- ``to_torchquantum(circuit, theta)`` runs a qml circuit on tq's simulator;
- ``add_layer(circuit, "U3CU3Layer0", n_blocks)`` and ``add_encoder(circuit, "4x4_ryzxy")`` build tq's templates
  and encoders by name;
- ``tq_order(state)``: tq numbers amplitudes with wire 0 as the most significant bit, qml (like qiskit) as the
  least; per-wire ⟨Z⟩ is the same in both.
"""

from qml_torchquantum.convert import (
                                      FROM_TQ,
                                      TO_TQ,
                                      Converted,
                                      circuit_from_history,
                                      from_op_history,
                                      from_torchquantum,
                                      to_torchquantum,
                                      tq_order,
)
from qml_torchquantum.templates import TEMPLATES, add_encoder, add_layer

__all__ = ["FROM_TQ", "TO_TQ", "TEMPLATES", "Converted", "add_encoder", "add_layer", "circuit_from_history",
           "from_op_history", "from_torchquantum", "to_torchquantum", "tq_order"]
