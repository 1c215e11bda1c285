"""The train stage: a classifier trained on a task, optionally with a device's noise injected, into a run folder
(resumable from its per-epoch checkpoint)."""

from __future__ import annotations

import contextlib
import json
import time
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
              say: Callable[[str], None] = print, data=None, space=None,
              confirm: Callable[[str], bool] | None = None) -> TrainOutcome:
    """Train ``config`` (or, with ``resume``, the config stored in ``out``) and write the run folder ``out``.
    A new run checks everything (device, data, circuit, layout) before its folder is made. On-chip training on
    IBM Quantum asks ``confirm(cost)`` before its first job (None: no question)."""
    folder = RunFolder.resume(out) if resume else None
    try:
        if resume:
            config = read_run_config(folder)
            say(f"resuming {out}" if folder.has(CHECKPOINT) else f"restarting {out}: it stopped before its first "
                                                                  "checkpoint")
        model, data, noise = _prepare(config, data, space, folder)
        if config.onchip is not None:  # before the folder is made: a refused cost leaves nothing behind
            on_chip(model, config, data, out, say, confirm)
        if out is not None and not resume:
            folder = RunFolder.create(out)
            folder.write_config(config)
            record(folder, config, files={"circuit": config.circuit, "space": config.space},
                   device=config.device_name, data=config.data_file)
        circuit = model.qmodule.circuit
        say(f"task {data.name}: {len(data.x_train)} train / {len(data.x_valid)} valid / {len(data.x_test)} test, "
            f"{data.n_classes} classes; circuit {circuit.name}: {circuit.n_wires} qubits, {len(circuit)} gates, "
            f"{circuit.n_trainable} trainable angles" + (f"; noise {noise!r}" if noise else ""))
        started = time.perf_counter()
        result = fit(model, config, noise, data, folder, progress)
        if folder is not None:
            finish(folder, model, result, time.perf_counter() - started)
        return TrainOutcome(config, model, data, result, noise)
    finally:
        if folder is not None:
            folder.close()


def on_chip(model, config: RunConfig, data, out: Path | None, say, confirm) -> None:
    """Measure the model on ``config.onchip``'s backend from now on; say what it costs and, on IBM Quantum, ask."""
    from qml.errors import InputError
    from qml.runs.onchip import OnChipMeasurer, describe_cost, estimate, executors_for, is_ibm

    spec = config.onchip
    circuit = model.qmodule.circuit
    executors = executors_for(spec, config.layout, config.train.seed, out, say)
    measurer = OnChipMeasurer(executors, spec, circuit, config.train.seed)
    sizes = (len(data.x_train), len(data.x_valid), len(data.x_test))
    cost = describe_cost(spec, estimate(spec, measurer.plan, circuit.n_trainable, sizes, config.train.epochs,
                                        config.train.batch_size))
    say(cost)
    if is_ibm(spec.backend) and confirm is not None and not confirm(cost):
        raise InputError("not submitted (answer y to the prompt, or pass --yes)")
    model.set_measurer(measurer)


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
    history, costs = [], []
    if resume:
        from qml.train.checkpoint import load_checkpoint

        state = load_checkpoint(folder.file(CHECKPOINT), config.train.epochs)
        history, costs = state["history"], state.get("measurer", {}).get("epochs", [])
    rows = [{**row, **(costs[i] if i < len(costs) else {})} for i, row in enumerate(history)]
    folder.write_text(METRICS, "".join(json.dumps(row) + "\n" for row in rows))

    def on_epoch(m) -> None:
        cost = model.measurer.epochs[-1] if model.measurer is not None else {}
        folder.append(METRICS, {**asdict(m), **cost})

    return Trainer(model, config.train, noise).fit(data, progress=progress, on_epoch=on_epoch,
                                                   checkpoint=folder.file(CHECKPOINT), resume=resume)


def finish(folder: RunFolder, model, result, seconds: float | None = None) -> None:
    """Final weights, the circuit as OpenQASM 3 with its trained angles, and the test result (on-chip: measured on
    the backend, with what the training cost)."""
    from qml.circuit import to_qasm3

    model.set_noise(None)
    folder.save_weights(model, MODEL)
    theta = model.qmodule.theta.detach().cpu().double().tolist()
    folder.write_text(QASM, to_qasm3(model.qmodule.circuit, theta=theta))
    record = {"test_accuracy": result.test_accuracy, "test_loss": result.test_loss}
    if model.measurer is not None:
        spec = model.measurer.config
        record["onchip"] = {"backend": spec.backend, "shots": spec.shots, **model.measurer.cost(),
                            "calls": model.measurer.calls, "seconds_this_call": round(seconds or 0.0, 3)}
    folder.write_result(record)
