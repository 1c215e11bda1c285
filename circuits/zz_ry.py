"""QuantumNAS's ZZ+RY space, after Lloyd et al., "Quantum embeddings for machine learning" (arXiv:2001.03622).

Based on TorchQuantum's ``seth_s0`` / ``seth_a0`` super layers (``SuperSethShareFrontLayer0`` /
``SuperSethArbitraryLayer0`` in ``torchquantum/algorithm/quantumnas/super_layers.py``): every block is a ring of
trainable RZZ on (i, i+1 mod n), then trainable RY on each wire. The HPCA'22 artifact trains it with 8 blocks
(``seth_s0/plain/blk8s1.1.1``).
"""

import qml
import qml.search


def space(n_wires: int = 4, n_blocks: int = 8, variant: str = "front", encoder: str = "4x4_ryzxy",
          two_qubit_gate: str | None = None) -> qml.search.DesignSpace:
    """The design space; its two-qubit layer is the trainable RZZ ring, so ``two_qubit_gate`` may only be None
    or "rzz"."""
    if two_qubit_gate not in (None, "rzz"):
        raise qml.InputError(f"design space zz_ry entangles with trainable RZZ; two_qubit_gate={two_qubit_gate!r} "
                             "applies to the ibm_basis and rxyz spaces")
    s = qml.search.DesignSpace("zz_ry", n_wires, n_blocks, variant=variant, encoder=encoder)
    return s.layer("rzz", "ring").layer("ry")


def build(n_wires: int = 4, n_blocks: int = 2, encoder: str = "4x4_ryzxy") -> qml.Circuit:
    """The human design: ``n_blocks`` full blocks (RZZ ring, RY on each wire) after the encoder."""
    c = space(n_wires, n_blocks, encoder=encoder).circuit()
    c.name = f"zz_ry_{n_blocks}"
    return c
