"""The prune stage: gate pruning of a trained run's rotation angles (the ``gate_prune`` pass, found through the
``qml.passes`` entry points — the qml-quantum plugin provides it), finetuned the way the run was trained (its
device noise injected), written as a new run folder. A stateful pass checkpoints after every step
(``prune.pt``), so a killed prune resumes where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from qml.errors import PluginError
from qml.runs import provenance
from qml.runs.folder import CONFIG, MODEL, QASM, RESULT, RunFolder
from qml.runs.model import load_run, read_run_config
from qml.runs.provenance import record
from qml.runs.train import noise_for

PRUNE_STATE = "prune.pt"


@dataclass
class PruneOutcome:
    model: object
    summary: dict


def make_gate_prune(**options):
    from qml import passes

    try:
        return passes.make_pass("gate_prune", **options)
    except PluginError as exc:
        if "unknown pass" in str(exc):
            raise PluginError("gate_prune is not installed: it comes from the qml-quantum plugin "
                              "(pip install -e plugins/qml-quantum)") from None
        raise


def pruned_export(model):
    """The pruned circuit without the gates its zero angles make the identity, and the angles to bind."""
    from qml.circuit import drop_identity_gates

    theta = model.qmodule.theta.detach().cpu().double().tolist()
    return drop_identity_gates(model.qmodule.circuit, theta), theta


def transpiled_counts(model, device: str, layout) -> dict:
    from qml.device import Device

    circuit, theta = pruned_export(model)
    return Device.load(device).transpiled_counts(circuit, theta, layout)


def prune_model(pruner, model, folder: RunFolder, context, state_name: str = PRUNE_STATE):
    """Run ``pruner`` on ``model``; a stateful pass saves its state and the model's after every step into
    ``folder/state_name`` and resumes from it. Returns (model, report)."""
    from qml import passes

    if not getattr(pruner, "stateful", False) or not hasattr(passes, "run_stateful"):
        return pruner.apply(model, context)
    state = folder.load_tensors(state_name, "prune checkpoint") if folder.has(state_name) else None
    return passes.run_stateful(pruner, model, context, state=state,
                               save=lambda s: folder.save_tensors(state_name, s))


def prune_run(run: Path, *, ratio: float = 0.5, start_ratio: float = 0.1, steps: int = 10, finetune_epochs: int = 4,
              lr: float | None = None, device: str | None = None, out: Path | None = None, resume: bool = False,
              say: Callable[[str], None] | None = print) -> PruneOutcome:
    source = RunFolder(run).require()
    config = read_run_config(source)
    out = Path(out) if out is not None else source.path / f"pruned-{ratio:g}"
    prune = make_gate_prune(ratio=ratio, start_ratio=min(start_ratio, ratio), steps=steps,
                            finetune_epochs=finetune_epochs)
    resume = resume or (out.is_dir() and (out / PRUNE_STATE).is_file() and not (out / RESULT).is_file())
    folder = RunFolder.resume(out) if resume and (out / CONFIG).is_file() else RunFolder.create(out)
    with folder:
        from qml.passes import PassContext
        from qml.train import Trainer, finetune_callback

        _, data, model = load_run(source, config)
        noise = noise_for(config)
        finetune_config = replace(config.train, lr=lr or config.train.lr)

        def evaluate(m) -> float:
            return Trainer(m, finetune_config).evaluate(data.x_test, data.y_test)[0]

        device = device or config.device_name
        before = transpiled_counts(model, device, config.layout) if device else None
        folder.write_config(config)
        record(folder, config, files={"circuit": provenance.source(source, "circuit", config.circuit),
                                      "space": provenance.source(source, "space", config.space)},
               device=config.device_name)
        context = PassContext(evaluate=evaluate, finetune=finetune_callback(data, finetune_config, noise), log=say)
        model, report = prune_model(prune, model, folder, context)
        after = transpiled_counts(model, device, config.layout) if device else None
        circuit, theta = pruned_export(model)
        folder.save_weights(model, MODEL)
        from qml.circuit import to_qasm3

        folder.write_text(QASM, to_qasm3(circuit, theta=theta))
        summary = {"test_accuracy_before": report.before.accuracy, "test_accuracy": report.after.accuracy,
                   "pruned_angles": report.details["pruned_angles"], "angles": report.details["angles"],
                   "gates_before": report.details["gates_before"], "gates_after": report.details["gates_after_export"],
                   "transpiled_before": before, "transpiled_after": after, "device": device,
                   "schedule": report.details["schedule"]}
        folder.write_json(RESULT, summary)
        folder.file(PRUNE_STATE).unlink(missing_ok=True)  # finished: the weights are in model.pt
    return PruneOutcome(model, summary)
