"""The QuantumNAS pipeline in a run folder, every stage resumable:

1. SuperCircuit training (``super.pt`` every epoch, ``super_metrics.jsonl``);
2. evolutionary co-search of gene x layout (``evaluations.jsonl``: every evaluated candidate with its fitness,
   ``generations.jsonl``), optionally random search at the same budget;
3. the winner retrained from scratch with the device's noise injected (``winner/``, a run folder);
4. gate pruning through the ``gate_prune`` pass when the qml-quantum plugin is installed (``winner/pruned``);
5. evaluation on the Aer twin, next to the human baseline (U3+CU3, 2 blocks, trivial layout) trained the same
   way (``baseline/``); ``results.json`` and ``report.md`` with plots.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from qml.errors import InputError, PluginError
from qml.search.evolution import Candidate, Evaluations, EvolutionConfig, LayoutSpace, evolve, random_search
from qml.search.fitness import FitnessFunction
from qml.search.supercircuit import SuperCircuit, SuperTrainConfig, train_supercircuit


@dataclass
class SearchConfig:
    task: str = "digits4"
    space: str = "u3cu3"
    space_options: dict = field(default_factory=dict)
    device: str = "ibm_quito"
    fitness: str = "esr"
    valid_size: int = 300
    super_train: SuperTrainConfig = field(default_factory=SuperTrainConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    random_baseline: bool = True
    retrain_epochs: int = 60
    retrain_lr: float = 0.02
    noise_factor: float = 0.5
    prune_ratio: float | None = 0.5
    shots: int = 1024
    seed: int = 0
    data_dir: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> SearchConfig:
        doc = dict(doc)
        doc["super_train"] = SuperTrainConfig(**doc.get("super_train", {}))
        doc["evolution"] = EvolutionConfig(**doc.get("evolution", {}))
        return cls(**doc)


class StageLog:
    def __init__(self, run: Path, quiet: bool) -> None:
        self.run, self.quiet, self.timings = run, quiet, {}

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)


def _jsonl_append(path: Path, row: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def run_search(run: Path, config: SearchConfig, resume: bool = False, quiet: bool = False) -> dict:
    from qml.data import load_task
    from qml.noise import load_snapshot
    from qml.search.loader import load_space

    log = StageLog(run, quiet)
    space = load_space(config.space, **config.space_options)
    run.mkdir(parents=True, exist_ok=True)
    if not (run / "config.json").exists():
        (run / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    snapshot = load_snapshot(config.device)
    data = load_task(config.task, seed=config.seed, data_dir=config.data_dir)
    layouts = LayoutSpace(space.n_wires, snapshot.num_qubits, snapshot.edges)
    if space.circuit(space.largest()).n_inputs != data.n_features:
        raise InputError(f"design space {config.space!r} takes {space.circuit().n_inputs} features, task "
                         f"{config.task!r} gives {data.n_features}")
    timings: dict[str, float] = {}

    # 1. SuperCircuit
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    sc = SuperCircuit(space, data.n_classes)
    log.say(f"[1/5] SuperCircuit {space!r}: {space.n_trainable} shared angles")
    metrics = run / "super_metrics.jsonl"
    if not resume and metrics.exists():
        metrics.unlink()
    train_supercircuit(sc, data, config.super_train, checkpoint=run / "super.pt", progress=None if not quiet else False,
                       log=lambda row: _jsonl_append(metrics, row))
    timings["supercircuit"] = time.perf_counter() - start

    # 2. co-search
    start = time.perf_counter()
    n = min(config.valid_size, len(data.x_valid))
    fitness = FitnessFunction(config.fitness, snapshot, data.x_valid[:n], data.y_valid[:n], shots=config.shots,
                              seed=config.seed)

    def evaluate(c: Candidate) -> dict:
        f = fitness(sc, c.gene, c.layout)
        return {"fitness": f.value, "valid_accuracy": f.accuracy, "success_rate": f.success_rate,
                "gates": space.gates_used(c.gene)}

    store = Evaluations(space, run / "evaluations.jsonl")
    known = len(store.records)
    generations = run / "generations.jsonl"
    if generations.exists():
        generations.unlink()  # rewritten from the (cached) replay
    from tqdm.auto import tqdm

    bar = tqdm(total=config.evolution.generations, desc="co-search", unit="gen", disable=True if quiet else None)

    def on_generation(row: dict) -> None:
        _jsonl_append(generations, row)
        bar.update(1)
        bar.set_postfix(best=f"{row['best_so_far']:.3f}", evaluated=row["evaluated"])

    best, history = evolve(space, layouts, evaluate, config.evolution, store, on_generation)
    bar.close()
    budget = len({k for k, r in store.records.items() if r["stage"] == "evolution"})
    log.say(f"[2/5] co-search: {budget} candidates ({known} from an earlier attempt); best {list(best.gene)} on "
            f"qubits {list(best.layout)}, fitness {history[-1]['best_so_far']:.4f}")
    random_best = None
    if config.random_baseline:
        random_best, random_history = random_search(space, layouts, evaluate, budget, store, config.seed)
        (run / "random.jsonl").write_text("".join(json.dumps(r) + "\n" for r in random_history))
    timings["search"] = time.perf_counter() - start

    # 3-5. retrain, prune, evaluate
    start = time.perf_counter()
    results = {"device": config.device, "space": config.space, "winner": {"gene": list(best.gene),
               "layout": list(best.layout)}}
    results["winner"].update(_train_and_eval(run / "winner", config, data, space_gene=best, log=log))
    timings["retrain_winner"] = time.perf_counter() - start
    if random_best is not None:
        start = time.perf_counter()
        results["random"] = {"gene": list(random_best.gene), "layout": list(random_best.layout)}
        results["random"].update(_train_and_eval(run / "random", config, data, space_gene=random_best, log=log,
                                                 prune=False))
        timings["retrain_random"] = time.perf_counter() - start
    start = time.perf_counter()
    results["baseline"] = {"circuit": "u3cu3, 2 blocks", "layout": list(range(space.n_wires))}
    results["baseline"].update(_train_and_eval(run / "baseline", config, data, space_gene=None, log=log,
                                               prune=False))
    timings["baseline"] = time.perf_counter() - start
    results["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    (run / "results.json").write_text(json.dumps(results, indent=2))
    from qml.search.report import write_report

    write_report(run, config, results)
    log.say(f"[5/5] Aer twin of {config.device}: searched {results['winner']['aer']:.4f}"
            + (f", pruned {results['winner']['pruned_aer']:.4f}" if "pruned_aer" in results["winner"] else "")
            + f", baseline {results['baseline']['aer']:.4f}; report {run / 'report.md'}")
    return results


def _train_and_eval(folder: Path, config: SearchConfig, data, space_gene: Candidate | None, log: StageLog,
                    prune: bool = True) -> dict:
    """Train a candidate from scratch with noise injected (resumable), optionally prune it, evaluate on Aer."""
    from qml.noise import NoiseModel, load_snapshot
    from qml.train import TrainConfig, Trainer
    from qml.train.run import CHECKPOINT, CONFIG, MODEL, RunConfig, build_model, write_atomic

    layout = list(space_gene.layout) if space_gene is not None else None
    train = TrainConfig(config.retrain_epochs, 32, config.retrain_lr, seed=config.seed,
                        noise_factor=config.noise_factor)
    rc = RunConfig(config.task, "u3cu3", 2, train, config.device, layout, data_dir=config.data_dir)
    if space_gene is not None:
        rc = replace(rc, space=config.space, space_options=config.space_options, gene=list(space_gene.gene))
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / CONFIG, json.dumps(rc.to_dict(), indent=2))
    torch.manual_seed(config.seed)
    model = build_model(rc, data.n_features, data.n_classes)
    snapshot = load_snapshot(config.device)
    noise = NoiseModel(snapshot, layout, config.noise_factor)
    out = {}
    if (folder / MODEL).exists():
        model.load_state_dict(torch.load(folder / MODEL, weights_only=True))
        out["noise_free"] = Trainer(model, train).evaluate(data.x_test, data.y_test)[0]
    else:
        checkpoint = folder / CHECKPOINT
        result = Trainer(model, train, noise).fit(data, progress=False, checkpoint=checkpoint,
                                                 resume=checkpoint.exists())
        model.set_noise(None)
        torch.save(model.state_dict(), folder / MODEL)
        out["noise_free"] = result.test_accuracy  # the fit's final, noise-free test evaluation
    out["aer"] = _aer_accuracy(model, snapshot, layout, data, config)
    out["gates"] = len(model.qmodule.circuit)
    log.say(f"      {folder.name}: noise-free {out['noise_free']:.4f}, Aer twin {out['aer']:.4f}")
    if prune and config.prune_ratio:
        out.update(_prune(folder, model, rc, noise, data, config, snapshot, layout, log))
    return out


def _aer_accuracy(model, snapshot, layout, data, config) -> float:
    from qml.backends.aer_executor import AerExecutor

    model.eval()
    z = AerExecutor(snapshot, layout, seed=config.seed).expectations(model.qmodule, data.x_test, config.shots)
    return model.accuracy_from(z, data.y_test)


def _prune(folder, model, rc, noise, data, config, snapshot, layout, log) -> dict:
    from torch.nn.utils import parametrize

    from qml import passes
    from qml.passes import PassContext
    from qml.train import Trainer, finetune_callback

    try:
        pruner = passes.make_pass("gate_prune", ratio=config.prune_ratio)
    except PluginError as exc:
        log.say(f"      pruning skipped: {exc}")
        return {"pruned": "skipped: " + str(exc).split(";")[0]}
    pruned_path = folder / "pruned.pt"
    if pruned_path.exists():
        model.load_state_dict(torch.load(pruned_path, weights_only=True))
    else:
        model, _ = pruner.apply(model, PassContext(finetune=finetune_callback(data, rc.train, noise)))
        parametrize.remove_parametrizations(model.qmodule, "theta", leave_parametrized=True)
        torch.save(model.state_dict(), pruned_path)
    from qml_quantum.angles import transpiled_counts

    out = {"pruned_noise_free": Trainer(model, rc.train).evaluate(data.x_test, data.y_test)[0],
           "pruned_aer": _aer_accuracy(model, snapshot, layout, data, config),
           "pruned_transpiled": transpiled_counts(model.qmodule, config.device, layout)}
    log.say(f"      pruned {config.prune_ratio:.0%}: noise-free {out['pruned_noise_free']:.4f}, "
            f"Aer twin {out['pruned_aer']:.4f}")
    return out
