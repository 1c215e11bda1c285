"""Placing a circuit on a device: candidate layouts found as qiskit's VF2Layout / VF2PostLayout and mapomatic find
them, each transpiled to the device and ranked by its estimated success probability — the product of
``1 - error`` over the transpiled gates and ``1 - readout error`` over the measured qubits.

Candidates come from a routed seed circuit: the circuit transpiled on one embedding of its interaction graph when it
embeds in the coupling map (no swaps), else on the layouts qiskit's SabreLayout picks for a few seeds and, on small
devices, on one connected region of each shape. Every
embedding of the seed's physical interaction graph in the coupling map (rustworkx ``vf2_mapping``) moves the seed
to other qubits; those moves are pre-scored on the seed's gates (cheap, no transpile) and the best ``limit`` are
transpiled with ``Device.transpile`` and scored exactly.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import islice

import numpy as np

from qml.errors import NoiseError

SKIPPED = ("barrier", "delay")
PLACEHOLDER_SEED = 0  # the generic angles that stand in for untrained ones
SABRE_SEEDS = 4  # SabreLayout runs (seed_transpiler 0..3) when the circuit does not embed
MAX_MAPPINGS = 20_000  # embeddings of one seed pre-scored, at most
CALL_LIMIT = 2_000_000  # vf2 states visited per seed, at most
MAX_REGION_SCAN = 20_000  # regions are listed only where C(device qubits, wires) is at most this
MAX_REGIONS = 8  # region shapes seeded, at most


def placement_circuit(circuit, theta=None):
    """The qiskit circuit that is placed: trainable angles bound to ``theta``, or to fixed generic angles when it is
    ``None`` (symbolic ones take minutes to transpile to ecr/cz devices; zeros make gates identities that the
    transpiler drops); inputs left symbolic, as ``transpile_measured`` sends them; ``measure_all``."""
    from qml.circuit.qiskit_io import to_qiskit

    if theta is None:
        theta = np.random.default_rng(PLACEHOLDER_SEED).uniform(0.3, 2 * math.pi - 0.3, circuit.n_trainable)
    if hasattr(theta, "detach"):  # a torch tensor
        theta = theta.detach().cpu().double().numpy()
    qc = to_qiskit(circuit, theta=[float(t) for t in np.asarray(theta, dtype=float).ravel()])
    qc.measure_all()
    return qc


def success_probability(snapshot, transpiled) -> float:
    """Product over the gates of a circuit transpiled to ``snapshot``'s device of ``1 - error`` (uncalibrated: 0)
    and over its measurements of ``1 - readout_error``; order-independent (an exactly rounded sum of logs)."""
    logs = []
    for inst in transpiled.data:
        name = inst.operation.name
        if name in SKIPPED:
            continue
        error = _error(snapshot, name, tuple(transpiled.find_bit(q).index for q in inst.qubits))
        if error >= 1.0:
            return 0.0
        logs.append(math.log1p(-error))
    return math.exp(math.fsum(logs))


def rank_layouts(device, circuit, theta=None, limit: int = 16) -> list[tuple[tuple[int, ...], float]]:
    """Up to ``limit`` candidate layouts of ``circuit`` on ``device`` (plus the trivial one, always scored), each
    with its success probability once transpiled; best first, ties in layout order."""
    if limit < 1:
        raise NoiseError(f"limit must be at least 1, got {limit}")
    trivial = device.check_layout(None, circuit.n_wires)
    qc = placement_circuit(circuit, theta)
    coupling = _coupling_graph(device)
    pre: dict[tuple[int, ...], float] = {}
    for layout, routed in _seeds(device, qc, coupling):
        for moved, estimate in _moves(device.snapshot, coupling, layout, routed):
            if estimate > pre.get(moved, -math.inf):
                pre[moved] = estimate
    chosen = sorted(pre, key=lambda lay: (-pre[lay], lay))[:limit]
    if trivial not in chosen:
        chosen.append(trivial)
    scored = [(lay, success_probability(device.snapshot, device.transpile(qc, lay))) for lay in chosen]
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def best_layout(device, circuit, theta=None, limit: int = 16) -> tuple[int, ...]:
    """The layout of ``rank_layouts`` with the highest success probability."""
    return rank_layouts(device, circuit, theta, limit)[0][0]


# -- candidates ----------------------------------------------------------------------------------------------
def _seeds(device, qc, coupling):
    """(initial layout, routed circuit) pairs: one embedding of the interaction graph when there is one, else the
    layouts SabreLayout picks on the whole device and on one connected region of each shape."""
    import rustworkx as rx
    from qiskit import transpile

    interaction = _interaction_graph(qc)
    embedding = next(rx.vf2_mapping(coupling, interaction, subgraph=True, induced=False, id_order=False,
                                    call_limit=CALL_LIMIT), None)
    if embedding is not None:
        wire_to_qubit = {wire: qubit for qubit, wire in embedding.items()}
        layout = tuple(wire_to_qubit[w] for w in range(qc.num_qubits))
        return [(layout, device.transpile(qc, layout))]
    seeds = {}
    for seed in range(SABRE_SEEDS):
        out = transpile(qc, target=device.target, optimization_level=1, layout_method="sabre", seed_transpiler=seed)
        seeds.setdefault(tuple(out.layout.initial_index_layout(filter_ancillas=True)), out)
    for region in _region_shapes(coupling, qc.num_qubits):
        layout = _sabre_on(region, interaction)
        if layout not in seeds:
            seeds[layout] = device.transpile(qc, layout)
    return list(seeds.items())


def _region_shapes(coupling, size: int):
    """One connected ``size``-qubit region of the coupling map per shape (induced subgraph up to isomorphism), in
    qubit order; none where listing every region could be slow (many qubits, many wires)."""
    import rustworkx as rx

    if math.comb(coupling.num_nodes(), size) > MAX_REGION_SCAN:
        return []
    shapes = []
    for region in sorted(tuple(sorted(r)) for r in rx.connected_subgraphs(coupling, size)):
        sub = coupling.subgraph(list(region))
        if not any(rx.is_isomorphic(sub, other) for other in shapes):
            shapes.append(sub)
    return shapes[:MAX_REGIONS]


def _sabre_on(region, interaction) -> tuple[int, ...]:
    """SabreLayout's layout (seed 0) of the circuit's 2-qubit interactions on ``region`` (nodes hold qubits)."""
    from qiskit import QuantumCircuit
    from qiskit.transpiler import CouplingMap, PassManager
    from qiskit.transpiler.passes import SabreLayout

    pairs = QuantumCircuit(interaction.num_nodes())
    for a, b in interaction.edge_list():
        pairs.cz(a, b)
    edges = [e for a, b in region.edge_list() for e in ((a, b), (b, a))]
    out = PassManager(SabreLayout(CouplingMap(edges), seed=0)).run(pairs)
    return tuple(region[p] for p in out.layout.initial_index_layout())


def _moves(snapshot, coupling, layout, routed):
    """Each embedding of ``routed``'s physical interaction graph in the coupling map, as (moved layout, estimated
    log success): the routed gates moved onto the embedding's qubits (a 2-qubit gate reversed where only the other
    direction is calibrated; qubits that only see 1-qubit gates go to the best free qubits)."""
    import rustworkx as rx

    counts = Counter((inst.operation.name, tuple(routed.find_bit(q).index for q in inst.qubits))
                     for inst in routed.data if inst.operation.name not in SKIPPED)
    used = sorted({q for _, qubits in counts for q in qubits} | set(layout))
    linked = sorted({q for _, qubits in counts if len(qubits) > 1 for q in qubits})
    alone = [q for q in used if q not in set(linked)]
    index = {q: i for i, q in enumerate(linked)}
    graph = _graph(len(linked), (tuple(index[q] for q in qubits) for _, qubits in counts if len(qubits) > 1))
    mappings = rx.vf2_mapping(coupling, graph, subgraph=True, induced=False, id_order=False, call_limit=CALL_LIMIT)
    for mapping in islice(mappings, MAX_MAPPINGS) if linked else [{}]:
        move = {linked[node]: qubit for qubit, node in mapping.items()}
        _place_alone(snapshot, counts, alone, move)
        estimate = math.fsum(n * _log_fidelity(snapshot, name, tuple(move[q] for q in qubits))
                             for (name, qubits), n in counts.items())
        yield tuple(move[q] for q in layout), estimate


def _place_alone(snapshot, counts, alone, move) -> None:
    """Qubits that see only 1-qubit gates and readout, heaviest first, each on the free qubit where they cost least."""
    if not alone:
        return
    free = sorted(set(range(snapshot.num_qubits)) - set(move.values()))

    def cost(q: int, p: int) -> float:
        return math.fsum(n * _log_fidelity(snapshot, name, (p,)) for (name, qubits), n in counts.items()
                         if qubits == (q,))

    for q in sorted(alone, key=lambda q: (-sum(n for (_, qs), n in counts.items() if qs == (q,)), q)):
        best = max(free, key=lambda p: (cost(q, p), -p))
        move[q] = best
        free.remove(best)


def _log_fidelity(snapshot, name: str, qubits: tuple[int, ...]) -> float:
    try:
        error = _error(snapshot, name, qubits)
    except NoiseError:
        error = _error(snapshot, name, qubits[::-1])  # the transpiler flips it with 1-qubit gates
    return math.log1p(-error) if error < 1.0 else -math.inf


def _error(snapshot, name: str, qubits: tuple[int, ...]) -> float:
    if name == "measure":
        return snapshot.qubit(qubits[0]).readout_error
    return snapshot.gate(name, qubits).error or 0.0


def _coupling_graph(device):
    return _graph(device.num_qubits, device.edges)


def _interaction_graph(qc):
    """Logical wires, joined where a gate acts on two or more of them."""
    return _graph(qc.num_qubits, (tuple(qc.find_bit(q).index for q in inst.qubits) for inst in qc.data
                                  if inst.operation.name not in SKIPPED))


def _graph(n_nodes: int, groups):
    """Nodes ``0..n_nodes-1``, an edge between every two nodes that share a group."""
    import rustworkx as rx

    pairs = {(min(a, b), max(a, b)) for group in groups for i, a in enumerate(group) for b in group[i + 1:]}
    graph = rx.PyGraph()
    graph.add_nodes_from(range(n_nodes))
    graph.add_edges_from_no_data(sorted(pairs))
    return graph
