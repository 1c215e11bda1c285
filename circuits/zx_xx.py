"""QuantumNAS's ZX+XX space, after Farhi and Neven, "Classification with quantum neural networks on near term
processors" (arXiv:1802.06002).

Based on TorchQuantum's ``farhi_s0`` / ``farhi_a0`` super layers (``SuperFarhiShareFrontLayer0`` /
``SuperFarhiArbitraryLayer0`` in ``torchquantum/algorithm/quantumnas/super_layers.py``): every block is a ring of
trainable RZX on (i, i+1 mod n), then a ring of trainable RXX. No artifact setting for its block count was found;
8 blocks, as for the U3+CU3 and ZZ+RY spaces, gives a 64-gate SuperCircuit on 4 wires.
"""

import qml
import qml.search


def space(n_wires: int = 4, n_blocks: int = 8, variant: str = "front", encoder: str = "4x4_ryzxy",
          two_qubit_gate: str | None = None) -> qml.search.DesignSpace:
    """The design space; both of its layers are trainable two-qubit rings, so ``two_qubit_gate`` may only be
    None."""
    if two_qubit_gate is not None:
        raise qml.InputError(f"design space zx_xx entangles with trainable RZX and RXX; "
                             f"two_qubit_gate={two_qubit_gate!r} applies to the ibm_basis and rxyz spaces")
    s = qml.search.DesignSpace("zx_xx", n_wires, n_blocks, variant=variant, encoder=encoder)
    return s.layer("rzx", "ring").layer("rxx", "ring")


def build(n_wires: int = 4, n_blocks: int = 2, encoder: str = "4x4_ryzxy") -> qml.Circuit:
    """The human design: ``n_blocks`` full blocks (RZX ring, RXX ring) after the encoder."""
    c = space(n_wires, n_blocks, encoder=encoder).circuit()
    c.name = f"zx_xx_{n_blocks}"
    return c
