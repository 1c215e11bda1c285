"""Issue-5 figures on digits4: (1) gate pruning of 50 % of the rotation angles with noise-injected finetuning,
noise-free and on Aer twins, with transpiled gate counts; (2) a 2-block student distilled from a 6-block teacher
against the same student trained alone for the same epochs. Writes bench/results/quantum_compression.json.

    python bench/quantum_compression.py --devices ibm_quito ibm_lima
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import torch
from qml_quantum.angles import transpiled_counts

from qml import passes
from qml.backends.aer_executor import AerExecutor
from qml.circuit.library import load_circuit
from qml.data import load_task
from qml.noise import NoiseModel, load_snapshot
from qml.passes.context import Batches
from qml.sim.module import QuantumModule
from qml.train import QuantumClassifier, TrainConfig, Trainer


def classifier(blocks: int, n_classes: int, seed: int) -> QuantumClassifier:
    torch.manual_seed(seed)
    return QuantumClassifier(QuantumModule(load_circuit("u3cu3", n_blocks=blocks)), n_classes)


def aer(model, data, device: str) -> float:
    model.eval()
    z = AerExecutor(load_snapshot(device)).expectations(model.qmodule, data.x_test, 1024)
    return model.accuracy_from(z, data.y_test)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", nargs="+", default=["ibm_quito", "ibm_lima"])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--factor", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "quantum_compression.json")
    args = parser.parse_args()
    data = load_task("digits4")
    config = TrainConfig(args.epochs, 32, 0.02, noise_factor=args.factor)
    out = {"pruning": [], "distillation": None}
    for device in args.devices:
        noise = NoiseModel(load_snapshot(device), None, args.factor)
        model = classifier(2, data.n_classes, 0)
        Trainer(model, config, noise).fit(data, progress=False)
        model.set_noise(None)
        ev = lambda m: Trainer(m, config).evaluate(data.x_test, data.y_test)[0]  # noqa: E731

        def finetune(m, epochs, noise=noise):
            Trainer(m, TrainConfig(epochs, 32, 0.02, noise_factor=args.factor), noise).fit(data, progress=False)
            m.set_noise(None)

        dense = {"noise_free": ev(model), "aer": aer(model, data, device),
                 "transpiled": transpiled_counts(model.qmodule, device)}
        pruned, report = passes.make_pass("gate_prune", ratio=args.ratio).apply(
            copy.deepcopy(model), passes.PassContext(evaluate=ev, finetune=finetune))
        after = {"noise_free": ev(pruned), "aer": aer(pruned, data, device),
                 "transpiled": transpiled_counts(pruned.qmodule, device)}
        row = {"device": device, "unpruned": dense, "pruned": after, "pruned_angles": report.details["pruned_angles"]}
        out["pruning"].append(row)
        print(json.dumps(row), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))

    teacher = classifier(6, data.n_classes, 1)
    Trainer(teacher, TrainConfig(args.epochs, 32, 0.02)).fit(data, progress=False)
    t_acc = Trainer(teacher, config).evaluate(data.x_test, data.y_test)[0]
    alone = classifier(2, data.n_classes, 2)
    student = copy.deepcopy(alone)
    Trainer(alone, TrainConfig(args.epochs // 2, 32, 0.02)).fit(data, progress=False)
    loader = Batches(data.x_train, data.y_train, 32, seed=0)
    passes.make_pass("circuit_distill", epochs=args.epochs // 2, lr=0.02, temperature=2.0, alpha=0.5).apply(
        student, passes.PassContext(teacher=teacher, train_loader=loader))
    out["distillation"] = {"teacher_6_blocks": t_acc,
                           "student_alone": Trainer(alone, config).evaluate(data.x_test, data.y_test)[0],
                           "student_distilled": Trainer(student, config).evaluate(data.x_test, data.y_test)[0],
                           "epochs": args.epochs // 2}
    print(json.dumps(out["distillation"]), flush=True)
    args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
