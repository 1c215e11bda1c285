"""A run folder (DESIGN.md §5): ``config.json`` (everything needed to rebuild the model), ``metrics.jsonl``,
``checkpoint.pt`` (every epoch), ``model.pt`` (final weights), ``circuit.qasm``, ``result.json`` and, after
``qml eval``, ``eval.jsonl``. Files are written atomically; checkpoints and weights load with
``weights_only=True``."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from qml.errors import InputError, QmlError
from qml.train.trainer import QuantumClassifier, TrainConfig

CONFIG, METRICS, CHECKPOINT, MODEL, QASM, RESULT, EVAL = ("config.json", "metrics.jsonl", "checkpoint.pt",
                                                          "model.pt", "circuit.qasm", "result.json", "eval.jsonl")


@dataclass
class RunConfig:
    """What a run was made from: task, circuit, training settings, device noise and post-processing."""

    task: str = "digits4"
    circuit: str = "u3cu3"
    blocks: int = 2
    train: TrainConfig = field(default_factory=TrainConfig)
    device_name: str | None = None  # noise snapshot, e.g. ibm_quito (None: noise-free training)
    layout: list[int] | None = None
    norm: bool = False
    quant_levels: int | None = None
    data_dir: str | None = None
    space: str | None = None  # a searched circuit: design space name or file, its options and the gene
    space_options: dict | None = None
    gene: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["train"] = asdict(self.train)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any], where: str) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(doc) - known
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            train = TrainConfig(**doc.get("train", {}))
            return cls(**{**doc, "train": train})
        except TypeError as exc:
            raise InputError(f"{where}: {exc}") from None


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def load_run_config(run: Path) -> RunConfig:
    path = run / CONFIG
    if not run.is_dir():
        raise InputError(f"run folder {run} does not exist")
    if not path.is_file():
        raise InputError(f"{run} is not a qml run folder: no {CONFIG}")
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object")
    return RunConfig.from_dict(doc, str(path))


def build_model(config: RunConfig, n_features: int, n_classes: int) -> QuantumClassifier:
    """The classifier a run config describes, with fresh weights."""
    import qml
    from qml.circuit.library import load_circuit

    if config.gene is not None:
        from qml.search.loader import load_space

        circuit = load_space(config.space, **(config.space_options or {})).circuit(tuple(config.gene))
    else:
        circuit = load_circuit(config.circuit, n_blocks=config.blocks)
    if circuit.n_inputs != n_features and n_features != 16 and config.gene is None:
        try:  # a design with an encoder option takes the task's feature count (vowel4: 10_ryzxy)
            circuit = load_circuit(config.circuit, n_blocks=config.blocks, encoder=f"{n_features}_ryzxy")
        except QmlError:
            pass
    if circuit.n_inputs != n_features:
        raise InputError(f"circuit {config.circuit!r} takes {circuit.n_inputs} features, task {config.task!r} "
                         f"gives {n_features}")
    return QuantumClassifier(qml.QuantumModule(circuit), n_classes, norm=config.norm,
                             quant_levels=config.quant_levels)


def load_run(run: Path, config: RunConfig | None = None):
    """A trained run: its config, its task's data (same seed and split) and the model with its trained weights."""
    from qml.data import load_task

    config = config or load_run_config(run)
    data = load_task(config.task, seed=config.train.seed, data_dir=config.data_dir)
    model = build_model(config, data.n_features, data.n_classes)
    load_weights(model, run / MODEL)
    return config, data, model


def load_weights(model: torch.nn.Module, path: Path) -> None:
    if not path.is_file():
        raise InputError(f"no trained weights at {path}: the run did not finish (resume it with --resume)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        raise InputError(f"weights {path} are corrupted or do not match the run's model "
                         f"({type(exc).__name__})") from None
