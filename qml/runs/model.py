"""The classifier a run config describes, and a finished run read back: config, data and trained model."""

from __future__ import annotations

from pathlib import Path

from qml.errors import InputError, QmlError
from qml.runs.config import RunConfig
from qml.runs.folder import MODEL, RunFolder
from qml.train import QuantumClassifier


def build_model(config: RunConfig, n_features: int, n_classes: int, space=None) -> QuantumClassifier:
    """The classifier ``config`` describes, with fresh weights. A searched circuit is built from its design space
    (``space``, when the caller has it loaded already, else the space file named in the config)."""
    from qml.circuit.library import load_circuit
    from qml.sim import QuantumModule

    if config.gene is not None:
        if space is None:
            from qml.search.loader import load_space

            space = load_space(config.space, **(config.space_options or {}))
        circuit = space.circuit(tuple(config.gene))
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
    return QuantumClassifier(QuantumModule(circuit), n_classes, norm=config.norm, quant_levels=config.quant_levels)


def load_run(run: Path | str | RunFolder, config: RunConfig | None = None, weights: str = MODEL):
    """A trained run: its config, its task's data (same seed and split) and the model with its trained weights."""
    from qml.data import load_task

    folder = run if isinstance(run, RunFolder) else RunFolder(run)
    config = config or folder.read_config(RunConfig)
    data = load_task(config.task, seed=config.train.seed, data_dir=config.data_dir)
    model = build_model(config, data.n_features, data.n_classes)
    folder.load_weights(model, weights)
    return config, data, model


def load_run_config(run: Path | str) -> RunConfig:
    return RunFolder(run).read_config(RunConfig)
