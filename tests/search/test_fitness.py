"""Fitness of a candidate with the SuperCircuit's inherited angles: accuracy discounted by the estimated success
rate (esr), or measured under the device's noise (torch)."""

from __future__ import annotations

import itertools

import pytest
import torch

import qml
from qml.noise import NoiseModel, load_snapshot
from qml.search.fitness import FitnessFunction
from qml.search.loader import load_space
from qml.search.supercircuit import SuperCircuit

GENE = (2, 3, 2, 4, 1)  # u3cu3 with 2 blocks


@pytest.fixture(scope="module")
def quito():
    return load_snapshot("ibm_quito")


@pytest.fixture(scope="module")
def space():
    return load_space("u3cu3", n_blocks=2)


@pytest.fixture(scope="module")
def x():
    return torch.rand(40, 16, generator=torch.Generator().manual_seed(2)) * torch.pi


def _predictions(sc: SuperCircuit, gene, x) -> torch.Tensor:
    """Labels the subcircuit gets all right without noise (noise-free accuracy 1)."""
    sc.gene = gene
    with torch.no_grad():
        return sc(x).argmax(1)


def test_esr_fitness_discounts_the_accuracy_by_the_success_rate(space, quito, x):
    sc, layout = SuperCircuit(space, 4), (3, 1, 0, 2)
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(3))
    accuracy = float((_predictions(sc, GENE, x) == y).float().mean())
    esr = NoiseModel(quito, layout, 1.0).success_rate(space.circuit(GENE))
    f = FitnessFunction("esr", quito, x, y)(sc, GENE, layout)
    assert f.accuracy == pytest.approx(accuracy) and f.success_rate == pytest.approx(esr)
    assert f.value == pytest.approx(esr * accuracy + (1 - esr) / 4)
    assert 0 < esr < 1


def test_a_layout_on_noisier_qubits_lowers_the_esr_fitness(space, quito, x):
    sc = SuperCircuit(space, 4)
    y = _predictions(sc, GENE, x)
    circuit = space.circuit(GENE)
    rate = {layout: NoiseModel(quito, layout, 1.0).success_rate(circuit)
            for layout in itertools.permutations(range(quito.num_qubits), 4)}
    noisy, clean = min(rate, key=rate.get), max(rate, key=rate.get)
    assert rate[noisy] < rate[clean]
    fitness = FitnessFunction("esr", quito, x, y)
    assert fitness(sc, GENE, noisy).value < fitness(sc, GENE, clean).value


def test_torch_fitness_is_the_accuracy_under_the_devices_noise(quito, x):
    space = load_space("u3cu3", n_blocks=8)
    sc, gene = SuperCircuit(space, 4), space.largest()  # deep: 64 gates
    y = _predictions(sc, gene, x)
    f = FitnessFunction("torch", quito, x, y)(sc, gene, (0, 1, 2, 3))
    assert f.accuracy == 1.0
    assert 0 <= f.value < 1.0


def test_unknown_fitness_kind_is_an_input_error(quito, x):
    with pytest.raises(qml.InputError, match="unknown fitness 'exact': expected one of esr, torch, aer"):
        FitnessFunction("exact", quito, x, torch.zeros(len(x), dtype=torch.long))
