"""QuantumNAS's IBM-basis space: gates a device runs natively, so transpiling adds no 1-qubit synthesis.

Based on TorchQuantum's ``ibmbasis_s0`` / ``ibmbasis_a0`` super layers (``SuperIBMBasisShareFrontLayer0`` /
``SuperIBMBasisArbitraryLayer0`` in ``torchquantum/algorithm/quantumnas/super_layers.py``): every block is RZ, X,
RZ, SX, RZ on each wire, then the two-qubit gate on the ring (i, i+1 mod n). Only the RZ angles are trainable;
X, SX and the two-qubit gate are fixed. TorchQuantum uses CNOT; ``two_qubit_gate`` picks the device's native gate
("cx" on Falcon-era devices, "ecr" on Eagle, "cz" on Heron). The artifact's genes for this space hold 20 blocks
(``ibmbasis_a0/human/param13``: 1 + 20 x 6 values), the default here: 480 gates and 240 angles on 4 wires.
"""

import qml
import qml.device
import qml.search

NATIVE_TWO_QUBIT_GATES = sorted(qml.device.TWO_QUBIT_GATES)  # cx, cz, ecr


def space(n_wires: int = 4, n_blocks: int = 20, variant: str = "front", encoder: str = "4x4_ryzxy",
          two_qubit_gate: str = "cx") -> qml.search.DesignSpace:
    """The design space; ``two_qubit_gate`` is one of IBM's native two-qubit gates."""
    if two_qubit_gate not in NATIVE_TWO_QUBIT_GATES:
        raise qml.InputError(f"design space ibm_basis: two_qubit_gate must be one of "
                             f"{', '.join(NATIVE_TWO_QUBIT_GATES)}, got {two_qubit_gate!r}")
    s = qml.search.DesignSpace("ibm_basis", n_wires, n_blocks, variant=variant, encoder=encoder)
    return s.layer("rz").layer("x").layer("rz").layer("sx").layer("rz").layer(two_qubit_gate, "ring")


def build(n_wires: int = 4, n_blocks: int = 2, encoder: str = "4x4_ryzxy", two_qubit_gate: str = "cx") -> qml.Circuit:
    """The human design: ``n_blocks`` full blocks (RZ, X, RZ, SX, RZ on each wire, then the two-qubit ring)."""
    c = space(n_wires, n_blocks, encoder=encoder, two_qubit_gate=two_qubit_gate).circuit()
    c.name = f"ibm_basis_{n_blocks}"
    return c
