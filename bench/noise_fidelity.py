"""How faithfully qml's noise model reproduces qiskit-aer's device noise model, on random 4-qubit circuits.

For each device, random circuits (the ``4x4_ryzxy`` encoder, then layers of random 1-qubit rotations and random
2-qubit gates) are placed on a connected path of 4 physical qubits, in two sets:

- ``coupled``: every 2-qubit gate acts on a logical pair whose physical qubits are coupled (no routing);
- ``routed``:  2-qubit gates on random logical pairs, at least one of them not coupled (qiskit inserts SWAPs).

Three exact (no sampling) ⟨Z⟩ per logical wire, for 8 inputs x ~ U[-pi, pi]^16 per circuit:

- ``z_ideal``: noise-free, qiskit ``Statevector`` of the bound logical circuit;
- ``z_aer``:   the circuit transpiled to the device (``Device.transpile_measured``), cut down to the qubits it
               touches (``active_qubits`` / ``compact``) and run with that region's Aer noise model
               (``Device.region(qubits).aer_noise_model``) by the density-matrix method, then each measured
               qubit read out through the model's own readout error;
- ``z_qml``:   qml's own exact noisy output, ``make_executor("torch:DEVICE", layout=...)`` (noise factor 1;
               an exact density matrix for 4 wires).

Metric per (device, set), averaging |.| over wires, inputs and circuits:

    share of the noise effect captured = 1 - mean|z_qml - z_aer| / mean|z_ideal - z_aer|

1 means qml reproduces Aer's noisy output exactly, 0 means it does no better than ignoring noise, < 0 worse.
Sanity checks recorded in the JSON: qml noise-free vs qiskit ``Statevector``, and the transpiled circuit run on
Aer without noise vs ``z_ideal`` (both should be ~1e-12: they check the circuit conversion, the layout and the
clbit-to-wire mapping, so that any gap left is noise modelling).

    OMP_NUM_THREADS=1 python bench/noise_fidelity.py                       # 5 devices, 10 circuits per set
    OMP_NUM_THREADS=1 python bench/noise_fidelity.py --devices ibm_quito ibm_torino --circuits 4
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

import qml
from qml.backends import make_executor
from qml.circuit.qiskit_io import to_qiskit
from qml.device import Device, active_qubits, compact
from qml.noise.budget import gate_cost

DEVICES = ["ibm_quito", "ibm_lima", "ibm_manila", "ibm_brisbane", "ibm_torino"]
KINDS = ("coupled", "routed")
ONE_QUBIT = ("rx", "ry", "rz", "u3")
TWO_QUBIT = ("cx", "cz", "cu3", "crx", "rzz")
N_WIRES = 4
N_FEATURES = 16


# -- layout and circuits -----------------------------------------------------------------------------------------
def find_path(device: Device, length: int = N_WIRES) -> list[int]:
    """The first simple path of ``length`` physical qubits in the coupling map (depth-first, lowest qubits first)."""
    neighbours: dict[int, list[int]] = {q: [] for q in range(device.num_qubits)}
    for a, b in device.edges:
        neighbours[a].append(b)
        neighbours[b].append(a)

    def extend(path: list[int]) -> list[int] | None:
        if len(path) == length:
            return path
        for q in sorted(neighbours[path[-1]]):
            if q not in path and (found := extend(path + [q])):
                return found
        return None

    for start in range(device.num_qubits):
        if found := extend([start]):
            return found
    raise ValueError(f"{device.name} has no connected path of {length} qubits")


def coupled_pairs(device: Device, layout: list[int]) -> list[tuple[int, int]]:
    """Logical pairs (a < b) whose physical qubits under ``layout`` are coupled."""
    edges = {frozenset(e) for e in device.edges}
    return [(a, b) for a in range(N_WIRES) for b in range(a + 1, N_WIRES)
            if frozenset((layout[a], layout[b])) in edges]


def random_circuit(rng: np.random.Generator, pairs: list[tuple[int, int]], layers: int, per_layer: int,
                   must_use: set[tuple[int, int]] | None = None) -> qml.Circuit:
    """Encoder, then ``layers`` x (a random rotation on every wire + ``per_layer`` random 2-qubit gates on
    random ``pairs``, random direction). With ``must_use``, redrawn until some gate sits on one of those pairs."""
    while True:
        c = qml.Circuit(N_WIRES)
        c.encode("4x4_ryzxy")
        used = set()
        for _ in range(layers):
            for w in range(N_WIRES):
                c.add(str(rng.choice(ONE_QUBIT)), w)
            for _ in range(per_layer):
                pair = pairs[rng.integers(len(pairs))]
                used.add(pair)
                wires = pair if rng.random() < 0.5 else pair[::-1]
                c.add(str(rng.choice(TWO_QUBIT)), list(wires))
        if must_use is None or used & must_use:
            return c


# -- the three ⟨Z⟩ ----------------------------------------------------------------------------------------------
def z_from_probabilities(probs: np.ndarray, n_qubits: int, qubits) -> np.ndarray:
    """⟨Z⟩ of each of ``qubits`` from probabilities over ``n_qubits`` (index bit q = qubit q)."""
    index = np.arange(2**n_qubits)
    return np.array([1 - 2 * probs[(index >> q) & 1 == 1].sum() for q in qubits])


def ideal_z(circuit: qml.Circuit, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(B, n) noise-free ⟨Z⟩ from qiskit's ``Statevector`` of the bound logical circuit."""
    from qiskit.quantum_info import Statevector

    return np.array([z_from_probabilities(Statevector(to_qiskit(circuit, theta, row)).probabilities(),
                                          circuit.n_wires, range(circuit.n_wires)) for row in x])


def measured_qubits(qc) -> list[int]:
    """The qubit measured into clbit i, for every clbit i (clbit i is logical wire i)."""
    found = {qc.find_bit(inst.clbits[0]).index: qc.find_bit(inst.qubits[0]).index
             for inst in qc.data if inst.operation.name == "measure"}
    return [found[i] for i in range(len(found))]


def aer_z(qc, x: np.ndarray, noise_model) -> np.ndarray:
    """(B, n) exact ⟨Z⟩ of the logical wires of a measured transpiled circuit ``qc`` (inputs as parameters
    ``x[i]``) under ``noise_model`` (None: noise-free): density matrix without the measurements, then each measured
    qubit's P(1) read out through the model's readout error on that qubit."""
    from qiskit_aer import AerSimulator

    wires = measured_qubits(qc)
    body = qc.copy_empty_like()
    for inst in qc.data:
        if inst.operation.name not in ("measure", "barrier"):
            body.append(inst)
    body.save_probabilities()
    circuits = [body.assign_parameters({p: row[p.index] for p in body.parameters}) for row in x]
    result = AerSimulator(method="density_matrix", noise_model=noise_model).run(circuits).result()
    index = np.arange(2**qc.num_qubits)
    p1 = np.array([[np.asarray(result.data(i)["probabilities"])[(index >> q) & 1 == 1].sum() for q in wires]
                   for i in range(len(circuits))])
    if noise_model is not None:
        readout = {tuple(e["gate_qubits"][0]): np.asarray(e["probabilities"], dtype=float)
                   for e in noise_model.to_dict()["errors"] if e["type"] == "roerror"}
        for w, q in enumerate(wires):
            m = readout.get((q,))  # [prepared, measured]
            if m is not None:
                p1[:, w] = (1 - p1[:, w]) * m[0, 1] + p1[:, w] * m[1, 1]
    return 1 - 2 * p1


def routing_swaps(device: Device, circuit: qml.Circuit, theta: np.ndarray, layout: list[int]) -> int:
    """SWAPs qiskit's routing inserts: the init, layout and routing stages of the same preset pass manager (same
    seed) that ``Device.transpile_measured`` runs, stopped before SWAPs are translated to native gates."""
    from qiskit.transpiler import StagedPassManager
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

    pm = generate_preset_pass_manager(1, target=device.target, initial_layout=layout, seed_transpiler=0)
    stages = StagedPassManager(stages=["init", "layout", "routing"], init=pm.init, layout=pm.layout,
                               routing=pm.routing)
    qc = to_qiskit(circuit, theta=theta)
    qc.measure_all()
    return stages.run(qc).count_ops().get("swap", 0)


# -- one circuit ------------------------------------------------------------------------------------------------
def run_circuit(device: Device, circuit: qml.Circuit, layout: list[int], x: np.ndarray, seed: int) -> dict:
    torch.manual_seed(seed)
    module = qml.QuantumModule(circuit).double()
    theta = module.theta.detach().numpy().astype(np.float64)
    xt = torch.tensor(x, dtype=torch.float64)

    z_ideal = ideal_z(circuit, theta, x)
    with torch.no_grad():
        z_qml_free = module(xt).numpy()

    transpiled, _ = device.transpile_measured(module, layout)
    qubits = active_qubits(transpiled)
    small = compact(transpiled, qubits)
    z_aer = aer_z(small, x, device.region(qubits).aer_noise_model)
    z_aer_free = aer_z(small, x, None)

    z_qml = make_executor(f"torch:{device.name}", layout=layout).expectations(module, xt).numpy()

    native = device.two_qubit_gate
    needed = sum(gate_cost(op.gate, native).two_qubit for op in circuit.ops)
    transpiled_2q = transpiled.count_ops().get(native, 0)
    finals = [qubits[q] for q in measured_qubits(small)]
    return {
        "logical_2q_gates": sum(len(op.wires) == 2 for op in circuit.ops),
        "native_2q_needed": needed,
        "native_2q_transpiled": transpiled_2q,
        "swaps": routing_swaps(device, circuit, theta, layout),
        "active_qubits": list(qubits),
        "measured_on": finals,
        "ideal_aer": float(np.abs(z_ideal - z_aer).mean()),
        "qml_aer": float(np.abs(z_qml - z_aer).mean()),
        "abs_z": {"ideal": float(np.abs(z_ideal).mean()), "aer": float(np.abs(z_aer).mean()),
                  "qml": float(np.abs(z_qml).mean())},
        "check_qml_free_vs_statevector": float(np.abs(z_qml_free - z_ideal).max()),
        "check_aer_free_vs_statevector": float(np.abs(z_aer_free - z_ideal).max()),
    }


def run_set(device: Device, kind: str, n_circuits: int, args, rng: np.random.Generator) -> dict:
    layout = find_path(device)
    coupled = coupled_pairs(device, layout)
    start = time.perf_counter()
    rows = []
    for _ in range(n_circuits):
        if kind == "coupled":
            circuit = random_circuit(rng, coupled, args.layers, args.per_layer)
        else:
            every = [(a, b) for a in range(N_WIRES) for b in range(a + 1, N_WIRES)]
            circuit = random_circuit(rng, every, args.layers, args.per_layer,
                                     must_use=set(every) - set(coupled))
        x = rng.uniform(-math.pi, math.pi, (args.batch, N_FEATURES))
        rows.append(run_circuit(device, circuit, layout, x, seed=int(rng.integers(2**31))))
    ideal_aer = float(np.mean([r["ideal_aer"] for r in rows]))  # every circuit has the same B x n entries
    qml_aer = float(np.mean([r["qml_aer"] for r in rows]))
    return {
        "device": device.name, "kind": kind, "layout": layout, "coupled_logical_pairs": coupled,
        "circuits": n_circuits,
        "mean_abs_ideal_minus_aer": ideal_aer,
        "mean_abs_qml_minus_aer": qml_aer,
        "share_captured": 1 - qml_aer / ideal_aer if ideal_aer > 0 else float("nan"),
        "share_captured_per_circuit": [1 - r["qml_aer"] / r["ideal_aer"] for r in rows],
        "mean_swaps": float(np.mean([r["swaps"] for r in rows])),
        "mean_extra_native_2q": float(np.mean([r["native_2q_transpiled"] - r["native_2q_needed"] for r in rows])),
        # routing can leave a wire on another physical qubit at the end: Aer reads it out there
        "mean_wires_measured_off_layout": float(np.mean([
            sum(q != p for q, p in zip(r["measured_on"], layout, strict=True)) for r in rows])),
        "max_check_qml_free_vs_statevector": max(r["check_qml_free_vs_statevector"] for r in rows),
        "max_check_aer_free_vs_statevector": max(r["check_aer_free_vs_statevector"] for r in rows),
        "wall_s": time.perf_counter() - start,
        "per_circuit": rows,
    }


def source_state() -> dict:
    """Which qml ran: its path, the git commit and the uncommitted changes under qml/ (results depend on them)."""
    import subprocess

    root = Path(qml.__file__).resolve().parent.parent

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {"qml_path": str(root / "qml"), "commit": git("rev-parse", "HEAD") or None,
            "uncommitted_qml": git("status", "--porcelain", "--", "qml").splitlines()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", nargs="+", default=DEVICES)
    parser.add_argument("--circuits", type=int, default=10, help="circuits per (device, kind)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layers", type=int, default=3, help="random layers after the encoder")
    parser.add_argument("--per-layer", type=int, default=2, help="2-qubit gates per layer")
    parser.add_argument("--batch", type=int, default=8, help="inputs per circuit")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "noise_fidelity.json")
    args = parser.parse_args()

    load_start = os.getloadavg()
    start = time.perf_counter()
    sets = []
    for d, name in enumerate(args.devices):
        device = Device.load(name)
        for k, kind in enumerate(KINDS):
            rng = np.random.default_rng([args.seed, d, k])  # each set reproducible on its own
            sets.append(run_set(device, kind, args.circuits, args, rng))
    wall = time.perf_counter() - start

    header = ("device", "kind", "circuits", "mean |ideal−aer|", "mean |qml−aer|", "share captured", "SWAPs/circuit")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|")
    for s in sets:
        print(f"| {s['device']} | {s['kind']} | {s['circuits']} | {s['mean_abs_ideal_minus_aer']:.4f} | "
              f"{s['mean_abs_qml_minus_aer']:.4f} | {s['share_captured']:.3f} | {s['mean_swaps']:.1f} |")
    checks = max(max(s["max_check_qml_free_vs_statevector"], s["max_check_aer_free_vs_statevector"]) for s in sets)
    print(f"\nnoise-free checks (qml and transpiled Aer vs Statevector), max |Δz|: {checks:.1e}; wall {wall:.1f} s")

    meta = {
        "argv": sys.argv[1:], "seed": args.seed, "circuits": args.circuits, "layers": args.layers,
        "per_layer": args.per_layer, "batch": args.batch, "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(), "wall_s": wall, "python": platform.python_version(),
        "versions": {"qml": qml.__version__, "qiskit": version("qiskit"), "qiskit-aer": version("qiskit-aer"),
                     "torch": torch.__version__, "numpy": np.__version__},
        "source": source_state(),
        "metric": "share captured = 1 - mean|z_qml - z_aer| / mean|z_ideal - z_aer| (exact <Z> per logical wire)",
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "sets": sets}, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
