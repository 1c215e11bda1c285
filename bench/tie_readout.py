"""Ties under QuantumNAT's post-measurement quantization: how often two classes share the top quantized logit on
digits4's test split, and the accuracy of plain ``argmax`` (a tie goes to the lowest class index) against qml's
read-out (``QuantumClassifier.readout``: a tie goes to the class with the larger value before rounding), paired on
the same inputs. Also shown: the accuracy that counts a k-way tie as 1/k of a correct answer (uniform random
tie-breaking, in expectation). Training is qml's ordinary ``Trainer.fit``; only the read-out differs.

    python bench/tie_readout.py --seeds 0 1 2 3 4 --levels 5
    python bench/tie_readout.py --seeds 0 1 2 --device ibm_quito --aer-shots 1024   # noise injected + Aer twin
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from dataclasses import dataclass

import torch
from torch import Tensor

from qml.circuit.library import load_circuit
from qml.data import load_task
from qml.sim.module import QuantumModule
from qml.train import QuantumClassifier, TrainConfig, Trainer
from qml.train.postprocess import tied_top


@dataclass
class Paired:
    """One read-out of one model on the test inputs, both rules on the same inputs."""

    n: int = 0
    tied: int = 0
    tied_after_tiebreak: int = 0
    plain_correct: int = 0
    aware_correct: int = 0
    credit: float = 0.0            # a k-way tie containing the label counts 1/k
    differ: int = 0                # inputs where the two rules predict different classes
    only_plain: int = 0            # ... and only argmax is right
    only_aware: int = 0            # ... and only the tie-aware read-out is right
    tied_plain_class0: int = 0
    tied_aware_class0: int = 0
    aware_not_unrounded_argmax: int = 0

    def add(self, other: Paired) -> Paired:
        return Paired(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


def compare(model: QuantumClassifier, z: Tensor, y: Tensor) -> Paired:
    with torch.no_grad():
        z = z.to(model.qmodule.theta.dtype)
        logits, aware = model.readout(z)
        _, unrounded = model.post.readout(z)
    unrounded = unrounded[:, : model.n_classes]
    plain = logits.argmax(1)
    top = logits == logits.amax(1, keepdim=True)
    tied = tied_top(logits)
    masked = unrounded.masked_fill(~top, float("-inf"))
    still = (masked == masked.amax(1, keepdim=True)).sum(1) > 1
    credit = top[torch.arange(len(y)), y].double() / top.sum(1).double()
    differ = plain != aware
    return Paired(len(y), int(tied.sum()), int((tied & still).sum()), int((plain == y).sum()),
                  int((aware == y).sum()), float(credit.sum()), int(differ.sum()),
                  int((differ & (plain == y)).sum()), int((differ & (aware == y)).sum()),
                  int((tied & (plain == 0)).sum()), int((tied & (aware == 0)).sum()),
                  int((aware != unrounded.argmax(1)).sum()))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs under Binomial(b + c, 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def row(label: str, p: Paired) -> str:
    return (f"| {label} | {p.n} | {p.tied / p.n:.3f} | {p.tied_after_tiebreak} | {p.plain_correct / p.n:.4f} | "
            f"{p.aware_correct / p.n:.4f} | {p.credit / p.n:.4f} | {p.differ} | {p.only_plain} | {p.only_aware} | "
            f"{mcnemar_exact(p.only_plain, p.only_aware):.3g} | {p.tied_plain_class0}/{p.tied} | "
            f"{p.tied_aware_class0}/{p.tied} | {p.aware_not_unrounded_argmax} |")


HEADER = ("| seed | test inputs | tied top | tied after tiebreak | acc argmax | acc tie-aware | acc 1/k | differ | "
          "only argmax right | only tie-aware right | McNemar p | tied → class 0 (argmax) | "
          "tied → class 0 (tie-aware) | tie-aware ≠ argmax(unrounded) |\n" + "|---" * 14 + "|")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="digits4")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--data-seed", type=int, default=0, help="the split; the same test inputs for every seed")
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--device", default=None, help="inject this device's noise while training")
    parser.add_argument("--factor", type=float, default=0.5)
    parser.add_argument("--aer-shots", type=int, default=0, help="also read out on --device's Aer twin")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.aer_shots and args.device is None:
        parser.error("--aer-shots needs --device")
    torch.set_num_threads(args.threads)
    data = load_task(args.task, seed=args.data_seed)
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"task {args.task} (split seed {args.data_seed}): train {len(data.x_train)}, test {len(data.x_test)} "
          f"inputs, {data.n_classes} classes; seeds {args.seeds}; u3cu3 x{args.blocks}, norm=True, "
          f"quant_levels={args.levels}, {args.epochs} epochs, lr {args.lr}; noise injected: "
          f"{f'{args.device} x{args.factor}' if args.device else 'none'}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)", flush=True)
    readouts: dict[str, list[tuple[int, Paired]]] = {"noise-free (torch statevector)": []}
    if args.aer_shots:
        readouts[f"Aer twin of {args.device}, {args.aer_shots} shots"] = []
    for seed in args.seeds:
        torch.manual_seed(seed)
        model = QuantumClassifier(QuantumModule(load_circuit("u3cu3", n_blocks=args.blocks)), data.n_classes,
                                  norm=True, quant_levels=args.levels)
        noise = None
        if args.device:
            from qml.noise import NoiseModel, load_snapshot

            noise = NoiseModel(load_snapshot(args.device), None, args.factor)
        start = time.perf_counter()
        result = Trainer(model, TrainConfig(args.epochs, 32, args.lr, seed=seed, noise_factor=args.factor),
                         noise).fit(data, progress=False)
        model.set_noise(None)
        model.eval()
        with torch.no_grad():
            paired = compare(model, model.measure(data.x_test), data.y_test)
        assert abs(result.test_accuracy - paired.aware_correct / paired.n) < 1e-12  # Trainer.evaluate agrees
        readouts["noise-free (torch statevector)"].append((seed, paired))
        line = f"seed {seed}: trained in {time.perf_counter() - start:.1f}s"
        if args.aer_shots:
            from qml.backends.aer_executor import AerExecutor
            from qml.noise import load_snapshot

            z = AerExecutor(load_snapshot(args.device), None, seed=seed).expectations(
                model.qmodule, data.x_test, args.aer_shots)
            aer = compare(model, z, data.y_test)
            assert abs(model.accuracy_from(z, data.y_test) - aer.aware_correct / aer.n) < 1e-12
            readouts[f"Aer twin of {args.device}, {args.aer_shots} shots"].append((seed, aer))
        print(line, flush=True)
    for name, rows in readouts.items():
        print(f"\n{name}\n{HEADER}")
        total = Paired()
        for seed, p in rows:
            print(row(str(seed), p))
            total = total.add(p)
        print(row("all (paired)", total))


if __name__ == "__main__":
    main()
