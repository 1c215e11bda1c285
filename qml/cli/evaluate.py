"""``qml eval RUN --backend aer:ibm_quito --shots 1024 [--mitigate readout,zne]``: a trained run's accuracy on a
backend; with error mitigation, the raw accuracy and each mitigated one, one line (and one eval.jsonl record)
each."""

from __future__ import annotations

import argparse
from pathlib import Path

from qml.cli.args import layout_arg, noise_factor_arg, positive_int


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a trained run on a backend (torch, torch:DEVICE, aer:DEVICE)",
                       description="Accuracy of a trained run on a backend; appends the result to RUN/eval.jsonl.")
    p.add_argument("run", type=Path, metavar="RUN", help="run folder written by qml train --out")
    p.add_argument("--backend", default="torch", help="torch (noise-free), torch:DEVICE (injected noise) or "
                                                      "aer:DEVICE (the device's Aer twin); default torch")
    p.add_argument("--shots", type=positive_int, help="shots per input (default: exact for torch, 1024 for aer)")
    p.add_argument("--layout", type=layout_arg, help="physical qubits (default: the run's layout, else trivial)")
    p.add_argument("--split", default="test", choices=("test", "valid"))
    p.add_argument("--limit", type=positive_int, help="evaluate only the first N inputs of the split")
    p.add_argument("--noise-factor", type=noise_factor_arg, default=1.0,
                   help="noise factor for torch:DEVICE (default 1; aer and ibm run the device as calibrated)")
    p.add_argument("--seed", type=int, default=0)
    add_mitigation_args(p)
    p.set_defaults(handler=run)


def add_mitigation_args(p) -> None:
    """``--mitigate readout,zne`` (repeatable), ``--zne-scales``, ``--zne-fit``: shared by qml eval and qml run."""
    p.add_argument("--mitigate", action="append", metavar="METHODS",
                   help="error mitigation, reported next to the raw accuracy: readout (mthree; pip install "
                        "'qml-robust[mitigation]'), zne (zero-noise extrapolation by folding two-qubit gates), or "
                        "readout,zne; repeatable")
    p.add_argument("--zne-scales", metavar="S,S,..", help="ZNE noise scale factors, odd integers (default 1,3,5)")
    p.add_argument("--zne-fit", metavar="FIT", help="ZNE extrapolation: linear (default) or richardson")


def mitigation_of(args: argparse.Namespace):
    from qml.backends.mitigation import Mitigation

    return Mitigation.parse(args.mitigate, args.zne_scales, args.zne_fit)


def run(args: argparse.Namespace) -> int:
    from qml.runs import evaluate_run

    e = evaluate_run(args.run, args.backend, shots=args.shots, layout=args.layout, split=args.split,
                     limit=args.limit, noise_factor=args.noise_factor, seed=args.seed, mitigation=mitigation_of(args),
                     say=print)
    for row in (e, *e.mitigated):
        print(f"{row.label}: {row.split} accuracy {row.accuracy:.4f} on {row.n} inputs"
              + (f" x {row.shots} shots" if row.shots else "")
              + (f", {row.executions:,} executions" if row.mitigated or row.mitigation else "")
              + f" ({row.seconds:.1f} s)")
    return 0
