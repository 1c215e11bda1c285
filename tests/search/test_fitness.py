"""Fitness of a candidate with the SuperCircuit's inherited angles: the noise-free outputs attenuated by each wire's
estimated success rate and read out through its confusion (esr), or the accuracy under the device's noise
(torch)."""

from __future__ import annotations

import itertools
import math

import numpy as np
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


def _survival(noise: NoiseModel, circuit) -> list[float]:
    """Per wire: the product of (1 - error) over the noise channels of the ops that touch it."""
    survive = [1.0] * circuit.n_wires
    for channel in noise.channels(circuit):
        for w in channel.wires:
            survive[w] *= 1.0 - channel.error
    return survive


def _routed(quito, module, layout) -> tuple[list[int], dict[int, float]]:
    """Where each logical wire ends (qiskit's final layout) and each physical qubit's product of (1 - error)
    over the routed gates, from an independent transpile of the bound circuit."""
    from qiskit import transpile

    from qml.device.target import to_target

    qc = qml.to_qiskit(module.circuit, theta=module.theta.detach().double().numpy())
    out = transpile(qc, target=to_target(quito), initial_layout=list(layout), optimization_level=1,
                    seed_transpiler=0)
    final = out.layout.final_index_layout()
    survive: dict[int, float] = {}
    for inst in out.data:
        qubits = [out.find_bit(q).index for q in inst.qubits]
        error = quito.gate(inst.operation.name, qubits).error or 0.0 if inst.operation.name != "rz" else 0.0
        for q in qubits:
            survive[q] = survive.get(q, 1.0) * (1.0 - error)
    return final, survive


def test_esr_fitness_reads_the_attenuated_outputs_through_each_wires_readout(space, quito, x):
    sc, layout = SuperCircuit(space, 4), (3, 1, 0, 2)
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(3))
    model, noise = sc.subnet(GENE), NoiseModel(quito, layout, 1.0)
    survive = _survival(noise, model.qmodule.circuit)
    with torch.no_grad():
        p0 = (1 + model.qmodule(x) * torch.tensor(survive, dtype=torch.float64)) / 2  # P(0) per wire, attenuated
        m = torch.tensor(np.array([quito.readout_confusion(q) for q in layout]))  # [prepared, measured]
        read0 = p0 * m[:, 0, 0] + (1 - p0) * m[:, 1, 0]
        expected = float((model.head((2 * read0 - 1).to(model.qmodule.theta.dtype)).argmax(1) == y).float().mean())
        clean = float((model(x).argmax(1) == y).float().mean())
    f = FitnessFunction("esr", quito, x, y)(sc, GENE, layout)
    assert f.value == pytest.approx(expected) and f.accuracy == pytest.approx(clean)
    assert f.success_rate == pytest.approx(math.prod(survive)) and 0 < f.success_rate < 1


def test_routed_esr_reads_the_attenuated_outputs_through_the_readout_of_the_qubit_each_wire_ends_on(
        space, quito, x):
    sc, layout = SuperCircuit(space, 4), (3, 1, 0, 2)  # a ring on Quito's T needs routing
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(3))
    model = sc.subnet(GENE)
    final, routed = _routed(quito, model.qmodule, layout)
    survive = [routed.get(q, 1.0) for q in final]
    with torch.no_grad():
        p0 = (1 + model.qmodule(x) * torch.tensor(survive, dtype=torch.float64)) / 2  # P(0) per wire, attenuated
        m = torch.tensor(np.array([quito.readout_confusion(q) for q in final]))  # [prepared, measured]
        read0 = p0 * m[:, 0, 0] + (1 - p0) * m[:, 1, 0]
        expected = float((model.head((2 * read0 - 1).to(model.qmodule.theta.dtype)).argmax(1) == y).float().mean())
        clean = float((model(x).argmax(1) == y).float().mean())
    f = FitnessFunction("esr_routed", quito, x, y)(sc, GENE, layout)
    assert f.value == pytest.approx(expected) and f.accuracy == pytest.approx(clean)
    assert f.success_rate == pytest.approx(math.prod(survive)) and 0 < f.success_rate < 1


def test_esr_fitness_of_a_deep_gene_falls_below_its_noise_free_accuracy(quito, x):
    space = load_space("u3cu3", n_blocks=8)
    sc, gene = SuperCircuit(space, 4), space.largest()  # 64 gates
    f = FitnessFunction("esr", quito, x, _predictions(sc, gene, x))(sc, gene, (0, 1, 2, 3))
    assert f.accuracy == 1.0 and 0 <= f.value < 1.0


def test_a_layout_on_noisier_qubits_lowers_the_esr_fitness(space, quito, x):
    sc = SuperCircuit(space, 4)
    y = _predictions(sc, GENE, x)
    circuit = space.circuit(GENE)
    rate = {layout: NoiseModel(quito, layout, 1.0).success_rate(circuit)
            for layout in itertools.permutations(range(quito.num_qubits), 4)}
    noisy, clean = min(rate, key=rate.get), max(rate, key=rate.get)
    assert rate[noisy] < rate[clean]
    fitness = FitnessFunction("esr", quito, x, y)  # noise-free accuracy 1: only the noise can lower it
    worse, better = fitness(sc, GENE, noisy), fitness(sc, GENE, clean)
    assert worse.success_rate < better.success_rate
    assert worse.value < better.value


def test_torch_fitness_is_the_accuracy_under_the_devices_noise(quito, x):
    space = load_space("u3cu3", n_blocks=8)
    sc, gene = SuperCircuit(space, 4), space.largest()  # deep: 64 gates
    y = _predictions(sc, gene, x)
    f = FitnessFunction("torch", quito, x, y)(sc, gene, (0, 1, 2, 3))
    assert f.accuracy == 1.0
    assert 0 <= f.value < 1.0


def test_unknown_fitness_kind_is_an_input_error(quito, x):
    with pytest.raises(qml.InputError, match="unknown fitness 'exact': expected one of esr, esr_routed, torch, aer"):
        FitnessFunction("exact", quito, x, torch.zeros(len(x), dtype=torch.long))
