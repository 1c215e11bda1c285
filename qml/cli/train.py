"""``qml train``: train a circuit classifier on a bundled task and print its test accuracy."""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from qml.errors import InputError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _layout(text: str) -> list[int]:
    try:
        return [int(q) for q in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected physical qubits like 0,1,2,3, got {text!r}") from None


def _levels(text: str) -> int:
    value = _positive_int(text)
    if not 2 <= value <= 64:
        raise argparse.ArgumentTypeError(f"expected 2 to 64 quantization levels (QuantumNAT uses 3-6), got {value}")
    return value


def register(sub) -> None:
    p = sub.add_parser("train", help="train a circuit classifier on a task",
                       description="Train a circuit classifier, optionally with a device's noise injected, and print "
                                   "its test accuracy.")
    p.add_argument("--task", default="digits4",
                   help="dataset: digits4 (default), digits2 (bundled); mnist4, mnist2, fashion4, fashion2 "
                        "(IDX files); vowel4 (UCI vowel-context.data)")
    p.add_argument("--data-dir", type=Path, help="folder holding the task's data files (default: $QML_DATA_DIR, "
                                                 "then /usr/share/datasets/fashion-mnist for Fashion-MNIST)")
    p.add_argument("--circuit", default="u3cu3", help="built-in circuit name or path to a .py file (default u3cu3)")
    p.add_argument("--blocks", type=_positive_int, default=2, help="circuit blocks (default 2)")
    p.add_argument("--epochs", type=_positive_int, default=60)
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--lr", type=_positive_float, default=0.02,
                   help="Adam learning rate (default 0.02, measured best on digits4; QuantumNAS's 5e-3 reaches 0.84)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-device", default="cpu", help="cpu, cuda or cuda:N")
    noise = p.add_argument_group("device noise (QuantumNAT)")
    noise.add_argument("--device", help="inject this device's noise while training, e.g. ibm_quito (qml noise list)")
    noise.add_argument("--layout", type=_layout, help="physical qubit of each logical wire, e.g. 0,1,2,3 (default)")
    noise.add_argument("--noise-factor", type=float, default=1.0, help="noise factor T (default 1.0)")
    noise.add_argument("--noise-schedule", default="constant", choices=("constant", "linear"))
    noise.add_argument("--norm", action="store_true", help="post-measurement normalisation")
    noise.add_argument("--quant", type=_levels, metavar="LEVELS", help="post-measurement quantization levels")
    noise.add_argument("--quant-lambda", type=float, default=0.1, help="weight of the quantization MSE (default 0.1)")
    p.add_argument("--out", type=Path, help="run folder: config, metrics, checkpoints, weights, circuit as QASM 3")
    p.add_argument("--resume", action="store_true", help="continue the killed run in --out from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _config_from_args(args: argparse.Namespace):
    from qml.train import TrainConfig
    from qml.train.run import RunConfig

    if args.device is None and (args.layout or args.noise_factor != 1.0 or args.noise_schedule != "constant"):
        raise InputError("--layout, --noise-factor and --noise-schedule need --device")
    train = TrainConfig(args.epochs, args.batch_size, args.lr, args.weight_decay, seed=args.seed,
                        device=args.torch_device, noise_factor=args.noise_factor,
                        noise_schedule=args.noise_schedule, quant_lambda=args.quant_lambda)
    return RunConfig(args.task, args.circuit, args.blocks, train, args.device, args.layout, args.norm, args.quant,
                     None if args.data_dir is None else str(args.data_dir))


def run(args: argparse.Namespace) -> int:
    from qml.data import load_task
    from qml.train import resolve_device
    from qml.train.run import CHECKPOINT, CONFIG, load_run_config

    out: Path | None = args.out
    if args.resume:
        if out is None:
            raise InputError("--resume needs --out RUN, the run folder to continue")
        config = load_run_config(out)
        print(f"resuming {out}")
    else:
        if out is not None and out.exists():
            if not out.is_dir():
                raise InputError(f"--out {out} exists and is a file; choose a new folder")
            if any(out.iterdir()):
                raise InputError(f"--out {out} exists and is not empty; choose a new folder (or --resume it)")
        config = _config_from_args(args)
    resolve_device(config.train.device)
    data = load_task(config.task, seed=config.train.seed, data_dir=config.data_dir)
    torch.manual_seed(config.train.seed)
    from qml.train.run import build_model

    model = build_model(config, data.n_features, data.n_classes)
    noise = None
    if config.device_name is not None:
        from qml.noise import NoiseModel, load_snapshot

        noise = NoiseModel(load_snapshot(config.device_name), config.layout, config.train.noise_factor)
        noise.placed(model.qmodule.circuit)  # wrong layouts fail here, before anything is written
    circuit = model.qmodule.circuit
    print(f"task {data.name}: {len(data.x_train)} train / {len(data.x_valid)} valid / {len(data.x_test)} test, "
          f"{data.n_classes} classes; circuit {circuit.name}: {circuit.n_wires} qubits, {len(circuit)} gates, "
          f"{circuit.n_trainable} trainable angles" + (f"; noise {noise!r}" if noise else ""))
    if out is not None and not args.resume:
        out.mkdir(parents=True, exist_ok=True)
        _write(out / CONFIG, json.dumps(config.to_dict(), indent=2))
    try:
        result = _fit(model, config, noise, data, out, args)
    except BaseException:
        if out is not None and not args.resume and not (out / CHECKPOINT).exists():
            shutil.rmtree(out, ignore_errors=True)  # nothing was trained: leave nothing half-written
        raise
    last = result.history[-1]
    print(f"epoch {last.epoch}: train loss {last.train_loss:.4f}, train accuracy {last.train_accuracy:.4f}, "
          f"valid accuracy {last.valid_accuracy:.4f}")
    print(f"test accuracy {result.test_accuracy:.4f}" + (" (noise-free)" if noise else ""))
    if out is not None:
        _finish(out, model, result)
    return 0


def _fit(model, config, noise, data, out: Path | None, args):
    from qml.train import Trainer
    from qml.train.run import CHECKPOINT, METRICS

    metrics_file = None if out is None else (out / METRICS).open("a" if args.resume else "w")

    def log(m) -> None:
        if metrics_file is not None:
            metrics_file.write(json.dumps(asdict(m)) + "\n")
            metrics_file.flush()

    try:
        return Trainer(model, config.train, noise).fit(
            data, progress=False if args.quiet else None, on_epoch=log,
            checkpoint=None if out is None else out / CHECKPOINT, resume=args.resume)
    finally:
        if metrics_file is not None:
            metrics_file.close()


def _finish(out: Path, model, result) -> None:
    import qml
    from qml.train.run import MODEL, QASM, RESULT

    tmp = out / (MODEL + ".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(out / MODEL)
    theta = model.qmodule.theta.detach().cpu().double().tolist()
    _write(out / QASM, qml.to_qasm3(model.qmodule.circuit, theta=theta))
    _write(out / RESULT, json.dumps({"test_accuracy": result.test_accuracy, "test_loss": result.test_loss}, indent=2))
    print(f"wrote {out}")


def _write(path: Path, text: str) -> None:
    from qml.train.run import write_atomic

    write_atomic(path, text)
