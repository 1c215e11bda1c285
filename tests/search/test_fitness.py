"""Fitness of a candidate with the SuperCircuit's inherited angles: the noise-free outputs attenuated by each wire's
estimated success rate and read out through its confusion (esr), or the accuracy of the candidate run on an executor
made for its layout (torch, aer). The oracles are qiskit's: ``Statevector`` for noise-free outputs and qiskit-aer's
density-matrix method, with the noise model's Pauli channels and readout, for the torch executor's."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import qml
from qml.backends import make_executor
from qml.noise import NoiseModel, load_snapshot
from qml.search.fitness import FitnessFunction
from qml.search.loader import load_space
from qml.search.supercircuit import SuperCircuit
from tests.reference import error_free, noisy_reference_z, read_out, reference_z, theta_of

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
    """Per wire: the product of (1 - error) over the noise channels of the ops and routing SWAPs that touch it."""
    survive = [1.0] * circuit.n_wires
    for channel in noise.channels(circuit) + [m for moved in noise.moves(circuit) for m in moved]:
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


def seeded(space, seed: int = 0) -> SuperCircuit:
    torch.manual_seed(seed)
    return SuperCircuit(space, 4)


def accuracy(z: np.ndarray, y: torch.Tensor, n_classes: int = 4) -> float:
    """The classifier's accuracy from ⟨Z⟩ by hand: the predicted class is the wire with the largest ⟨Z⟩."""
    return float((np.argmax(z[:, :n_classes], 1) == y.numpy()).mean())


def torch_on_quito(layout):
    return make_executor("torch:ibm_quito", layout=layout)


class Recorder:
    """An executor factory that makes itself the executor: it returns fixed ⟨Z⟩ and records each call's layout
    and shots."""

    def __init__(self, z: torch.Tensor) -> None:
        self.z, self.layout, self.calls = z, None, []

    def __call__(self, layout) -> Recorder:
        self.layout = tuple(layout)
        return self

    def expectations(self, module, x, shots=None) -> torch.Tensor:
        self.calls.append((self.layout, shots))
        return self.z


def test_esr_fitness_reads_the_attenuated_outputs_through_each_wires_readout(space, quito, x):
    sc, layout = SuperCircuit(space, 4), (3, 1, 0, 2)
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(3))
    model, noise = sc.subnet(GENE), NoiseModel(quito, layout, 1.0)
    survive = _survival(noise, model.qmodule.circuit)
    with torch.no_grad():
        p0 = (1 + model.qmodule(x) * torch.tensor(survive, dtype=torch.float64)) / 2  # P(0) per wire, attenuated
        # [prepared, measured], of the qubit each wire is measured on
        m = torch.tensor(np.array([quito.readout_confusion(q) for q in noise.routing(model.qmodule.circuit).final]))
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
    # noise-free accuracy 1: only the noise can lower it; tripled, so that it shows on 40 inputs
    fitness = FitnessFunction("esr", quito, x, y, noise_factor=3.0)
    worse, better = fitness(sc, GENE, noisy), fitness(sc, GENE, clean)
    assert worse.success_rate < better.success_rate
    assert worse.value < better.value


def test_esr_fitness_on_an_error_free_device_is_the_noise_free_accuracy_from_qiskit_statevector(space, quito, x):
    sc, layout = seeded(space, 4), (3, 1, 0, 2)
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(5))
    model = sc.subnet(GENE)
    expected = accuracy(reference_z(model.qmodule.circuit, theta_of(model.qmodule), x.numpy()), y)
    assert 0 < expected < 1  # random labels: a wrong output would show
    f = FitnessFunction("esr", error_free(quito), x, y)(sc, GENE, layout)
    assert f.value == pytest.approx(expected) and f.accuracy == pytest.approx(expected)
    assert f.success_rate == 1.0


def test_noise_factor_scales_every_channel_error_of_the_esr_fitness(quito, x):
    space = load_space("u3cu3", n_blocks=4)
    sc, layout = seeded(space, 6), (3, 1, 0, 2)
    gene = space.largest()
    model = sc.subnet(gene)
    circuit = model.qmodule.circuit
    z = reference_z(circuit, theta_of(model.qmodule), x.numpy())
    y = torch.tensor(np.argmax(z[:, :4], 1))  # noise-free accuracy 1
    noise = NoiseModel(quito, layout, 1.0)
    errors = [(ch.wires, ch.error) for ch in noise.channels(circuit) + [m for ms in noise.moves(circuit) for m in ms]]
    confusion = [quito.readout_confusion(q) for q in noise.routing(circuit).final]  # where each wire is measured
    values = []
    for factor in (0.0, 0.5, 1.0, 4.0):
        survive = [math.prod(1 - min(1.0, factor * e) for wires, e in errors if w in wires) for w in range(4)]
        expected = accuracy(read_out((1 - z * np.array(survive)) / 2, confusion), y)
        f = FitnessFunction("esr", quito, x, y, noise_factor=factor)(sc, gene, layout)
        assert f.value == pytest.approx(expected), factor
        assert f.success_rate == pytest.approx(math.prod(survive)), factor
        values.append(f.value)
    assert values == sorted(values, reverse=True) and values[0] > values[-1]  # the factor shows in the fitness


def test_torch_fitness_is_the_accuracy_from_an_aer_density_matrix_with_the_devices_noise_channels(quito, x):
    space = load_space("u3cu3", n_blocks=3)
    sc, gene, layout = seeded(space, 7), space.largest(), (3, 1, 0, 2)  # 24 gates: noisy, yet far from chance
    model = sc.subnet(gene)
    circuit, theta = model.qmodule.circuit, theta_of(model.qmodule)
    y = torch.tensor(np.argmax(reference_z(circuit, theta, x.numpy())[:, :4], 1))  # noise-free accuracy 1
    noise = NoiseModel(quito, layout, 1.0)
    before = [[(ch.wires, ch.table, ch.damping) for ch in at] for at in noise.moves(circuit)]
    z = noisy_reference_z(circuit, theta, x.numpy(), [(ch.table, ch.damping) for ch in noise.channels(circuit)],
                          noise.confusion(circuit), before)
    expected = accuracy(z, y)
    assert 0.25 < expected < 1  # the noise changes predictions, not all of them
    f = FitnessFunction("torch", quito, x, y, executor=torch_on_quito)(sc, gene, layout)
    assert f.accuracy == 1.0
    assert f.value == pytest.approx(expected)


@pytest.mark.parametrize("kind,shots", [("torch", None), ("aer", 500)])
def test_fitness_runs_the_candidate_on_an_executor_made_for_its_layout_with_shots_only_for_aer(
        space, quito, x, kind, shots):
    sc, layout = seeded(space, 8), (3, 1, 0, 2)
    z = torch.tensor(np.random.default_rng(9).uniform(-1, 1, (len(x), 4)), dtype=torch.float32)
    y = torch.randint(0, 4, (len(x),), generator=torch.Generator().manual_seed(10))
    factory = Recorder(z)
    f = FitnessFunction(kind, quito, x, y, shots=500, executor=factory)(sc, GENE, layout)
    assert factory.calls == [(layout, shots)]
    assert f.value == pytest.approx(accuracy(z.numpy(), y))


@pytest.mark.parametrize("kind", ["torch", "aer"])
def test_torch_and_aer_fitness_without_an_executor_factory_is_an_input_error(quito, x, kind):
    with pytest.raises(qml.InputError, match=f"fitness '{kind}' runs candidates on an executor: pass executor="):
        FitnessFunction(kind, quito, x, torch.zeros(len(x), dtype=torch.long))


def test_unknown_fitness_kind_is_an_input_error(quito, x):
    with pytest.raises(qml.InputError, match="unknown fitness 'exact': expected one of esr, esr_routed, torch, aer"):
        FitnessFunction("exact", quito, x, torch.zeros(len(x), dtype=torch.long))
