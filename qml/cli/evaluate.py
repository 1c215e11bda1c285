"""``qml eval RUN --backend aer:ibm_quito --shots 1024``: a trained run's accuracy on a backend."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def register(sub) -> None:
    from qml.cli.train import _layout, _positive_int

    p = sub.add_parser("eval", help="evaluate a trained run on a backend (torch, torch:DEVICE, aer:DEVICE)",
                       description="Accuracy of a trained run on a backend; appends the result to RUN/eval.jsonl.")
    p.add_argument("run", type=Path, metavar="RUN", help="run folder written by qml train --out")
    p.add_argument("--backend", default="torch", help="torch (noise-free), torch:DEVICE (injected noise) or "
                                                      "aer:DEVICE (the device's Aer twin); default torch")
    p.add_argument("--shots", type=_positive_int, help="shots per input (default: exact for torch, 1024 for aer)")
    p.add_argument("--layout", type=_layout, help="physical qubits (default: the run's layout, else trivial)")
    p.add_argument("--split", default="test", choices=("test", "valid"))
    p.add_argument("--limit", type=_positive_int, help="evaluate only the first N inputs of the split")
    p.add_argument("--noise-factor", type=float, default=1.0, help="noise factor for torch:DEVICE (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:

    from qml.backends import make_executor
    from qml.train.run import EVAL, load_run

    config, data, model = load_run(args.run)
    model.eval()
    x, y = (data.x_test, data.y_test) if args.split == "test" else (data.x_valid, data.y_valid)
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    layout = args.layout or config.layout
    shots = args.shots if args.shots is not None else (1024 if args.backend.startswith("aer") else None)
    executor = make_executor(args.backend, layout=layout, seed=args.seed, noise_factor=args.noise_factor)
    start = time.perf_counter()
    z = executor.expectations(model.qmodule, x, shots)
    seconds = time.perf_counter() - start
    accuracy = model.accuracy_from(z, y)
    record = {"backend": args.backend, "shots": shots, "layout": layout, "split": args.split, "n": len(x),
              "accuracy": accuracy, "seconds": round(seconds, 3)}
    if getattr(executor, "last_transpiled", None) is not None:
        ops = executor.last_transpiled.count_ops()
        record["transpiled"] = {"depth": executor.last_transpiled.depth(), "ops": dict(ops)}
    with (args.run / EVAL).open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(f"{executor.describe()}: {args.split} accuracy {accuracy:.4f} on {len(x)} inputs"
          + (f" x {shots} shots" if shots else "") + f" ({seconds:.1f} s)")
    return 0
