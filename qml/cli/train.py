"""``qml train``: train a circuit classifier on a task and print its test accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

from qml.cli.args import (
    confirm_on_terminal,
    default_out,
    layout_arg,
    levels_arg,
    noise_factor_arg,
    positive_float,
    positive_int,
    task_and_data,
)
from qml.errors import InputError


def register(sub) -> None:
    p = sub.add_parser("train", help="train a circuit classifier on a task",
                       description="Train a circuit classifier, optionally with a device's noise injected, and print "
                                   "its test accuracy.")
    p.add_argument("--task", help="dataset: digits4 (default), digits2, mnist4, mnist2 (bundled); fashion4, fashion2 "
                                   "(Debian's dataset-fashion-mnist or --data-dir); vowel4 (UCI vowel-context.data)")
    p.add_argument("--data", type=Path, metavar="FILE.npz",
                   help="your own data: arrays x (N, F) and y (N,), or x_train, y_train, x_test, y_test")
    p.add_argument("--data-dir", type=Path, help="folder holding the task's data files (default: $QML_DATA_DIR, "
                                                 "then /usr/share/datasets/fashion-mnist for Fashion-MNIST)")
    p.add_argument("--circuit", default="u3cu3", help="built-in circuit name or path to a .py file (default u3cu3)")
    p.add_argument("--blocks", type=positive_int, default=2, help="circuit blocks (default 2)")
    p.add_argument("--epochs", type=positive_int, default=60)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=positive_float, default=0.02,
                   help="Adam learning rate (default 0.02, measured best on digits4; QuantumNAS's 5e-3 reaches 0.84)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-device", default="cpu", help="cpu, cuda or cuda:N")
    noise = p.add_argument_group("device noise (QuantumNAT)")
    noise.add_argument("--device", help="inject this device's noise while training, e.g. ibm_quito (qml noise list)")
    noise.add_argument("--layout", type=layout_arg, help="physical qubit of each logical wire, e.g. 0,1,2,3 (default)")
    noise.add_argument("--noise-factor", type=noise_factor_arg, default=1.0, help="noise factor T (default 1.0)")
    noise.add_argument("--noise-schedule", default="constant", choices=("constant", "linear"))
    noise.add_argument("--norm", action="store_true", help="post-measurement normalisation")
    noise.add_argument("--quant", type=levels_arg, metavar="LEVELS", help="post-measurement quantization levels")
    noise.add_argument("--quant-lambda", type=float, default=0.1, help="weight of the quantization MSE (default 0.1)")
    chip = p.add_argument_group("on-chip training (QOC): gradients measured by parameter shift on a backend")
    chip.add_argument("--on", metavar="BACKEND", help="train on torch, torch:DEVICE, aer:DEVICE (the device's Aer "
                                                      "twin), ibm_NAME (IBM Quantum) or fake:ibm_NAME (local mode)")
    chip.add_argument("--shots", type=positive_int, help="shots per circuit (default 1024)")
    chip.add_argument("--grad-prune", type=float, metavar="RATIO",
                      help="QOC's probabilistic gradient pruning: share of the gradients left out in each pruning "
                           "step (default 0.5; 0 measures every gradient at every step)")
    chip.add_argument("--prune-windows", metavar="A,P", help="accumulation and pruning windows in steps (default 1,2)")
    chip.add_argument("--yes", action="store_true", help="do not ask before training on IBM Quantum")
    p.add_argument("--out", type=Path, help="run folder: config, metrics, checkpoints, weights, circuit as QASM 3 "
                                            "(default runs/train-TASK-CIRCUIT, a new one each time)")
    p.add_argument("--resume", action="store_true", help="continue the killed run in --out from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _config_from_args(args: argparse.Namespace):
    from qml.runs import RunConfig
    from qml.train import TrainConfig

    if args.device is None and (args.noise_factor != 1.0 or args.noise_schedule != "constant"):
        raise InputError("--noise-factor and --noise-schedule need --device")
    if args.device is None and args.on is None and args.layout:
        raise InputError("--layout needs --device (noise injection) or --on (on-chip training)")
    if args.on is not None and args.device is not None:
        raise InputError("--on trains on the backend itself: drop --device (no noise is injected)")
    onchip = _onchip_from_args(args)
    train = TrainConfig(args.epochs, args.batch_size, args.lr, args.weight_decay, seed=args.seed,
                        device=args.torch_device, noise_factor=args.noise_factor,
                        noise_schedule=args.noise_schedule, quant_lambda=args.quant_lambda)
    circuit = args.circuit
    if Path(circuit).is_file():
        circuit = str(Path(circuit).resolve())  # the run must find its circuit from any folder
    task, data_file = task_and_data(args)
    return RunConfig(task, circuit, args.blocks, train, args.device, args.layout, args.norm, args.quant,
                     None if args.data_dir is None else str(Path(args.data_dir).resolve()), data_file=data_file,
                     onchip=onchip)


def _onchip_from_args(args: argparse.Namespace):
    from qml.runs.config import OnChipConfig

    if args.on is None:
        given = [flag for flag, value in (("--shots", args.shots), ("--grad-prune", args.grad_prune),
                                          ("--prune-windows", args.prune_windows)) if value is not None]
        if given:
            raise InputError(f"{', '.join(given)} need(s) --on BACKEND (on-chip training)")
        return None
    windows = (1, 2)
    if args.prune_windows is not None:
        try:
            windows = tuple(int(v) for v in args.prune_windows.split(","))
        except ValueError:
            windows = ()
        if len(windows) != 2:
            raise InputError(f"--prune-windows must be two positive integers A,P, got {args.prune_windows!r}")
    ratio = 0.5 if args.grad_prune is None else args.grad_prune
    return OnChipConfig(args.on, args.shots or 1024, ratio, *windows)


def run(args: argparse.Namespace) -> int:
    from qml.runs import train_run

    if args.resume and args.out is None:
        raise InputError("--resume needs --out RUN, the run folder to continue")
    config = None if args.resume else _config_from_args(args)
    out = args.out or default_out(Path("runs") / f"train-{config.task}-{Path(config.circuit).stem}")
    outcome = train_run(config, out, resume=args.resume, progress=False if args.quiet else None,
                        confirm=None if args.yes else confirm_on_terminal("train on it?"))
    last = outcome.result.history[-1]
    print(f"epoch {last.epoch}: train loss {last.train_loss:.4f}, train accuracy {last.train_accuracy:.4f}, "
          f"valid accuracy {last.valid_accuracy:.4f}")
    measurer = outcome.model.measurer
    where = f" (on {measurer.config.backend}, {measurer.config.shots} shots)" if measurer else (
        " (noise-free)" if outcome.noise else "")
    print(f"test accuracy {outcome.result.test_accuracy:.4f}{where}")
    if measurer is not None:
        cost = measurer.cost()
        print(f"on-chip: {cost['circuits']:,} circuits, {cost['executions']:,} executions")
    print(f"wrote {out}")
    return 0
