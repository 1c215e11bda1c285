"""QuantumNAT on Aer twins: train plain, with noise injection, + normalisation, + quantization; evaluate each on
the Aer twin of the device (test split, 1024 shots). Writes bench/results/noise_aware.json and prints a Markdown
table.

    python bench/noise_aware.py --tasks digits4 fashion2 --devices ibm_quito ibm_lima ibm_manila
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from qml.backends.aer_executor import AerExecutor
from qml.circuit.library import load_circuit
from qml.data import load_task
from qml.noise import NoiseModel, load_snapshot
from qml.sim.module import QuantumModule
from qml.train import QuantumClassifier, TrainConfig, Trainer

VARIANTS = {  # name: (noise injected, norm, quant levels)
    "plain": (False, False, None),
    "noise": (True, False, None),
    "noise+norm": (True, True, None),
    "noise+norm+quant": (True, True, 5),
}


def train(task, data, variant, device, args):
    noisy, norm, levels = VARIANTS[variant]
    torch.manual_seed(args.seed)
    model = QuantumClassifier(QuantumModule(load_circuit("u3cu3", n_blocks=args.blocks)), data.n_classes,
                              norm=norm, quant_levels=levels)
    config = TrainConfig(args.epochs, 32, args.lr, seed=args.seed, noise_factor=args.factor)
    noise = NoiseModel(load_snapshot(device), None, args.factor) if noisy else None
    start = time.perf_counter()
    result = Trainer(model, config, noise).fit(data, progress=False)
    return model, result.test_accuracy, time.perf_counter() - start


def aer_accuracy(model, data, device, shots):
    model.eval()
    executor = AerExecutor(load_snapshot(device), None, seed=0)
    return model.accuracy_from(executor.expectations(model.qmodule, data.x_test, shots), data.y_test)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", nargs="+", default=["digits4"])
    parser.add_argument("--devices", nargs="+", default=["ibm_quito", "ibm_lima", "ibm_manila"])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--factor", type=float, default=0.5)
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "noise_aware.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    for task in args.tasks:
        data = load_task(task, seed=args.seed)
        plain = None
        for device in args.devices:
            for variant in VARIANTS:
                if variant == "plain" and plain is not None:
                    model, clean, seconds = plain
                else:
                    model, clean, seconds = train(task, data, variant, device, args)
                    if variant == "plain":
                        plain = (model, clean, seconds)
                aer = aer_accuracy(model, data, device, args.shots)
                row = {"task": task, "device": device, "variant": variant, "noise_free": clean, "aer": aer,
                       "train_seconds": round(seconds, 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)}, "rows": rows},
                                               indent=2))
    print("\n| task | device | " + " | ".join(VARIANTS) + " |")
    print("|---|---|" + "---:|" * len(VARIANTS))
    for task in args.tasks:
        for device in args.devices:
            cells = [next(r for r in rows if r["task"] == task and r["device"] == device and r["variant"] == v)
                     for v in VARIANTS]
            print(f"| {task} | {device} | " + " | ".join(f"{c['aer']:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
