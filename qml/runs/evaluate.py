"""The evaluate stage: a trained run's accuracy on a backend, appended to ``RUN/eval.jsonl`` — with error
mitigation, one record for the raw estimate and one for each mitigated one, all from the same run of circuits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    mitigation: str | None = None  # None: raw; "readout", "zne" or "readout+zne" (qml.backends.mitigation)
    executions: int | None = None  # circuits x shots this estimate rests on (None: exact)
    mitigated: list[Evaluation] = field(default_factory=list)  # on the raw evaluation: each mitigated one

    @property
    def label(self) -> str:
        return self.description + (f", {self.mitigation}-mitigated" if self.mitigation else "")


def measure(model, executor, x, y, shots: int | None) -> tuple[float, list[bool]]:
    """Accuracy of a trained classifier on ``executor`` and, per input, whether it was right (for paired tests):
    every evaluation of a stage goes through here."""
    model.eval()
    z = executor.expectations(model.qmodule, x, shots)
    return score(model, z, y)


def score(model, z, y) -> tuple[float, list[bool]]:
    """Accuracy and per-input outcomes of the predictions from ⟨Z⟩ ``z`` (a tensor or array, inputs x wires)."""
    from qml.backends.base import as_tensor

    z = as_tensor(z, model.qmodule.theta) if not hasattr(z, "detach") else z
    correct = (model.predict_from(z) == y.cpu()).tolist()
    return sum(correct) / len(correct), correct


def measure_mitigated(model, executor, x, y, shots: int, mitigation, log=None) -> dict[str, tuple[float, list[bool],
                                                                                                 int]]:
    """(accuracy, per-input outcomes, executions) of the raw estimate (key ``raw``) and of each mitigated one,
    from one run of the evaluation's and the mitigation's circuits."""
    model.eval()
    result = executor.mitigated_expectations(model.qmodule, x, shots, mitigation, log=log)
    return {method: (*score(model, z, y), result.executions[method]) for method, z in result.z.items()}


def check_mitigation(executor, backend: str, mitigation) -> None:
    """An executor that cannot apply every method of ``mitigation`` is an ``InputError``."""
    from qml.backends.mitigation import cannot_mitigate

    if not set(mitigation.to_dict()["methods"]) <= set(getattr(executor, "mitigation_methods", ())):
        raise cannot_mitigate(backend)


def evaluate_run(run: Path, backend: str = "torch", *, shots: int | None = None, layout: list[int] | None = None,
                 split: str = "test", limit: int | None = None, noise_factor: float = 1.0,
                 seed: int = 0, mitigation=None, say: Callable[[str], None] | None = None) -> Evaluation:
    """Accuracy of ``run``'s trained model on ``backend`` (``torch``, ``torch:DEVICE``, ``aer:DEVICE``); the run's
    layout is used unless ``layout`` is given, and only by backends that place circuits on qubits. With a
    ``qml.backends.mitigation.Mitigation`` (Aer only) the returned raw evaluation lists the mitigated ones in
    ``mitigated``; ``say`` gets their cost before anything runs."""
    from qml.backends import make_executor

    folder = RunFolder(run).require()
    if mitigation is not None:
        mitigation.check_available()  # a missing optional dependency is told before any slow work
    config, data, model = load_run(folder)
    model.eval()
    x, y = (data.x_test, data.y_test) if split == "test" else (data.x_valid, data.y_valid)
    if limit:
        x, y = x[:limit], y[:limit]
    if layout is None and backend.partition(":")[2]:
        layout = config.layout
    executor = make_executor(backend, layout=layout, seed=seed, noise_factor=noise_factor)
    if mitigation is not None:
        check_mitigation(executor, backend, mitigation)
    if shots is None and executor.capabilities.needs_shots:
        shots = 1024
    start = time.perf_counter()
    if mitigation is None:
        accuracy, correct = measure(model, executor, x, y, shots)
        results = {"raw": (accuracy, correct, len(x) * shots if shots else None)}
    else:
        results = measure_mitigated(model, executor, x, y, shots, mitigation, log=say)
    seconds = time.perf_counter() - start
    base = {"backend": backend, "shots": shots, "layout": layout, "noise_factor": noise_factor, "seed": seed,
            "split": split, "n": len(x)}
    transpiled = getattr(executor, "last_transpiled", None)
    evaluations = []
    for method, (accuracy, correct, executions) in results.items():
        record = {**base, "mitigation": None if method == "raw" else method, "executions": executions,
                  "accuracy": accuracy, "seconds": round(seconds, 3)}
        if mitigation is not None and method != "raw":
            record["mitigation_settings"] = mitigation.to_dict()
        if transpiled is not None:
            record["transpiled"] = {"depth": transpiled.depth(), "ops": dict(transpiled.count_ops())}
        folder.append(EVAL, record)
        evaluations.append(Evaluation(backend, executor.describe(), split, len(x), shots, accuracy, seconds, correct,
                                      None if method == "raw" else method, executions))
    raw, *mitigated = evaluations
    raw.mitigated = mitigated
    return raw
