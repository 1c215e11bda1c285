"""The train stage: a classifier trained on a task, optionally with a device's noise injected, into a run folder
(resumable from its per-epoch checkpoint)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from qml.runs.config import RunConfig
from qml.runs.folder import CHECKPOINT, METRICS, MODEL, QASM, RunFolder
from qml.runs.model import build_model, load_run_data, read_run_config
from qml.runs.provenance import record


@dataclass
class TrainOutcome:
    config: RunConfig
    model: object
    data: object
    result: object  # qml.train.TrainResult
    noise: object | None


@contextlib.contextmanager
def seeded(seed: int):
    """Draw fresh weights from ``seed`` without touching the caller's global torch generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def noise_for(config: RunConfig, factor: float | None = None):
    """The noise model a run trains with (None for noise-free training)."""
    if config.device_name is None:
        return None
    from qml.device import Device
    from qml.noise import NoiseModel

    device = Device.load(config.device_name)
    return NoiseModel(device.snapshot, config.layout, config.train.noise_factor if factor is None else factor)


def train_run(config: RunConfig | None, out: Path | None = None, *, resume: bool = False, progress: bool | None = None,
              say: Callable[[str], None] = print, data=None, space=None) -> TrainOutcome:
    """Train ``config`` (or, with ``resume``, the config stored in ``out``) and write the run folder ``out``.
    A new run checks everything (device, data, circuit, layout) before its folder is made."""
    folder = RunFolder.resume(out) if resume else None
    try:
        if resume:
            config = read_run_config(folder)
            say(f"resuming {out}" if folder.has(CHECKPOINT) else f"restarting {out}: it stopped before its first "
                                                                  "checkpoint")
        model, data, noise = _prepare(config, data, space, folder)
        if out is not None and not resume:
            folder = RunFolder.create(out)
            folder.write_config(config)
            record(folder, config, files={"circuit": config.circuit, "space": config.space},
                   device=config.device_name, data=config.data_file)
        circuit = model.qmodule.circuit
        say(f"task {data.name}: {len(data.x_train)} train / {len(data.x_valid)} valid / {len(data.x_test)} test, "
            f"{data.n_classes} classes; circuit {circuit.name}: {circuit.n_wires} qubits, {len(circuit)} gates, "
            f"{circuit.n_trainable} trainable angles" + (f"; noise {noise!r}" if noise else ""))
        result = fit(model, config, noise, data, folder, progress)
        if folder is not None:
            finish(folder, model, result)
        return TrainOutcome(config, model, data, result, noise)
    finally:
        if folder is not None:
            folder.close()


def _prepare(config: RunConfig, data=None, space=None, folder: RunFolder | None = None):
    """The run's model (fresh weights from its seed), data and noise model; every user mistake fails here."""
    from qml.train import resolve_device

    resolve_device(config.train.device)
    data = data or load_run_data(config.task, config.train.seed, config.data_dir, config.data_file, folder)
    with seeded(config.train.seed):
        model = build_model(config, data.n_features, data.n_classes, space, folder)
    noise = noise_for(config)
    if noise is not None:
        noise.placed(model.qmodule.circuit)
    return model, data, noise


def fit(model, config: RunConfig, noise, data, folder: RunFolder | None, progress: bool | None = None):
    """Train with a checkpoint every epoch; ``metrics.jsonl`` is rewritten from the checkpoint's history on
    resume (the checkpoint is the truth), so a kill between checkpoint and log never duplicates or loses an
    epoch."""
    from qml.train import Trainer

    if folder is None:
        return Trainer(model, config.train, noise).fit(data, progress=progress)
    resume = folder.has(CHECKPOINT)
    history = []
    if resume:
        from qml.train.checkpoint import load_checkpoint

        history = load_checkpoint(folder.file(CHECKPOINT), config.train.epochs)["history"]
    folder.write_text(METRICS, "".join(json.dumps(row) + "\n" for row in history))
    return Trainer(model, config.train, noise).fit(
        data, progress=progress, on_epoch=lambda m: folder.append(METRICS, asdict(m)),
        checkpoint=folder.file(CHECKPOINT), resume=resume)


def finish(folder: RunFolder, model, result) -> None:
    """Final weights, the circuit as OpenQASM 3 with its trained angles, and the test result."""
    from qml.circuit import to_qasm3

    model.set_noise(None)
    folder.save_weights(model, MODEL)
    theta = model.qmodule.theta.detach().cpu().double().tolist()
    folder.write_text(QASM, to_qasm3(model.qmodule.circuit, theta=theta))
    folder.write_result({"test_accuracy": result.test_accuracy, "test_loss": result.test_loss})
