"""Argument types shared by the commands: one rule per kind of value, one message each."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def noise_factor_arg(text: str) -> float:
    """The noise factor T of every command (train, eval, search): a positive, finite number."""
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive noise factor (QuantumNAT uses 0.1-1.5), got {text!r}"
                                         ) from None


def layout_arg(text: str) -> list[int]:
    try:
        return [int(q) for q in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected physical qubits like 0,1,2,3, got {text!r}") from None


def levels_arg(text: str) -> int:
    value = positive_int(text)
    if not 2 <= value <= 64:
        raise argparse.ArgumentTypeError(f"expected 2 to 64 quantization levels (QuantumNAT uses 3-6), got {value}")
    return value


def default_out(base, resume: bool = False):
    """The default run folder: ``base``, or with ``resume`` the newest ``base-N``; else the first free one."""
    candidates = [base] + [base.with_name(f"{base.name}-{n}") for n in range(2, 1000)]
    if resume:
        existing = [c for c in candidates if c.exists()]
        return existing[-1] if existing else base
    return next(c for c in candidates if not c.exists() or not any(c.iterdir()))


def task_and_data(args) -> tuple[str, str | None]:
    """``--task`` or ``--data FILE`` (then the task is named after the file), never both."""
    from pathlib import Path

    from qml.errors import InputError

    if args.data is not None:
        if args.task is not None:
            raise InputError("give --task or --data FILE, not both")
        return Path(args.data).stem, str(Path(args.data).resolve())
    return args.task or "digits4", None


def add_ray_flags(parser) -> None:
    """``--ray``, ``--ray-address``, ``--workers``, ``--worker-threads``: where a command's independent units run."""
    g = parser.add_argument_group("on Ray (pip install \"qml-robust[ray]\")")
    g.add_argument("--ray", action="store_true",
                   help="run the independent units on Ray: a local Ray started for this command, or the cluster "
                        "RAY_ADDRESS names; the results are the same as in-process")
    g.add_argument("--ray-address", metavar="ADDR",
                   help="join the running Ray cluster at ADDR (e.g. 10.0.0.5:6379, from `ray start --head`); the run "
                        "folder must be on a file system every node mounts at the same path")
    g.add_argument("--workers", type=positive_int,
                   help="workers of the local Ray (default: this machine's cores)")
    g.add_argument("--worker-threads", type=positive_int, default=1,
                   help="torch and Aer threads of each worker, and the cores it asks Ray for (default 1)")


def open_pool(args):
    """The Ray pool the flags ask for (``--ray``, ``--ray-address``; ``RAY_ADDRESS`` with ``--ray``), or None: run
    in-process."""
    import os

    from qml.errors import InputError

    if not (args.ray or args.ray_address):
        given = [flag for flag, value in (("--workers", args.workers), ("--worker-threads", args.worker_threads != 1))
                 if value]
        if given:
            raise InputError(f"{' and '.join(given)} set(s) up Ray's workers: add --ray (or --ray-address ADDR)")
        return None
    from qml.runs.ray_pool import RayPool

    return RayPool(args.ray_address or os.environ.get("RAY_ADDRESS") or None, workers=args.workers,
                   threads=args.worker_threads)


def confirm_on_terminal(question: str):
    """``confirm(cost)`` for paid work: asks ``question``; refused when nobody is at a terminal to answer (the
    user passes ``--yes`` instead)."""
    import sys

    def confirm(cost: str) -> bool:
        if not sys.stdin.isatty():
            return False
        try:
            return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False

    return confirm
