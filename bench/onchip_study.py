"""On-chip training (QOC: parameter shift measured on the device, probabilistic gradient pruning) on the Aer twin
of a 5-qubit device, against backprop training with the device's noise injected (QuantumNAT), on the same test
inputs of the same twin.

    OMP_NUM_THREADS=1 python bench/onchip_study.py [--task digits2] [--seeds 0 1 2] [--epochs 5] [--shots 512]

Methods (U3+CU3, 1 block, 4 qubits, 24 angles, the same initial weights per seed):
- ``backprop-noise``: backprop with ibm_quito's noise injected, its own best settings (60 epochs, lr 0.02: the
  strongest fair baseline; it costs no circuit executions);
- ``backprop-noise-short``: the same with the on-chip budget of epochs and learning rate;
- ``onchip-full``: on-chip training on ``aer:ibm_quito``, every gradient measured at every step;
- ``onchip-pruned``: the same with QOC's gradient pruning (ratio 0.5, windows 1 and 2).
Every trained run is then evaluated on ``aer:ibm_quito`` with 1024 shots on its seed's whole test split, so the
methods are compared on the same inputs (paired McNemar tests pooled over seeds). Run folders are kept under
``--out``; a rerun skips the runs and evaluations that are done."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from record import write_json  # noqa: E402

from qml.runs import evaluate_run, train_run  # noqa: E402
from qml.runs.config import OnChipConfig, RunConfig  # noqa: E402
from qml.runs.stats import stratified_mcnemar, t_interval, wilson_interval  # noqa: E402
from qml.train import TrainConfig  # noqa: E402


def configs(task: str, device: str, seed: int, epochs: int, lr: float, shots: int) -> dict[str, RunConfig]:
    short = TrainConfig(epochs, 32, lr, seed=seed)
    return {
        "backprop-noise": RunConfig(task, "u3cu3", 1, TrainConfig(60, 32, 0.02, seed=seed), device_name=device),
        "backprop-noise-short": RunConfig(task, "u3cu3", 1, short, device_name=device),
        "onchip-full": RunConfig(task, "u3cu3", 1, short, onchip=OnChipConfig(f"aer:{device}", shots, 0.0)),
        "onchip-pruned": RunConfig(task, "u3cu3", 1, short, onchip=OnChipConfig(f"aer:{device}", shots, 0.5)),
    }


def cell(run: Path, config: RunConfig, device: str) -> dict:
    done = run / "cell.json"
    if done.is_file():
        return json.loads(done.read_text())
    if run.exists():
        import shutil

        shutil.rmtree(run)  # an unfinished cell starts over: its wall time must be whole
    start = time.perf_counter()
    outcome = train_run(config, run, say=lambda text: None, progress=False)
    seconds = time.perf_counter() - start
    e = evaluate_run(run, f"aer:{device}", shots=1024)
    measurer = outcome.model.measurer
    record = {"train_seconds": round(seconds, 2), "accuracy": e.accuracy, "n": e.n, "correct": e.correct,
              "circuits": measurer.cost()["circuits"] if measurer else 0,
              "executions": measurer.cost()["executions"] if measurer else 0,
              "onchip_test_accuracy": outcome.result.test_accuracy if measurer else None}
    done.write_text(json.dumps(record))
    return record


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="digits2")
    p.add_argument("--device", default="ibm_quito")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--shots", type=int, default=512)
    p.add_argument("--out", type=Path, default=Path("runs/bench-onchip"))
    p.add_argument("--json", type=Path, default=Path("bench/results/onchip_study.json"))
    args = p.parse_args()
    load_start = os.getloadavg()
    cells: dict[str, list[dict]] = {}
    for seed in args.seeds:
        for method, config in configs(args.task, args.device, seed, args.epochs, args.lr, args.shots).items():
            record = cell(args.out / args.task / method / str(seed), config, args.device)
            cells.setdefault(method, []).append(record)
            print(f"seed {seed} {method}: accuracy {record['accuracy']:.4f} on {record['n']} inputs, "
                  f"{record['executions']:,} executions, {record['train_seconds']:.0f} s", flush=True)
    rows = {}
    for method, records in cells.items():
        per_seed = t_interval([r["accuracy"] for r in records])
        pooled = wilson_interval(sum(sum(r["correct"]) for r in records), sum(r["n"] for r in records))
        rows[method] = {"per_seed": [r["accuracy"] for r in records], "mean": per_seed.estimate,
                        "t95": [per_seed.low, per_seed.high], "pooled": pooled.estimate,
                        "wilson95": [pooled.low, pooled.high], "n_per_seed": [r["n"] for r in records],
                        "executions_mean": sum(r["executions"] for r in records) / len(records),
                        "train_seconds_mean": sum(r["train_seconds"] for r in records) / len(records),
                        "onchip_test_accuracy": [r["onchip_test_accuracy"] for r in records]}
    pairs = {}
    for a, b in (("onchip-pruned", "onchip-full"), ("onchip-full", "backprop-noise"),
                 ("onchip-pruned", "backprop-noise"), ("onchip-full", "backprop-noise-short")):
        strata = zip([r["correct"] for r in cells[a]], [r["correct"] for r in cells[b]], strict=True)
        test = stratified_mcnemar(strata)
        pairs[f"{a} vs {b}"] = {"b": test.b, "c": test.c, "p": test.p_value, "pairs": test.pairs,
                                "verdict": test.verdict(a, b)}
    doc = {"task": args.task, "device": args.device, "seeds": args.seeds, "epochs": args.epochs, "lr": args.lr,
           "shots": args.shots, "eval": f"aer:{args.device}, 1024 shots, whole test split",
           "threads": {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}, "cpus": os.cpu_count(),
           "load_start": load_start, "load_end": os.getloadavg(), "methods": rows, "paired": pairs}
    write_json(args.json, doc)
    print("| method | accuracy per seed | mean [95 % t] | pooled [95 % Wilson] | executions | train s |")
    print("|---|---|---|---|---|---|")
    for method, r in rows.items():
        t95 = "undefined" if r["t95"][0] is None else f"[{r['t95'][0]:.3f}, {r['t95'][1]:.3f}]"
        print(f"| {method} | {', '.join(f'{v:.3f}' for v in r['per_seed'])} | {r['mean']:.3f} {t95} | "
              f"{r['pooled']:.3f} [{r['wilson95'][0]:.3f}, {r['wilson95'][1]:.3f}] | {r['executions_mean']:,.0f} | "
              f"{r['train_seconds_mean']:.0f} |")
    for name, r in pairs.items():
        print(f"{name}: {r['verdict']} ({r['b']} vs {r['c']} discordant of {r['pairs']} pairs)")


if __name__ == "__main__":
    main()
