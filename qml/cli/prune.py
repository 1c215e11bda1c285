"""``qml prune RUN --ratio 0.5``: gate pruning of a trained run (the ``gate_prune`` pass of the qml-quantum plugin),
finetuned the way the run was trained (with its device noise injected), written as a new run folder."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from qml.errors import InputError, PluginError


def register(sub) -> None:
    from qml.cli.train import _positive_int

    p = sub.add_parser("prune", help="prune a trained run's rotation angles (gate_prune, qml-quantum plugin)",
                       description="Iterative magnitude pruning of a run's rotation angles with finetuning; writes "
                                   "RUN/pruned-RATIO (a run folder qml eval can read).")
    p.add_argument("run", type=Path, metavar="RUN")
    p.add_argument("--ratio", type=float, default=0.5, help="fraction of angles pruned (default 0.5)")
    p.add_argument("--start-ratio", type=float, default=0.1, help="fraction pruned at the first step (default 0.1)")
    p.add_argument("--steps", type=_positive_int, default=10, help="steps ramping to --ratio (default 10)")
    p.add_argument("--finetune-epochs", type=int, default=4, help="finetuning epochs after each step (default 4)")
    p.add_argument("--lr", type=float, help="finetuning learning rate (default: the run's)")
    p.add_argument("--device", help="device whose transpiled gate counts to report (default: the run's)")
    p.add_argument("--out", type=Path, help="output run folder (default RUN/pruned-RATIO)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from torch.nn.utils import parametrize

    import qml
    from qml import passes
    from qml.noise import NoiseModel, load_snapshot
    from qml.passes import PassContext
    from qml.train import Trainer, finetune_callback
    from qml.train.run import CONFIG, MODEL, QASM, RESULT, load_run, load_run_config, write_atomic

    config = load_run_config(args.run)
    out = args.out or args.run / f"pruned-{args.ratio:g}"
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty; choose --out")
    try:
        prune = passes.make_pass("gate_prune", ratio=args.ratio, start_ratio=min(args.start_ratio, args.ratio),
                                 steps=args.steps, finetune_epochs=args.finetune_epochs)
    except PluginError as exc:
        if "unknown pass" in str(exc):
            raise PluginError("gate_prune is not installed: it comes from the qml-quantum plugin "
                              "(pip install -e plugins/qml-quantum)") from None
        raise
    _, data, model = load_run(args.run, config)
    noise = None
    if config.device_name:
        noise = NoiseModel(load_snapshot(config.device_name), config.layout, config.train.noise_factor)
    finetune_config = replace(config.train, lr=args.lr or config.train.lr)
    finetune = finetune_callback(data, finetune_config, noise)

    def evaluate(m) -> float:
        return Trainer(m, finetune_config).evaluate(data.x_test, data.y_test)[0]

    device = args.device or config.device_name
    from qml_quantum.angles import exported_circuit, transpiled_counts

    before_counts = transpiled_counts(model.qmodule, device, config.layout) if device else None
    log = None if args.quiet else print
    model, report = prune.apply(model, PassContext(evaluate=evaluate, finetune=finetune, log=log))
    after_counts = transpiled_counts(model.qmodule, device, config.layout) if device else None
    circuit, theta = exported_circuit(model.qmodule)
    parametrize.remove_parametrizations(model.qmodule, "theta", leave_parametrized=True)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / CONFIG, json.dumps(config.to_dict(), indent=2))
    torch.save(model.state_dict(), out / MODEL)
    write_atomic(out / QASM, qml.to_qasm3(circuit, theta=theta))
    summary = {"test_accuracy_before": report.before.accuracy, "test_accuracy": report.after.accuracy,
               "pruned_angles": report.details["pruned_angles"], "angles": report.details["angles"],
               "gates_before": report.details["gates_before"], "gates_after": report.details["gates_after_export"],
               "transpiled_before": before_counts, "transpiled_after": after_counts, "device": device,
               "schedule": report.details["schedule"]}
    write_atomic(out / RESULT, json.dumps(summary, indent=2))
    print(f"pruned {summary['pruned_angles']}/{summary['angles']} angles; logical gates {summary['gates_before']} "
          f"-> {summary['gates_after']}; test accuracy (noise-free) {report.before.accuracy:.4f} -> "
          f"{report.after.accuracy:.4f}")
    if before_counts:
        print(f"on {device}: 2-qubit gates {before_counts['two_qubit']} -> {after_counts['two_qubit']}, "
              f"1-qubit pulses {before_counts['pulses_1q']} -> {after_counts['pulses_1q']}, depth "
              f"{before_counts['depth']} -> {after_counts['depth']}")
    print(f"wrote {out}")
    return 0
