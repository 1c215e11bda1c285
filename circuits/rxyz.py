"""QuantumNAS's RXYZ space, after McClean et al., "Barren plateaus in quantum neural network training landscapes"
(arXiv:1803.11173).

Based on TorchQuantum's ``barren_s0`` / ``barren_a0`` super layers (``SuperBarrenShareFrontLayer0`` /
``SuperBarrenArbitraryLayer0`` in ``torchquantum/algorithm/quantumnas/super_layers.py``): every block is
trainable RX, RY and RZ on each wire, then a fixed CZ on alternating neighbour pairs — (0, 1), (2, 3), ... then
(1, 2), (3, 4), ... (TorchQuantum's ``Super2QAlterLayer``). TorchQuantum also puts one fixed sqrt(H) layer before
the first block; qml has no sqrt(H) gate and a design space has no fixed prefix, so it is left out. The artifact's
configurations for this space hold 8 blocks (genes of 1 + 8 x 4 + 1 values).
"""

import qml
import qml.search


def alternating_pairs(n_wires: int) -> list[tuple[int, int]]:
    """Neighbour pairs starting at even wires, then those starting at odd wires."""
    return [(i, i + 1) for start in (0, 1) for i in range(start, n_wires - 1, 2)]


def space(n_wires: int = 4, n_blocks: int = 8, variant: str = "front", encoder: str = "4x4_ryzxy",
          two_qubit_gate: str = "cz") -> qml.search.DesignSpace:
    """The design space; ``two_qubit_gate`` is the fixed entangler on the alternating pairs (TorchQuantum: CZ)."""
    s = qml.search.DesignSpace("rxyz", n_wires, n_blocks, variant=variant, encoder=encoder)
    return s.layer("rx").layer("ry").layer("rz").layer(two_qubit_gate, "pairs", alternating_pairs(n_wires))


def build(n_wires: int = 4, n_blocks: int = 2, encoder: str = "4x4_ryzxy", two_qubit_gate: str = "cz") -> qml.Circuit:
    """The human design: ``n_blocks`` full blocks (RX, RY, RZ on each wire, CZ on alternating pairs)."""
    c = space(n_wires, n_blocks, encoder=encoder, two_qubit_gate=two_qubit_gate).circuit()
    c.name = f"rxyz_{n_blocks}"
    return c
