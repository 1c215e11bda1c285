"""Design spaces (QuantumNAS): an encoder, then up to ``n_blocks`` blocks of layers; a layer is one gate type on
a pattern of wire slots (every wire, a ring, a chain, or given pairs). The full circuit with every slot is the
*SuperCircuit*; a *gene* picks a subcircuit that shares the SuperCircuit's trainable angles:

    gene = (blocks used, then for every block and layer: how many slots are kept)

with ``variant="front"`` (share-front: a layer keeps its first k slots, k = 1..n) or ``variant="arbitrary"``
(a layer keeps any non-empty subset of its slots, stored as a bit mask 1..2^n - 1). A design-space file in
``circuits/`` is plain Python building one of these::

    def space(n_wires=4, n_blocks=8, variant="front", encoder="4x4_ryzxy"):
        space = qml.search.DesignSpace("u3cu3", n_wires, n_blocks, variant=variant, encoder=encoder)
        return space.layer("u3").layer("cu3", "ring")
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from qml.circuit.circuit import Circuit, Op
from qml.circuit.gates import GATES, gate_def
from qml.circuit.params import ParamRef
from qml.errors import InputError

PATTERNS = ("each", "ring", "chain", "pairs")
Gene = tuple[int, ...]


@dataclass(frozen=True)
class Layer:
    gate: str
    slots: tuple[tuple[int, ...], ...]  # wires of each gate the layer can hold


class DesignSpace:
    def __init__(self, name: str, n_wires: int, n_blocks: int, *, variant: str = "front",
                 encoder: str | None = "4x4_ryzxy") -> None:
        if not isinstance(n_wires, int) or n_wires < 1:
            raise InputError(f"design space {name!r}: n_wires must be a positive integer, got {n_wires!r}")
        if not isinstance(n_blocks, int) or n_blocks < 1:
            raise InputError(f"design space {name!r}: n_blocks must be a positive integer, got {n_blocks!r}")
        if variant not in ("front", "arbitrary"):
            raise InputError(f"design space {name!r}: variant must be 'front' or 'arbitrary', got {variant!r}")
        self.name, self.n_wires, self.n_blocks, self.variant, self.encoder = name, n_wires, n_blocks, variant, encoder
        self.layers: list[Layer] = []

    def __repr__(self) -> str:
        layers = ", ".join(f"{layer.gate}x{len(layer.slots)}" for layer in self.layers)
        return (f"DesignSpace({self.name!r}, wires={self.n_wires}, blocks={self.n_blocks}, variant={self.variant}, "
                f"layers=[{layers}])")

    # -- building ------------------------------------------------------------------------------------
    def layer(self, gate: str, pattern: str = "each", pairs: Sequence[tuple[int, int]] | None = None) -> DesignSpace:
        """Add a layer of ``gate`` on every wire (``each``), a ``ring`` (i, i+1 mod n), a ``chain`` (i, i+1) or
        explicit ``pairs``."""
        try:
            g = gate_def(gate)
        except KeyError:
            raise InputError(f"design space {self.name!r}: unknown gate {gate!r}") from None
        n = self.n_wires
        if pattern not in PATTERNS:
            raise InputError(f"design space {self.name!r}: pattern must be one of {', '.join(PATTERNS)}, "
                             f"got {pattern!r}")
        if g.num_qubits == 1:
            if pattern != "each":
                raise InputError(f"design space {self.name!r}: one-qubit gate {g.name} takes pattern 'each'")
            slots = tuple((w,) for w in range(n))
        elif g.num_qubits == 2:
            if pattern == "ring":
                slots = tuple((i, (i + 1) % n) for i in range(n)) if n > 2 else ((0, 1),)
            elif pattern == "chain":
                slots = tuple((i, i + 1) for i in range(n - 1))
            elif pattern == "pairs":
                slots = tuple(tuple(p) for p in pairs or ())
                bad = [p for p in slots if len(p) != 2 or p[0] == p[1] or not all(0 <= w < n for w in p)]
                if bad or not slots:
                    raise InputError(f"design space {self.name!r}: bad pairs {bad or 'none given'}")
            else:
                raise InputError(f"design space {self.name!r}: two-qubit gate {g.name} needs ring, chain or pairs")
            if n < 2:
                raise InputError(f"design space {self.name!r}: two-qubit gate {g.name} needs 2 or more wires")
        else:
            raise InputError(f"design space {self.name!r}: gates of {g.num_qubits} qubits are not supported")
        if self.variant == "arbitrary" and len(slots) > 20:
            raise InputError(f"design space {self.name!r}: arbitrary layers hold at most 20 slots")
        self.layers.append(Layer(g.name, slots))
        return self

    # -- genes ---------------------------------------------------------------------------------------
    @property
    def gene_length(self) -> int:
        return 1 + self.n_blocks * len(self.layers)

    def choices(self, position: int) -> range:
        """Values allowed at ``position`` of a gene."""
        if position == 0:
            return range(1, self.n_blocks + 1)
        n = len(self.layers[(position - 1) % len(self.layers)].slots)
        return range(1, n + 1) if self.variant == "front" else range(1, 2**n)

    def largest(self) -> Gene:
        return tuple(max(self.choices(i)) for i in range(self.gene_length))

    def gene_of(self, circuit: Circuit) -> Gene | None:
        """The gene whose circuit is ``circuit`` (same gates on the same wires, in order) among the genes that keep
        every slot of their blocks — a human design of the space's own shape, like u3cu3's ``build()`` — or None
        when ``circuit`` is not one of them."""
        ops = [(op.gate, op.wires) for op in circuit.ops]
        for blocks in self.choices(0):
            gene = (blocks, *self.largest()[1:])
            if [(op.gate, op.wires) for op in self.circuit(gene).ops] == ops:
                return gene
        return None

    def random_gene(self, rng: random.Random) -> Gene:
        return tuple(rng.choice(self.choices(i)) for i in range(self.gene_length))

    def check_gene(self, gene: Sequence[int]) -> Gene:
        gene = tuple(int(v) for v in gene)
        if len(gene) != self.gene_length:
            raise InputError(f"gene {list(gene)} has {len(gene)} values, design space {self.name!r} needs "
                             f"{self.gene_length}")
        for i, v in enumerate(gene):
            if v not in self.choices(i):
                raise InputError(f"gene {list(gene)}: value {v} at position {i} is outside {self.choices(i)}")
        return gene

    def kept_slots(self, gene: Gene, block: int, layer: int) -> list[int]:
        value = gene[1 + block * len(self.layers) + layer]
        n = len(self.layers[layer].slots)
        return list(range(value)) if self.variant == "front" else [j for j in range(n) if value >> j & 1]

    def fingerprint(self, gene: Gene, layout: Sequence[int] | None = None) -> str:
        text = f"{self.name}|{self.variant}|{self.n_wires}|{list(gene)}|{list(layout) if layout else ''}"
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    # -- circuits ------------------------------------------------------------------------------------
    def _slot_index(self) -> list[list[list[int]]]:
        """First trainable index of every (block, layer, slot) in the SuperCircuit."""
        index, out = 0, []
        for _ in range(self.n_blocks):
            block = []
            for layer in self.layers:
                starts = []
                for _slot in layer.slots:
                    starts.append(index)
                    index += GATES[layer.gate].num_params
                block.append(starts)
            out.append(block)
        return out

    @property
    def n_trainable(self) -> int:
        return sum(GATES[layer.gate].num_params * len(layer.slots) for layer in self.layers) * self.n_blocks

    def circuit(self, gene: Gene | None = None) -> Circuit:
        """The subcircuit of ``gene`` (the SuperCircuit when None); its angles index the SuperCircuit's
        trainable slots, so every subcircuit shares one weight vector of length ``n_trainable``."""
        gene = self.largest() if gene is None else self.check_gene(gene)
        c = Circuit(self.n_wires, name=f"{self.name}:{'-'.join(map(str, gene))}")
        if self.encoder:
            c.encode(self.encoder)
        c.trainable_init = [None] * self.n_trainable
        starts = self._slot_index()
        for b in range(gene[0]):
            for li, layer in enumerate(self.layers):
                k = GATES[layer.gate].num_params
                for j in self.kept_slots(gene, b, li):
                    first = starts[b][li][j]
                    refs = tuple(ParamRef("trainable", first + t) for t in range(k))
                    c.append(Op(layer.gate, layer.slots[j], refs))
        return c

    def gates_used(self, gene: Gene) -> int:
        return sum(len(self.kept_slots(gene, b, li)) for b in range(gene[0]) for li in range(len(self.layers)))
