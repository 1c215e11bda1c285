"""Training-free ranking of candidate circuits, in the spirit of Élivágar (Anagolum et al., "Élivágar: Efficient
Quantum Circuit Search for Classification", ASPLOS 2024): no SuperCircuit, no training; each candidate (a gene of
the design space on a connected region of the device) is scored by two quantities computed in milliseconds.

- **Clifford noise resilience** (``clifford_noise_resilience``): the candidate's gates are replaced by random
  Clifford gates (each 1-qubit gate by a U3 whose angles are random multiples of pi/2, each 2-qubit gate by a CX on
  its wires), and the output distributions of these replicas with and without the candidate's own noise — qml's
  routing-aware noise model: each gate's channel where it lands, the SWAPs, the readout — are compared. The score
  is 1 - the mean total-variation distance over the replicas. Clifford replicas keep the circuit's structure and
  its noise but not its angles, so the score says how much the device corrupts *this* circuit's outputs whatever
  it learns. All replicas run as one batch of an exact density matrix (their angles are the batch's inputs).
- **Representational capacity** (``representational_capacity``): with random angles, how well the outputs of a
  few training inputs per class separate the classes: the fidelity of the read-out wires' measured distributions
  for every pair of inputs, thresholded at its mean, averaged over angle draws, and compared with the "same class"
  matrix (errors across classes weighted by 1 / (classes - 1), as the classes outnumber the pairs within one).

The candidate's score is ``capacity x resilience ** noise_weight`` (Élivágar's composite with its default weight
0.5); only the best few are then trained, like the finalists of any search (``qml.runs.search``)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import torch

from qml.circuit.circuit import Circuit, Op
from qml.circuit.params import ParamRef
from qml.errors import InputError


@dataclass(frozen=True)
class TrainFreeConfig:
    """Budgets of the training-free strategy: ``candidates`` drawn and scored; ``replicas`` Clifford replicas per
    candidate (Élivágar: 32); ``samples_per_class`` training inputs per class and ``angle_draws`` random angle
    sets for the capacity; ``noise_weight`` the exponent of the resilience in the score; ``size_tolerance`` how
    far (a share) a candidate's number of trainable gates may stray from the human design's. Élivágar generates
    circuits of a given parameter count: without that, the resilience, which falls with every gate, ranks the
    smallest circuits first whatever they can learn (measured: 4-gate winners, 0.50 on mnist4 against 0.70)."""

    candidates: int = 256
    replicas: int = 32
    samples_per_class: int = 8
    angle_draws: int = 16
    noise_weight: float = 0.5
    size_tolerance: float = 0.25

    ADDED_LATER = ("size_tolerance",)

    def __post_init__(self) -> None:
        for name in ("candidates", "replicas", "samples_per_class", "angle_draws"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"train_free.{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.noise_weight, (int, float)) and math.isfinite(self.noise_weight)
                and self.noise_weight >= 0):
            raise InputError(f"train_free.noise_weight must be >= 0 and finite, got {self.noise_weight!r}")
        if not (isinstance(self.size_tolerance, (int, float)) and 0 <= self.size_tolerance <= 10):
            raise InputError(f"train_free.size_tolerance must be in [0, 10], got {self.size_tolerance!r}")


# -- Clifford noise resilience ---------------------------------------------------------------------------------
def clifford_replica_circuit(circuit: Circuit) -> Circuit:
    """The circuit's structure with Clifford stand-ins: each 1-qubit op a U3 whose three angles are inputs (fed
    multiples of pi/2 to make it Clifford), each 2-qubit op a CX on its wires; a 3-qubit op (``ccx``, ``cswap``:
    no angles) stays as it is."""
    out = Circuit(circuit.n_wires, name=f"{circuit.name}-clifford")
    inputs = 0
    for op in circuit.ops:
        if len(op.wires) == 1:
            out.append(Op("u3", op.wires, tuple(ParamRef("input", inputs + t) for t in range(3))))
            inputs += 3
        elif len(op.wires) == 2:
            out.append(Op("cx", op.wires, ()))
        else:
            out.append(Op(op.gate, op.wires, op.params))
    out._n_inputs = inputs
    return out


def clifford_noise_resilience(circuit: Circuit, noise, replicas: int, rng: np.random.Generator) -> float:
    """1 - mean total-variation distance between the noisy and noise-free output distributions of ``replicas``
    random Clifford replicas of ``circuit``, under ``noise`` (a ``qml.noise.NoiseModel``) as placed for
    ``circuit`` itself (same routing, same channels, same readout)."""
    from qml.sim import QuantumModule
    from qml.sim.density import DensityMatrix, readout_probabilities
    from qml.sim.measure import probabilities

    replica = clifford_replica_circuit(circuit)
    angles = torch.tensor(rng.integers(0, 4, (replicas, replica.n_inputs)) * (math.pi / 2), dtype=torch.float64)
    x = angles if replica.n_inputs else None
    theta = torch.zeros(0, dtype=torch.float64)
    noisy = DensityMatrix(replica).run(theta, x, noise.channels(circuit), before=noise.moves(circuit))
    p_noisy = readout_probabilities(noisy, circuit.n_wires, noise.confusion(circuit))
    with torch.no_grad():  # noise-free: a statevector is enough
        p_clean = probabilities(QuantumModule(replica).double().engine(theta, x))
    tvd = 0.5 * (p_noisy - p_clean).abs().sum(1)
    return float(1.0 - tvd.mean())


# -- representational capacity ---------------------------------------------------------------------------------
def balanced_samples(y: torch.Tensor, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of up to ``per_class`` inputs of each class, drawn without replacement, grouped by class."""
    picked = []
    for label in torch.unique(y).tolist():
        members = np.flatnonzero(y.cpu().numpy() == label)
        picked.append(rng.choice(members, min(per_class, len(members)), replace=False))
    return np.concatenate(picked)


def representational_capacity(circuit: Circuit, x: torch.Tensor, y: torch.Tensor, readout: int, angle_draws: int,
                              rng: np.random.Generator) -> float:
    """How well random-angle outputs of inputs ``x`` separate their classes ``y`` as the first ``readout`` wires
    are measured: 1 - mean((weight x (same class - thresholded similarity, averaged over angle draws))^2) over
    input pairs, the similarity of two inputs being the fidelity of their measured distributions on those wires.

    The measured distributions, not the reduced states: when every wire is read out, the overlap of two pure
    states does not depend on the trainable gates after the encoding (a unitary keeps overlaps), so a
    state-based score would rank every candidate of an encoder-first space the same."""
    from qml.sim import QuantumModule

    module = QuantumModule(circuit).double()
    x = x.to(torch.float64)
    n, count = circuit.n_wires, len(x)
    same = (y[:, None] == y[None, :]).to(torch.float64)
    classes = max(2, len(torch.unique(y)))
    weight = same + (1 - same) / (classes - 1)
    mean_thresholded = torch.zeros(count, count, dtype=torch.float64)
    for _ in range(angle_draws):
        theta = torch.tensor(rng.uniform(0, 2 * math.pi, module.theta.shape[0]), dtype=torch.float64)
        with torch.no_grad():
            state = module.engine(theta, x)  # (B, 2^n); wire 0 is the least significant bit
        psi = state.reshape(count, 1 << (n - readout), 1 << readout)  # [rest, read-out wires]
        root = (psi.abs() ** 2).sum(1).sqrt()  # square roots of the read-out wires' outcome probabilities
        similarity = (root @ root.T) ** 2  # classical fidelity of the measured distributions
        off = similarity[~torch.eye(count, dtype=torch.bool)]
        mean_thresholded += (similarity > off.mean() + 1e-12).to(torch.float64) / angle_draws  # not by rounding
    mean_thresholded.fill_diagonal_(1.0)
    return float(1.0 - ((weight * (same - mean_thresholded)) ** 2).mean())


# -- the strategy ------------------------------------------------------------------------------------------------
class TrainFreeScore:
    """Scores (gene, layout) candidates of ``space`` on ``device`` for a task: ``__call__`` returns the record the
    search stores (``fitness`` = the composite score, and its two parts)."""

    def __init__(self, space, device, x_train: torch.Tensor, y_train: torch.Tensor, n_classes: int,
                 config: TrainFreeConfig, seed: int, noise_factor: float = 1.0) -> None:
        self.space, self.device, self.config, self.seed = space, device, config, seed
        self.noise_factor, self.n_classes = noise_factor, n_classes
        index = balanced_samples(y_train, config.samples_per_class, np.random.default_rng(seed))
        self.x, self.y = x_train[index], y_train[index]

    def __call__(self, gene, layout) -> dict:
        from qml.noise import NoiseModel

        circuit = self.space.circuit(tuple(gene))
        rng = np.random.default_rng([self.seed, *layout, *gene])  # the same candidate always scores the same
        noise = NoiseModel(self.device, list(layout), self.noise_factor)
        resilience = clifford_noise_resilience(circuit, noise, self.config.replicas, rng)
        capacity = representational_capacity(circuit, self.x, self.y, self.n_classes, self.config.angle_draws, rng)
        score = capacity * max(resilience, 0.0) ** self.config.noise_weight
        return {"fitness": score, "clifford_noise_resilience": resilience, "representational_capacity": capacity,
                "gates": self.space.gates_used(tuple(gene))}


def score_candidates(space, layouts, score, candidates: int, store, seed: int, on_candidate=None, seeds=(),
                     gates: tuple[int, int] | None = None, evaluate_many=None):
    """Draw ``candidates`` distinct (gene, layout) candidates — ``seeds`` first (e.g. the human design on its best
    layout), then genes of ``space`` with ``gates[0]`` to ``gates[1]`` trainable gates (any number when None) on
    connected regions from ``layouts`` — score each once (``store`` keeps every score on disk, so a resumed search
    scores nothing twice) and return them, with their records, in the order drawn (fixed by ``seed``). With
    ``evaluate_many`` (candidates -> records, e.g. on Ray's workers) the ones not scored yet are scored together."""
    from qml.search.evolution import Candidate, native_pairs

    rng = random.Random(seed)
    drawn, seen = list(seeds)[:candidates], {space.fingerprint(c.gene, c.layout) for c in seeds}
    for _ in range(candidates * 200):
        if len(drawn) == candidates:
            break
        gene = space.random_gene(rng)
        if gates is not None and not gates[0] <= space.gates_used(gene) <= gates[1]:
            continue
        layout = layouts.random(rng)
        key = space.fingerprint(gene, layout)
        if key in seen or not layouts.valid(layout, native_pairs(space, gene)):
            continue
        seen.add(key)
        drawn.append(Candidate(gene, layout))
    if not drawn:
        raise InputError("found no candidate: no layout of the device fits the design space's native gates")
    if evaluate_many is not None:  # the draws do not depend on the scores: score them together
        store.fill(drawn, evaluate_many, "train-free")
    scored = []
    for c in drawn:
        store.fitness(c, lambda cand: score(cand.gene, cand.layout), "train-free")
        scored.append((c, store.records[space.fingerprint(c.gene, c.layout)]))
        if on_candidate is not None:
            on_candidate(scored[-1][1])
    return scored


__all__ = ["TrainFreeConfig", "TrainFreeScore", "balanced_samples", "clifford_noise_resilience",
           "clifford_replica_circuit", "representational_capacity", "score_candidates"]
