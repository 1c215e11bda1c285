"""The evaluate stage: a trained run's accuracy on a backend, appended to ``RUN/eval.jsonl``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from qml.runs.folder import EVAL, RunFolder
from qml.runs.model import load_run


@dataclass
class Evaluation:
    backend: str
    description: str
    split: str
    n: int
    shots: int | None
    accuracy: float
    seconds: float
    correct: list[bool]  # per input, in split order: for paired tests between methods on the same inputs


def measure(model, executor, x, y, shots: int | None) -> tuple[float, list[bool]]:
    """Accuracy of a trained classifier on ``executor`` and, per input, whether it was right (for paired tests):
    every evaluation of a stage goes through here."""
    model.eval()
    z = executor.expectations(model.qmodule, x, shots)
    correct = (model.predict_from(z) == y.cpu()).tolist()
    return sum(correct) / len(correct), correct


def evaluate_run(run: Path, backend: str = "torch", *, shots: int | None = None, layout: list[int] | None = None,
                 split: str = "test", limit: int | None = None, noise_factor: float = 1.0,
                 seed: int = 0) -> Evaluation:
    """Accuracy of ``run``'s trained model on ``backend`` (``torch``, ``torch:DEVICE``, ``aer:DEVICE``); the run's
    layout is used unless ``layout`` is given, and only by backends that place circuits on qubits."""
    from qml.backends import make_executor

    folder = RunFolder(run).require()
    config, data, model = load_run(folder)
    model.eval()
    x, y = (data.x_test, data.y_test) if split == "test" else (data.x_valid, data.y_valid)
    if limit:
        x, y = x[:limit], y[:limit]
    name, _, device = backend.partition(":")
    if layout is None and device:
        layout = config.layout
    executor = make_executor(backend, layout=layout, seed=seed, noise_factor=noise_factor)
    if shots is None and executor.capabilities.needs_shots:
        shots = 1024
    start = time.perf_counter()
    accuracy, correct = measure(model, executor, x, y, shots)
    seconds = time.perf_counter() - start
    record = {"backend": backend, "shots": shots, "layout": layout, "noise_factor": noise_factor, "seed": seed,
              "split": split, "n": len(x), "accuracy": accuracy, "seconds": round(seconds, 3)}
    if getattr(executor, "last_transpiled", None) is not None:
        ops = executor.last_transpiled.count_ops()
        record["transpiled"] = {"depth": executor.last_transpiled.depth(), "ops": dict(ops)}
    folder.append(EVAL, record)
    return Evaluation(backend, executor.describe(), split, len(x), shots, accuracy, seconds, correct)
