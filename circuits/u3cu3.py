"""QuantumNAS's human-designed baseline: an input encoder, then blocks of U3 on every wire and a CU3 ring."""

import qml


def build(n_wires: int = 4, n_blocks: int = 2, encoder: str = "4x4_ryzxy") -> qml.Circuit:
    c = qml.Circuit(n_wires, name=f"u3cu3_{n_blocks}")
    c.encode(encoder)
    for _ in range(n_blocks):
        c.layer("u3")
        c.ring("cu3")
    return c
