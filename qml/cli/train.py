"""``qml train``: train a circuit classifier on a bundled task and print its test accuracy."""

from __future__ import annotations

import argparse
import json
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


def register(sub) -> None:
    p = sub.add_parser("train", help="train a circuit classifier on a task",
                       description="Train a circuit classifier and print its test accuracy.")
    p.add_argument("--task", default="digits4", help="dataset: digits4 (default) or digits2")
    p.add_argument("--circuit", default="u3cu3", help="built-in circuit name or path to a .py file (default u3cu3)")
    p.add_argument("--blocks", type=_positive_int, default=2, help="circuit blocks (default 2)")
    p.add_argument("--epochs", type=_positive_int, default=60)
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--lr", type=_positive_float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--out", type=Path, help="write config, metrics, weights and the circuit as QASM 3 here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import qml
    from qml.circuit.library import load_circuit
    from qml.data import load_task
    from qml.train import QuantumClassifier, TrainConfig, Trainer, resolve_device

    if args.out is not None and args.out.exists():
        if not args.out.is_dir():
            raise InputError(f"--out {args.out} exists and is a file; choose a new folder")
        if any(args.out.iterdir()):
            raise InputError(f"--out {args.out} exists and is not empty; choose a new folder")
    config = TrainConfig(args.epochs, args.batch_size, args.lr, seed=args.seed, device=args.torch_device)
    resolve_device(config.device)
    data = load_task(args.task, seed=args.seed)
    torch.manual_seed(args.seed)
    circuit = load_circuit(args.circuit, n_blocks=args.blocks)
    if circuit.n_inputs != data.n_features:
        raise InputError(f"circuit {args.circuit!r} takes {circuit.n_inputs} features, task {args.task!r} "
                         f"gives {data.n_features}")
    model = QuantumClassifier(qml.QuantumModule(circuit), data.n_classes)
    print(f"task {data.name}: {len(data.x_train)} train / {len(data.x_valid)} valid / {len(data.x_test)} test, "
          f"{data.n_classes} classes; circuit {circuit.name}: {circuit.n_wires} qubits, {len(circuit)} gates, "
          f"{circuit.n_trainable} trainable angles")
    metrics_file = None
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "config.json").write_text(json.dumps({**asdict(config), "task": args.task,
                                                          "circuit": args.circuit, "blocks": args.blocks}, indent=2))
        metrics_file = (args.out / "metrics.jsonl").open("w")

    def log(m) -> None:
        if metrics_file is not None:
            metrics_file.write(json.dumps(asdict(m)) + "\n")
            metrics_file.flush()

    try:
        result = Trainer(model, config).fit(data, progress=False if args.quiet else None, on_epoch=log)
    finally:
        if metrics_file is not None:
            metrics_file.close()
    last = result.history[-1]
    print(f"epoch {last.epoch}: train loss {last.train_loss:.4f}, train accuracy {last.train_accuracy:.4f}, "
          f"valid accuracy {last.valid_accuracy:.4f}")
    print(f"test accuracy {result.test_accuracy:.4f}")
    if args.out is not None:
        torch.save(model.state_dict(), args.out / "model.pt")
        theta = model.qmodule.theta.detach().cpu().double().tolist()
        (args.out / "circuit.qasm").write_text(qml.to_qasm3(circuit, theta=theta))
        (args.out / "result.json").write_text(json.dumps({"test_accuracy": result.test_accuracy,
                                                          "test_loss": result.test_loss}, indent=2))
        print(f"wrote {args.out}")
    return 0
