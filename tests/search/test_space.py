"""Built-in design spaces: both variants load, their layers hold the expected gates, subcircuits share the
SuperCircuit's angles and simulate like qiskit's Statevector of their export."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

import qml
from qml.circuit.library import load_circuit
from qml.search.loader import load_space, space_names

# (default n_blocks, layers of one block as (gate, slots) on 4 wires)
SPACES = {
    "u3cu3": (8, [("u3", 4), ("cu3", 4)]),
    "zz_ry": (8, [("rzz", 4), ("ry", 4)]),
    "rxyz": (8, [("rx", 4), ("ry", 4), ("rz", 4), ("cz", 3)]),
    "zx_xx": (8, [("rzx", 4), ("rxx", 4)]),
    "ibm_basis": (20, [("rz", 4), ("x", 4), ("rz", 4), ("sx", 4), ("rz", 4), ("cx", 4)]),
}
VARIANTS = ("front", "arbitrary")
N_ENCODER = 16  # 4x4_ryzxy


def _kept(space, gene):
    """(block, layer, slot) of every op after the encoder, in circuit order."""
    return [(b, li, j) for b in range(gene[0]) for li in range(len(space.layers))
            for j in space.kept_slots(gene, b, li)]


def _ops_by_slot(space, gene):
    c = space.circuit(gene)
    return dict(zip(_kept(space, gene), c.ops[N_ENCODER:], strict=True))


def test_builtin_spaces_are_listed():
    assert sorted(space_names()) == sorted(SPACES)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(SPACES))
def test_largest_gene_holds_every_layer_of_every_block(name, variant):
    n_blocks, layers = SPACES[name]
    space = load_space(name, variant=variant)
    assert (space.name, space.variant, space.n_wires, space.n_blocks) == (name, variant, 4, n_blocks)
    assert [(layer.gate, len(layer.slots)) for layer in space.layers] == layers
    c = space.circuit(space.largest())
    assert [op.gate for op in c.ops[:N_ENCODER]] == ["ry"] * 4 + ["rz"] * 4 + ["rx"] * 4 + ["ry"] * 4
    expected = [gate for _ in range(n_blocks) for gate, n in layers for _ in range(n)]
    assert [op.gate for op in c.ops[N_ENCODER:]] == expected
    assert c.n_trainable == space.n_trainable == n_blocks * sum(
        n * qml.circuit.GATES[gate].num_params for gate, n in layers)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(SPACES))
def test_random_genes_are_valid_and_index_inside_the_shared_angles(name, variant):
    space = load_space(name, variant=variant)
    rng = random.Random(3)
    for _ in range(20):
        gene = space.random_gene(rng)
        assert space.check_gene(gene) == gene
        c = space.circuit(gene)
        assert c.n_trainable == space.n_trainable
        refs = [p.index for op in c.ops for p in op.params if p.kind == "trainable"]
        assert all(0 <= i < space.n_trainable for i in refs)
        assert len(c.ops) == N_ENCODER + space.gates_used(gene)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(SPACES))
def test_two_genes_share_the_angles_of_their_common_slots(name, variant):
    space = load_space(name, variant=variant, n_blocks=3)
    rng = random.Random(11)
    largest = _ops_by_slot(space, space.largest())
    for _ in range(5):
        a, b = _ops_by_slot(space, space.random_gene(rng)), _ops_by_slot(space, space.random_gene(rng))
        for key in a.keys() & b.keys():
            assert a[key] == b[key] == largest[key]
    indices = [p.index for op in largest.values() for p in op.params]
    assert sorted(indices) == list(range(space.n_trainable))  # every slot has angles of its own


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(SPACES))
def test_subcircuit_statevector_equals_qiskit_of_its_export(name, variant):
    space = load_space(name, variant=variant, n_blocks=3)
    rng, nprng = random.Random(5), np.random.default_rng(5)
    for _ in range(2):
        c = space.circuit(space.random_gene(rng))
        m = qml.QuantumModule(c, dtype=torch.complex128)
        theta = m.theta.detach().numpy()
        x = nprng.uniform(-np.pi, np.pi, c.n_inputs)
        ours = m.statevector(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(ours, Statevector(qml.to_qiskit(c, theta, x)).data, atol=1e-10)


@pytest.mark.parametrize("gate", ["cx", "ecr", "cz"])
def test_ibm_basis_entangles_with_the_given_native_gate(gate):
    space = load_space("ibm_basis", two_qubit_gate=gate, n_blocks=2)
    counts = space.circuit(space.largest()).count_ops()
    two_qubit = {g: n for g, n in counts.items() if qml.circuit.GATES[g].num_qubits == 2}
    assert two_qubit == {gate: 8}
    assert counts["rz"] == 4 + 2 * 12 and counts["x"] == counts["sx"] == 8
    trainable = [op.gate for op in space.circuit().ops[N_ENCODER:] if op.params]
    assert set(trainable) == {"rz"}


def test_ibm_basis_rejects_a_non_native_gate():
    with pytest.raises(qml.CircuitError, match=r"ibm_basis\.py:\d+: .*two_qubit_gate must be one of cx, cz, ecr"):
        load_space("ibm_basis", two_qubit_gate="cu3")


def test_rxyz_takes_its_entangler_from_the_option():
    space = load_space("rxyz", two_qubit_gate="cx", n_wires=5, n_blocks=1)
    assert space.layers[-1].gate == "cx"
    assert space.layers[-1].slots == ((0, 1), (2, 3), (1, 2), (3, 4))


@pytest.mark.parametrize("name", ["u3cu3", "zz_ry", "zx_xx"])
def test_spaces_with_trainable_entanglers_reject_two_qubit_gate(name):
    with pytest.raises(qml.CircuitError, match="applies to the ibm_basis and rxyz spaces"):
        load_space(name, two_qubit_gate="cx")


@pytest.mark.parametrize("name", sorted(SPACES))
def test_every_space_file_also_builds_its_human_design(name):
    layers = SPACES[name][1]
    c = load_circuit(name, n_blocks=2)
    assert c.n_wires == 4 and c.n_inputs == 16
    assert len(c) == N_ENCODER + 2 * sum(n for _, n in layers)
