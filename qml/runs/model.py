"""The classifier a run config describes, and a finished run read back: config, data and trained model."""

from __future__ import annotations

from pathlib import Path

from qml.errors import InputError, QmlError
from qml.runs.config import RunConfig
from qml.runs.folder import CONFIG, MODEL, RunFolder
from qml.train import QuantumClassifier


def build_model(config: RunConfig, n_features: int, n_classes: int, space=None,
                folder: RunFolder | None = None) -> QuantumClassifier:
    """The classifier ``config`` describes, with fresh weights. A searched circuit is built from its design space
    (``space``, when the caller has it loaded already, else the space file named in the config). With ``folder``,
    the user's circuit or space file is the copy stored with the run."""
    from qml.circuit.library import load_circuit
    from qml.runs.provenance import source
    from qml.sim import QuantumModule

    circuit_file = config.circuit if folder is None else source(folder, "circuit", config.circuit)
    if config.gene is not None:
        if space is None:
            from qml.search.loader import load_space

            space_file = config.space if folder is None else source(folder, "space", config.space)
            space = load_space(space_file, **(config.space_options or {}))
        circuit = space.circuit(tuple(config.gene))
    else:
        circuit = load_circuit(circuit_file, n_blocks=config.blocks)
    if circuit.n_inputs != n_features and n_features != 16 and config.gene is None:
        try:  # a design with an encoder option takes the task's feature count (vowel4: 10_ryzxy)
            circuit = load_circuit(circuit_file, n_blocks=config.blocks, encoder=f"{n_features}_ryzxy")
        except QmlError:
            pass
    if circuit.n_inputs != n_features:
        raise InputError(f"circuit {config.circuit!r} takes {circuit.n_inputs} features, task {config.task!r} "
                         f"gives {n_features}")
    return QuantumClassifier(QuantumModule(circuit), n_classes, norm=config.norm, quant_levels=config.quant_levels)


def load_run(run: Path | str | RunFolder, config: RunConfig | None = None, weights: str = MODEL):
    """A trained run: its config, its task's data (same seed and split) and the model with its trained weights."""
    folder = run if isinstance(run, RunFolder) else RunFolder(run)
    config = config or read_run_config(folder)
    data = load_run_data(config.task, config.train.seed, config.data_dir, config.data_file, folder)
    model = build_model(config, data.n_features, data.n_classes, folder=folder)
    folder.load_weights(model, weights)
    return config, data, model


def load_run_data(task: str, seed: int, data_dir: str | None = None, data_file: str | None = None,
                  folder: RunFolder | None = None):
    """A run's data: the user's ``.npz`` file (checked against the hash the run recorded) or a named task."""
    from qml.data import load_data, load_task

    if data_file is None:
        return load_task(task, seed=seed, data_dir=data_dir)
    if folder is not None:
        from qml.runs.provenance import check_unchanged

        check_unchanged(folder, "data", data_file)
    return load_data(data_file, seed=seed)


def load_run_config(run: Path | str) -> RunConfig:
    return read_run_config(RunFolder(run))


def read_run_config(folder: RunFolder) -> RunConfig:
    """A trained run's config; a search folder is named as such, with the run folders inside it."""
    folder.require()
    if folder.has("evaluations.jsonl") or folder.has("super.pt") or (folder.path / "winner" / CONFIG).is_file():
        inside = [str(folder.path / n) for n in ("winner", "winner/pruned", "baseline", "random")
                  if (folder.path / n / CONFIG).is_file()]
        raise InputError(f"{folder.path} is a search run folder, not a trained run; use one of the run folders "
                         f"inside it: {', '.join(inside) if inside else '(none finished yet)'}")
    return folder.read_config(RunConfig)
