"""``qml prune RUN --ratio 0.5``: gate pruning of a trained run (the ``gate_prune`` pass of the qml-quantum plugin),
finetuned the way the run was trained (with its device noise injected), written as a new run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from qml.cli.args import positive_int


def register(sub) -> None:
    p = sub.add_parser("prune", help="prune a trained run's rotation angles (gate_prune, qml-quantum plugin)",
                       description="Iterative magnitude pruning of a run's rotation angles with finetuning; writes "
                                   "RUN/pruned-RATIO (a run folder qml eval can read). A killed prune continues "
                                   "where it stopped when run again.")
    p.add_argument("run", type=Path, metavar="RUN")
    p.add_argument("--ratio", type=float, default=0.5, help="fraction of angles pruned (default 0.5)")
    p.add_argument("--start-ratio", type=float, default=0.1, help="fraction pruned at the first step (default 0.1)")
    p.add_argument("--steps", type=positive_int, default=10, help="steps ramping to --ratio (default 10)")
    p.add_argument("--finetune-epochs", type=int, default=4, help="finetuning epochs after each step (default 4)")
    p.add_argument("--lr", type=float, help="finetuning learning rate (default: the run's)")
    p.add_argument("--device", help="device whose transpiled gate counts to report (default: the run's)")
    p.add_argument("--out", type=Path, help="output run folder (default RUN/pruned-RATIO)")
    p.add_argument("--resume", action="store_true", help="continue a killed prune in --out")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from qml.runs import prune_run

    outcome = prune_run(args.run, ratio=args.ratio, start_ratio=args.start_ratio, steps=args.steps,
                        finetune_epochs=args.finetune_epochs, lr=args.lr, device=args.device, out=args.out,
                        resume=args.resume, say=None if args.quiet else print)
    s = outcome.summary
    print(f"pruned {s['pruned_angles']}/{s['angles']} angles; logical gates {s['gates_before']} -> "
          f"{s['gates_after']}; test accuracy (noise-free) {s['test_accuracy_before']:.4f} -> "
          f"{s['test_accuracy']:.4f}")
    if s["transpiled_before"]:
        b, a = s["transpiled_before"], s["transpiled_after"]
        print(f"on {s['device']}: 2-qubit gates {b['two_qubit']} -> {a['two_qubit']}, 1-qubit pulses "
              f"{b['pulses_1q']} -> {a['pulses_1q']}, depth {b['depth']} -> {a['depth']}")
    print(f"wrote {args.out or Path(args.run) / f'pruned-{args.ratio:g}'}")
    return 0
