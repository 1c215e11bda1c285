"""QuantumNAS's U3+CU3 circuits: ``build`` is the human-designed baseline (an input encoder, then blocks of U3 on
every wire and a CU3 ring); ``space`` is the design space the search picks subcircuits from."""

import qml
import qml.search


def build(n_wires: int = 4, n_blocks: int = 2, encoder: str = "4x4_ryzxy") -> qml.Circuit:
    c = qml.Circuit(n_wires, name=f"u3cu3_{n_blocks}")
    c.encode(encoder)
    for _ in range(n_blocks):
        c.layer("u3")
        c.ring("cu3")
    return c


def space(n_wires: int = 4, n_blocks: int = 8, variant: str = "front", encoder: str = "4x4_ryzxy",
          two_qubit_gate: str | None = None) -> qml.search.DesignSpace:
    """QuantumNAS's U3+CU3 space (TorchQuantum ``u3cu3_s0`` / ``u3cu3_a0``, 8 blocks in the HPCA'22 artifact):
    every block is U3 on each wire, then CU3 on the ring (i, i+1 mod n). The CU3 ring is this space's own
    two-qubit layer, so ``two_qubit_gate`` may only be None or "cu3"."""
    if two_qubit_gate not in (None, "cu3"):
        raise qml.InputError(f"design space u3cu3 entangles with trainable CU3; two_qubit_gate={two_qubit_gate!r} "
                             "applies to the ibm_basis and rxyz spaces")
    s = qml.search.DesignSpace("u3cu3", n_wires, n_blocks, variant=variant, encoder=encoder)
    return s.layer("u3").layer("cu3", "ring")
