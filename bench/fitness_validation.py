"""Does a search's fitness predict what the candidate reaches on the device's twin after retraining?

For one device and task: train the SuperCircuit once; draw N candidates (genes of the design space on connected
layouts, as both strategies draw them); score each with every fitness — ``esr``, ``esr_routed``, ``torch`` and
``aer`` (inherited SuperCircuit angles, validation inputs) and the training-free score (no angles at all); then
retrain every candidate from scratch with the device's noise injected (as the search retrains its winner) and
evaluate it on the Aer twin's test inputs. Reported per fitness: Spearman's rank correlation with the twin
accuracy, its p-value, and a 95 % bootstrap interval over candidates; and the twin accuracy of the candidate each
fitness ranks first.

    OMP_NUM_THREADS=1 python bench/fitness_validation.py --device ibm_quito --candidates 30
    OMP_NUM_THREADS=1 python bench/fitness_validation.py --device ibm_lima --json bench/results/fitness_lima.json
    OMP_NUM_THREADS=1 python bench/fitness_validation.py --device ibm_quito --super-noise 0.5   # + noise-aware
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from qml.backends import make_executor
from qml.data import load_task
from qml.device import Device
from qml.runs import RunConfig
from qml.runs.evaluate import evaluate_run
from qml.runs.train import seeded, train_run
from qml.search.evolution import LayoutSpace, native_pairs
from qml.search.fitness import KINDS, FitnessFunction
from qml.search.loader import load_space
from qml.search.supercircuit import SuperCircuit, SuperTrainConfig, noise_pool, train_supercircuit
from qml.search.trainfree import TrainFreeConfig, TrainFreeScore
from qml.train import TrainConfig


def draw(space, layouts, n: int, seed: int) -> list[tuple[tuple, tuple]]:
    rng, out, seen = random.Random(seed), [], set()
    while len(out) < n:
        gene, layout = space.random_gene(rng), layouts.random(rng)
        key = space.fingerprint(gene, layout)
        if key not in seen and layouts.valid(layout, native_pairs(space, gene)):
            seen.add(key)
            out.append((tuple(gene), tuple(layout)))
    return out


def spearman(scores: list[float], accuracy: list[float], rng: np.random.Generator, boots: int = 2000) -> dict:
    rho, p = stats.spearmanr(scores, accuracy)
    a, b = np.asarray(scores), np.asarray(accuracy)
    samples = []
    for _ in range(boots):
        i = rng.integers(0, len(a), len(a))
        if len(set(a[i])) > 1 and len(set(b[i])) > 1:
            samples.append(stats.spearmanr(a[i], b[i])[0])
    low, high = np.percentile(samples, [2.5, 97.5])
    return {"rho": float(rho), "p": float(p), "ci95": [float(low), float(high)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="ibm_quito")
    ap.add_argument("--task", default="digits4")
    ap.add_argument("--space", default="u3cu3")
    ap.add_argument("--candidates", type=int, default=30)
    ap.add_argument("--super-epochs", type=int, default=40)
    ap.add_argument("--retrain-epochs", type=int, default=30)
    ap.add_argument("--valid-size", type=int, default=300)
    ap.add_argument("--shots", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--super-noise", type=float, default=0.0,
                    help="also train a noise-aware SuperCircuit at this noise factor and score the same candidates "
                         "with it (columns KIND@noise-aware; paired difference of rho)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    start, load0 = time.perf_counter(), os.getloadavg()
    device, space = Device.load(args.device), load_space(args.space)
    data = load_task(args.task, seed=args.seed)
    with seeded(args.seed):
        sc = SuperCircuit(space, data.n_classes)
    train_supercircuit(sc, data, SuperTrainConfig(args.super_epochs, seed=args.seed), progress=False)
    t_super = time.perf_counter() - start
    layouts = LayoutSpace(space.n_wires, device.num_qubits, device.edges)
    supers = {"": sc}
    if args.super_noise > 0:
        t = time.perf_counter()
        with seeded(args.seed):
            noisy_sc = SuperCircuit(space, data.n_classes)
        train_supercircuit(noisy_sc, data, SuperTrainConfig(args.super_epochs, seed=args.seed,
                                                            noise_factor=args.super_noise),
                           progress=False, noise=noise_pool(device, layouts, args.super_noise, 8, args.seed))
        supers["@noise-aware"] = noisy_sc
        t_super_noisy = time.perf_counter() - t
        print(f"SuperCircuit {t_super:.0f} s; noise-aware (factor {args.super_noise:g}, 8 layouts) "
              f"{t_super_noisy:.0f} s", flush=True)
    candidates = draw(space, layouts, args.candidates, args.seed)
    n = min(args.valid_size, len(data.x_valid))
    xv, yv = data.x_valid[:n], data.y_valid[:n]

    def executor(kind):
        return lambda layout: make_executor(f"{kind}:{args.device}", layout=list(layout), seed=args.seed)

    fitnesses = {kind: FitnessFunction(kind, device, xv, yv, shots=args.shots,
                                       executor=executor("aer" if kind == "aer" else "torch")) for kind in KINDS}
    trainfree = TrainFreeScore(space, device, data.x_train, data.y_train, data.n_classes, TrainFreeConfig(),
                               args.seed)
    rows, seconds = [], {k: 0.0 for k in (*KINDS, "trainfree", "retrain")}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (gene, layout) in enumerate(candidates):
            row = {"gene": list(gene), "layout": list(layout), "gates": space.gates_used(gene)}
            for kind, fitness in fitnesses.items():
                for suffix, trained in supers.items():
                    t = time.perf_counter()
                    row[kind + suffix] = fitness(trained, gene, layout).value
                    seconds[kind + suffix] = seconds.get(kind + suffix, 0.0) + time.perf_counter() - t
            t = time.perf_counter()
            row["trainfree"] = trainfree(gene, layout)["fitness"]
            seconds["trainfree"] += time.perf_counter() - t
            t = time.perf_counter()
            rc = RunConfig(args.task, args.space, 2, TrainConfig(args.retrain_epochs, 32, 0.02, seed=args.seed,
                                                                   noise_factor=0.5),
                           args.device, list(layout), space=args.space, space_options={}, gene=list(gene))
            run = Path(tmp) / f"c{i}"
            train_run(rc, run, progress=False, say=lambda text: None)
            twin = evaluate_run(run, f"aer:{args.device}", shots=args.shots, seed=args.seed)
            row["twin_accuracy"], row["test_inputs"] = twin.accuracy, twin.n
            seconds["retrain"] += time.perf_counter() - t
            rows.append(row)
            print(f"[{i + 1}/{len(candidates)}] {row['gates']} gates on {list(layout)}: twin {twin.accuracy:.3f}; "
                  + ", ".join(f"{k} {row[k]:.3f}" for k in (*KINDS, "trainfree")), flush=True)
    rng = np.random.default_rng(args.seed)
    accuracy = [r["twin_accuracy"] for r in rows]
    summary = {}
    print(f"\n{args.device}, {args.task}, {len(rows)} candidates, twin accuracy after {args.retrain_epochs} epochs "
          f"of noise-aware retraining on {rows[0]['test_inputs']} test inputs (range {min(accuracy):.3f}-"
          f"{max(accuracy):.3f})")
    print("| fitness | Spearman rho [95 % bootstrap] | p | twin accuracy of its top candidate | s per candidate |")
    print("|---|---|---:|---:|---:|")
    scored = [kind + suffix for suffix in supers for kind in KINDS] + ["trainfree"]
    for kind in scored:
        scores = [r[kind] for r in rows]
        summary[kind] = spearman(scores, accuracy, rng)
        summary[kind]["top_twin_accuracy"] = rows[int(np.argmax(scores))]["twin_accuracy"]
        summary[kind]["seconds_per_candidate"] = seconds[kind] / len(rows)
        s = summary[kind]
        print(f"| {kind} | {s['rho']:+.2f} [{s['ci95'][0]:+.2f}, {s['ci95'][1]:+.2f}] | {s['p']:.2g} | "
              f"{s['top_twin_accuracy']:.3f} | {s['seconds_per_candidate']:.3f} |")
    if len(supers) > 1:  # the same candidates and twin accuracies: a paired bootstrap of the difference in rho
        print("\n| fitness | rho noise-aware − rho plain [95 % paired bootstrap] |\n|---|---|")
        for kind in KINDS:
            a = np.asarray([r[kind] for r in rows])
            b = np.asarray([r[kind + "@noise-aware"] for r in rows])
            acc = np.asarray(accuracy)
            diffs = []
            warnings.filterwarnings("ignore", category=stats.ConstantInputWarning)  # a resample of tied scores
            for _ in range(2000):
                i = rng.integers(0, len(rows), len(rows))
                rb, ra = stats.spearmanr(b[i], acc[i])[0], stats.spearmanr(a[i], acc[i])[0]
                if np.isfinite(rb) and np.isfinite(ra):
                    diffs.append(rb - ra)
            d = summary[kind + "@noise-aware"]["rho"] - summary[kind]["rho"]
            low, high = np.percentile(diffs, [2.5, 97.5])
            summary[kind + "@noise-aware"]["rho_minus_plain"] = {"diff": d, "ci95": [low, high]}
            print(f"| {kind} | {d:+.2f} [{low:+.2f}, {high:+.2f}] |")
    print(f"best candidate's twin accuracy {max(accuracy):.3f}; SuperCircuit {t_super:.0f} s; retraining "
          f"{seconds['retrain'] / len(rows):.1f} s per candidate; wall {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "args": vars(args) | {"json": str(args.json)}, "rows": rows, "spearman": summary,
            "seconds": seconds, "wall_s": time.perf_counter() - start, "torch_threads": torch.get_num_threads(),
            "loadavg_start": load0, "loadavg_end": os.getloadavg(),
            "versions": {p: version(p) for p in ("qml-robust", "qiskit", "qiskit-aer", "torch")}}, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
