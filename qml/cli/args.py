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
