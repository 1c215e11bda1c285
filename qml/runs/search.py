"""The search stage in a run folder, every step resumable. Two strategies find the circuit and its qubits:

- ``evolution`` (QuantumNAS): 1. SuperCircuit training (``super.pt`` every epoch, ``super_metrics.jsonl``);
  2. evolutionary co-search of gene x layout (``evaluations.jsonl``: every evaluated candidate with its fitness,
  ``generations.jsonl``), optionally random search at the same budget;
- ``trainfree`` (Élivágar-style, ``qml.search.trainfree``): candidates drawn on connected regions of the device and
  scored without training by Clifford noise resilience and representational capacity (``evaluations.jsonl``); the
  random baseline is the first candidate drawn.

Then, for both:
3. the ``finalists`` best candidates retrained from scratch with the device's noise injected
   (``finalists/winner-<i>/``), the one with the best validation accuracy under qml's noise model kept
   (``winner/``, a run folder; random search gets the same);
4. gate pruning through the ``gate_prune`` pass when the qml-quantum plugin is installed (``winner/pruned``);
5. evaluation on the Aer twin, next to the human design of the same space (the space file's ``build()``, two
   blocks) trained the same way on the trivial layout (``baseline/``) and on its best layout (``human_best/``);
   ``results.json`` and ``report.md`` with plots.

The device and the design space are resolved once and passed down."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from qml.errors import InputError, PluginError
from qml.runs.config import RunConfig, SearchConfig
from qml.runs.fanout import Unit
from qml.runs.folder import CHECKPOINT, MODEL, QASM, RESULT, RunFolder
from qml.runs.model import build_model, load_run_data
from qml.runs.provenance import record, source
from qml.runs.stats import with_interval
from qml.runs.train import seeded
from qml.search.evolution import Candidate, Evaluations, LayoutSpace, evolve, random_search, ranked
from qml.search.fitness import FitnessFunction
from qml.search.supercircuit import SuperCircuit, noise_pool, train_supercircuit

HUMAN_BLOCKS = 2
SUPER_NOISE_LAYOUTS = 8  # noise-aware SuperCircuit training: the human design's best layout and 7 random connected ones


class Search:
    """One search's shared objects: config, device, space, data, the layouts it may pick, the human design's place;
    and its run folder."""

    def __init__(self, folder: RunFolder, config: SearchConfig, say: Callable[[str], None], space=None,
                 pool=None) -> None:
        from qml.device import Device
        from qml.search.loader import load_space

        self.folder, self.config, self.say, self.pool = folder, config, say, pool
        self.correct: dict[str, list[bool]] = {}  # per test input, for paired tests
        self.device = Device.load(config.device)
        self.space = space or load_space(source(folder, "space", config.space), **config.space_options)
        self.data = load_run_data(config.task, config.seed, config.data_dir, config.data_file, folder)
        if self.space.circuit(self.space.largest()).n_inputs != self.data.n_features:
            raise InputError(f"design space {config.space!r} takes {self.space.circuit().n_inputs} features, task "
                             f"{config.task!r} gives {self.data.n_features}")

    @cached_property
    def layouts(self) -> LayoutSpace:
        return LayoutSpace(self.space.n_wires, self.device.num_qubits, self.device.edges)

    @cached_property
    def human_layout(self) -> list[int]:
        """The layout the device's placement finds for the human design's structure (VF2-style candidates scored
        by estimated success probability, generic angles): where it is trained as the strongest fair baseline."""
        from qml.circuit.library import load_circuit

        return list(self.device.best_layout(load_circuit(self.config.baseline or self.config.space,
                                                         n_blocks=HUMAN_BLOCKS)))

    @cached_property
    def human(self) -> Candidate | None:
        """The human design as a candidate of the space on its best layout (which both strategies start from), or
        None when it is not a gene of the space or that layout is not one the search may pick."""
        from qml.circuit.library import load_circuit
        from qml.search.evolution import native_pairs

        gene = self.space.gene_of(load_circuit(self.config.baseline or self.config.space, n_blocks=HUMAN_BLOCKS))
        if gene is None:
            return None
        layout = tuple(self.human_layout)
        return Candidate(gene, layout) if self.layouts.valid(layout, native_pairs(self.space, gene)) else None

    def executor_of(self, kind: str, layout):
        return _executor(self.config, kind, layout)

    @cached_property
    def shipped(self):
        """The search's inputs as a pool's workers get them, made once (``qml.runs.search_units``)."""
        from qml.runs.search_units import search_inputs

        return search_inputs(self)


def _executor(config: SearchConfig, kind: str, layout):
    from qml.backends import make_executor

    return make_executor(f"{kind}:{config.device}", layout=list(layout), seed=config.seed,
                         noise_factor=config.fitness_noise_factor)


def fitness_scorer(config: SearchConfig, space, sc: SuperCircuit, data, n: int) -> Callable[[tuple, tuple], dict]:
    """The evolution's score of a candidate (gene, layout) with the SuperCircuit's inherited weights, on the first
    ``n`` validation inputs: the record the store keeps."""
    kind = "aer" if config.fitness == "aer" else "torch"
    fitness = FitnessFunction(config.fitness, config.device, data.x_valid[:n], data.y_valid[:n], shots=config.shots,
                              executor=lambda layout: _executor(config, kind, layout),
                              noise_factor=config.fitness_noise_factor)

    def score(gene: tuple, layout: tuple) -> dict:
        f = fitness(sc, gene, layout)
        return {"fitness": f.value, "valid_accuracy": f.accuracy, "success_rate": f.success_rate,
                "gates": space.gates_used(gene)}

    return score


def trainfree_scorer(config: SearchConfig, space, data) -> Callable[[tuple, tuple], dict]:
    """The training-free score of a candidate (gene, layout) (``qml.search.trainfree``)."""
    from qml.device import Device
    from qml.search.trainfree import TrainFreeScore

    return TrainFreeScore(space, Device.load(config.device), data.x_train, data.y_train, data.n_classes,
                          config.train_free, config.seed, config.fitness_noise_factor)


def check_search(config: SearchConfig):
    """Names and the human design checked before anything is written: device, space, task, sampler. Returns the
    design space."""
    import random

    from qml.circuit.library import load_circuit
    from qml.data import task_names
    from qml.device import Device
    from qml.search.loader import load_space
    from qml.search.samplers import make_sampler

    Device.load(config.device)
    space = load_space(config.space, **config.space_options)
    if config.data_file is not None:
        from qml.data import load_data

        load_data(config.data_file, seed=config.seed)  # every problem with the user's file, before anything runs
    elif config.task not in task_names():
        raise InputError(f"unknown task {config.task!r}: expected one of {', '.join(task_names())}")
    make_sampler(config.super_train.sampler, space, random.Random(0))
    human = config.baseline or config.space
    try:
        load_circuit(human, n_blocks=HUMAN_BLOCKS)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the user's build() is reported as one line
        what = f"baseline {human!r}" if config.baseline else f"design space {human!r}"
        raise InputError(f"{what}: its human design build(n_blocks={HUMAN_BLOCKS}) is the search's baseline and "
                         f"failed: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    return space


def search_run(out: Path, config: SearchConfig | None = None, *, resume: bool = False, quiet: bool = False,
               pool=None) -> dict:
    """Run (or with ``resume`` continue) the search in ``out``; returns ``results.json``'s content. With ``pool`` (a
    ``qml.runs.ray_pool.RayPool``) the candidates are scored and the finalists retrained on its workers, with the
    same results."""
    say = (lambda text: None) if quiet else (lambda text: print(text, flush=True))
    space = None
    if resume:
        folder = RunFolder.resume(out)
        config = folder.read_config(SearchConfig)
    else:
        space = check_search(config)
        if pool is not None:
            pool.start()
        folder = RunFolder.create(out)
    with folder:
        if not resume:
            folder.write_config(config)
            record(folder, config, files={"space": config.space}, device=config.device, data=config.data_file)
        if pool is not None:
            if resume:  # a new search started it before making its folder
                pool.start()
            say(f"on {pool.describe()} (started in {pool.startup_s:.1f} s)")
        return _search(Search(folder, config, say, space, pool), quiet)


def _search(s: Search, quiet: bool) -> dict:
    config, folder, space, data = s.config, s.folder, s.space, s.data
    timings: dict[str, float] = {}

    if config.strategy == "trainfree":
        best, random_best = _train_free(s, timings, quiet)
    else:
        best, random_best = _evolution(s, timings, quiet)

    # 3-5. retrain (the finalists, then the one picked), prune, evaluate
    results = {"device": config.device, "space": config.space}
    human = s.human
    if human is not None:  # the human design on its best layout is always a finalist: picked unless beaten
        best = [human, *[c for c in best if c != human]]
    for key, short_list, prune in (("winner", best, True), ("random", random_best, False)):
        if not short_list:
            continue
        start = time.perf_counter()
        candidate, finalists = _pick_finalist(s, key, short_list, incumbent=key == "winner" and human is not None)
        results[key] = {"gene": list(candidate.gene), "layout": list(candidate.layout)}
        if finalists:
            results[key]["finalists"] = finalists
        rc = _run_config(config, list(candidate.layout), gene=list(candidate.gene))
        results[key].update(_train_and_eval(s, folder.sub(key), rc, prune=prune)[0])
        timings[f"retrain_{key}"] = time.perf_counter() - start
    if config.human_baseline:
        start = time.perf_counter()
        human = Path(config.baseline or config.space).stem
        results["baseline"] = {"circuit": f"{human}, {HUMAN_BLOCKS} blocks", "layout": list(range(space.n_wires))}
        outcome, model = _train_and_eval(s, folder.sub("baseline"), _run_config(config, None), prune=False)
        results["baseline"].update(outcome)
        results["human_layouts"] = _human_on_other_layouts(s, model, results["winner"]["layout"])
        timings["baseline"] = time.perf_counter() - start
    results["test_inputs"] = len(data.x_test)
    results["verdicts"] = _verdicts(s)
    results["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    folder.write_json("results.json", results)
    from qml.runs.report import write_report

    write_report(folder, config, results, s.device)
    n = len(data.x_test)
    line = (f"[5/5] Aer twin of {config.device}, {n} test inputs, 95 % Wilson intervals: searched "
            f"{with_interval(results['winner']['aer'], n)}"
            + (f", pruned {with_interval(results['winner']['pruned_aer'], n)}" if "pruned_aer" in results["winner"]
               else ""))
    if "human_layouts" in results:
        human = results["human_layouts"]["best_layout"]
        line += (f"; human design: trivial layout {with_interval(results['baseline']['aer'], n)}, searched layout "
                 f"{with_interval(results['human_layouts']['searched_layout']['aer'], n)}, trained on its best "
                 f"layout {human['layout']} {with_interval(human['aer'], n)}")
    s.say(line)
    for pair, verdict in results["verdicts"].items():
        s.say(f"      {pair}: {verdict['text']}")
    s.say(f"      report {folder.file('report.md')}")
    return results


def _evolution(s: Search, timings: dict, quiet: bool):
    """Stages 1-2 of the QuantumNAS strategy: SuperCircuit training, then evolutionary co-search (and random
    search at the same budget); returns the best candidate and the random one (or None)."""
    config, folder, space, data = s.config, s.folder, s.space, s.data
    # 1. SuperCircuit
    start = time.perf_counter()
    with seeded(config.seed):
        sc = SuperCircuit(space, data.n_classes)
    s.say(f"[1/5] SuperCircuit {space!r}: {space.n_trainable} shared angles")
    history = []
    if folder.has("super.pt"):  # the checkpoint is the truth: its history is what the metrics file must hold
        from qml.search.supercircuit import load_super_checkpoint

        history = load_super_checkpoint(folder.file("super.pt"))["history"]
    folder.write_text("super_metrics.jsonl", "".join(json.dumps(row) + "\n" for row in history))
    noise = None
    if config.super_train.noise_factor > 0:
        noise = noise_pool(s.device, s.layouts, config.super_train.noise_factor, SUPER_NOISE_LAYOUTS, config.seed,
                           first=s.human_layout)
        s.say(f"      noise-aware: the device's noise at factor {config.super_train.noise_factor:g} on "
              f"{len(noise)} layouts, one drawn per step")
    train_supercircuit(sc, data, config.super_train, checkpoint=folder.file("super.pt"),
                       progress=None if not quiet else False, log=lambda row: folder.append("super_metrics.jsonl", row),
                       noise=noise)
    timings["supercircuit"] = time.perf_counter() - start

    # 2. co-search
    start = time.perf_counter()
    n = min(config.valid_size, len(data.x_valid))
    score = fitness_scorer(config, space, sc, data, n)

    def evaluate(c: Candidate) -> dict:
        return score(c.gene, c.layout)

    evaluate_many = None
    if s.pool is not None:
        from qml.runs.search_units import on_workers, scorer_inputs

        evaluate_many = on_workers(s.pool, scorer_inputs(s, state=sc.state_dict(), n=n))

    store = Evaluations(space, folder.file("evaluations.jsonl"))
    known = len(store.records)
    folder.file("generations.jsonl").unlink(missing_ok=True)  # rewritten from the (cached) replay
    from tqdm.auto import tqdm

    bar = tqdm(total=config.evolution.generations, desc="co-search", unit="gen", disable=True if quiet else None)

    def on_generation(row: dict) -> None:
        folder.append("generations.jsonl", row)
        bar.update(1)
        bar.set_postfix(best=f"{row['best_so_far']:.3f}", evaluated=row["evaluated"])

    layouts = s.layouts
    best, history = evolve(space, layouts, evaluate, config.evolution, store, on_generation,
                           seeds=[s.human] if s.human else [], evaluate_many=evaluate_many)
    bar.close()
    evolved = [(r["fitness"], Candidate(tuple(r["gene"]), tuple(r["layout"]))) for r in store.records.values()
               if r["stage"] == "evolution"]
    budget = len(evolved)
    s.say(f"[2/5] co-search: {budget} candidates ({known} from an earlier attempt); best {list(best.gene)} on "
          f"qubits {list(best.layout)}, fitness {history[-1]['best_so_far']:.4f}")
    timings["search"] = time.perf_counter() - start  # the co-search alone: what the strategy costs
    random_list = []
    if config.random_baseline:
        start = time.perf_counter()
        random_best, random_history = random_search(space, layouts, evaluate, budget, store, config.seed,
                                                     evaluate_many)
        folder.write_text("random.jsonl", "".join(json.dumps(r) + "\n" for r in random_history))
        random_list = ranked(random_best, [(r["fitness"], Candidate(tuple(r["gene"]), tuple(r["layout"])))
                                           for r in random_history])
        timings["random_search"] = time.perf_counter() - start

    return ranked(best, evolved), random_list


def _train_free(s: Search, timings: dict, quiet: bool):
    """Stages 1-2 of the training-free strategy (``qml.search.trainfree``): the human design on its best layout,
    then candidates of its size drawn from the design space on connected regions of the device, all scored without
    training; returns the short list (best first) and, as the random baseline, the first candidate drawn at random
    (what the budget gives without the score)."""
    from tqdm.auto import tqdm

    from qml.search.trainfree import score_candidates

    config, folder, space, data = s.config, s.folder, s.space, s.data
    start = time.perf_counter()
    s.say(f"[1/5] training-free scoring (Élivágar-style): no SuperCircuit; {config.train_free.candidates} "
          f"candidates, {config.train_free.replicas} Clifford replicas each")
    score = trainfree_scorer(config, space, data)
    evaluate_many = None
    if s.pool is not None:
        from qml.runs.search_units import on_workers, scorer_inputs

        evaluate_many = on_workers(s.pool, scorer_inputs(s))
    store = Evaluations(space, folder.file("evaluations.jsonl"))
    known = len(store.records)
    layouts = s.layouts
    human, gates = s.human, None
    if human is not None:  # candidates the size of the human design, as Élivágar fixes the parameter count
        size, tolerance = space.gates_used(human.gene), config.train_free.size_tolerance
        gates = (math.ceil(size * (1 - tolerance)), math.floor(size * (1 + tolerance)))
    bar = tqdm(total=config.train_free.candidates, desc="scoring", unit="cand",
               disable=True if quiet else None)
    scored = score_candidates(space, layouts, score, config.train_free.candidates, store, config.seed,
                              on_candidate=lambda record: bar.update(1), seeds=[human] if human else [], gates=gates,
                              evaluate_many=evaluate_many)
    bar.close()
    best, record = max(scored, key=lambda pair: pair[1]["fitness"])
    s.say(f"[2/5] scored {len(scored)} candidates ({known} from an earlier attempt); best {list(best.gene)} on "
          f"qubits {list(best.layout)}: score {record['fitness']:.4f} (Clifford noise resilience "
          f"{record['clifford_noise_resilience']:.4f}, representational capacity "
          f"{record['representational_capacity']:.4f})")
    timings["search"] = time.perf_counter() - start
    first_random = scored[1 if human is not None and len(scored) > 1 else 0][0]  # the first draw after the seed
    return ranked(best, [(r["fitness"], c) for c, r in scored]), ([first_random] if config.random_baseline else [])


def _pick_finalist(s: Search, key: str, short_list: list[Candidate], incumbent: bool = False
                   ) -> tuple[Candidate, list[dict]]:
    """The first ``finalists`` candidates of ``short_list`` (best fitness of each layout first), each retrained
    from scratch with the device's noise injected (``finalists/<key>-<i>/``) and scored by its validation accuracy
    under qml's noise model of the device on its layout (exact density matrix, the device as calibrated); the best
    one (the higher-ranked on ties) is picked and its run copied to ``<key>/``.

    With ``incumbent`` the first candidate is the human design on its best layout, and a challenger replaces it
    only when it is better on the validation inputs with significance (exact McNemar, p < 0.05, on the same
    inputs): 200-600 validation inputs cannot tell a point apart, and picking the top validation score alone
    swapped the human design for a circuit 4.6 points worse on the test inputs (fashion2, Quito, seed 0; 0.898
    against 0.895 on validation). One candidate, or a ``<key>/`` run already finished: nothing is retrained."""
    import shutil

    from qml.runs.stats import ALPHA, mcnemar_test

    if s.folder.has(f"{key}/{MODEL}") and s.folder.has(f"{key}/{RESULT}"):
        # the pick of an earlier attempt (or the winner of a search older than its finalists) stands
        done = s.folder.sub(key).read_config(RunConfig)
        rows = s.folder.read_json(f"{key}/finalists.json")["finalists"] if s.folder.has(f"{key}/finalists.json") \
            else []
        return Candidate(tuple(done.gene), tuple(done.layout)), rows
    short_list = short_list[:s.config.finalists]
    if len(short_list) == 1:
        return short_list[0], []
    names = [f"finalists/{key}-{i}" for i in range(len(short_list))]
    configs = [_run_config(s.config, list(c.layout), gene=list(c.gene)) for c in short_list]
    if s.pool is None:
        outcomes = [finalist_outcome(s, name, rc) for name, rc in zip(names, configs, strict=True)]
    else:  # each finalist on a worker, in its own folder
        from qml.runs.search_units import train_finalist

        outcomes = s.pool.map([Unit(f"finalist {name}", train_finalist, (str(s.folder.path), s.config, name, rc))
                               for name, rc in zip(names, configs, strict=True)], shared=[s.shipped])
    rows, correct = [], []
    for i, (candidate, (accuracy, right)) in enumerate(zip(short_list, outcomes, strict=True)):
        name = names[i]
        correct.append(right)
        rows.append({"gene": list(candidate.gene), "layout": list(candidate.layout), "run": name,
                     "valid_noisy_accuracy": accuracy})
        s.say(f"      finalist {key}-{i} on qubits {list(candidate.layout)}: validation accuracy with the device's "
              f"noise {accuracy:.4f}")
    pick = max(range(len(rows)), key=lambda i: (rows[i]["valid_noisy_accuracy"], -i))
    if incumbent and pick != 0:
        test = mcnemar_test(correct[pick], correct[0])
        rows[pick]["p_vs_human"] = test.p_value
        if not test.p_value < ALPHA:
            pick = 0
    rows[pick]["picked"] = True
    target = s.folder.sub(key)
    for file in sorted(s.folder.file(rows[pick]["run"]).iterdir()):
        if file.is_file():
            shutil.copyfile(file, target.file(file.name))
    target.write_json("finalists.json", {"finalists": rows})
    return short_list[pick], rows


def finalist_outcome(s: Search, name: str, rc: RunConfig) -> tuple[float, list[bool]]:
    """The finalist ``rc`` trained (or resumed) in ``SEARCH/name``: its validation accuracy under qml's noise
    model of the device on its layout, and each input's outcome."""
    from qml.runs.evaluate import measure

    model = _train(s, s.folder.sub(name), rc)
    return measure(model, s.executor_of("torch", rc.layout), s.data.x_valid, s.data.y_valid, None)


def _run_config(config: SearchConfig, layout, gene=None) -> RunConfig:
    from qml.train import TrainConfig

    train = TrainConfig(config.retrain_epochs, 32, config.retrain_lr, seed=config.seed,
                        noise_factor=config.noise_factor)
    human = config.baseline or config.space
    rc = RunConfig(config.task, human, HUMAN_BLOCKS, train, config.device, layout, data_dir=config.data_dir,
                   data_file=config.data_file)
    if gene is not None:
        rc = replace(rc, space=config.space, space_options=config.space_options, gene=gene)
    return rc


def _train_and_eval(s: Search, folder: RunFolder, rc: RunConfig, prune: bool = True) -> tuple[dict, object]:
    """Train a candidate from scratch with noise injected (resumable), optionally prune it, evaluate on Aer;
    ``folder`` becomes a complete run folder (config, weights, circuit.qasm, result.json)."""
    from qml.runs.train import noise_for

    config = s.config
    model = _train(s, folder, rc)
    out = {"noise_free": folder.read_json(RESULT)["test_accuracy"]}  # the fit's final, noise-free test evaluation
    out["aer"], s.correct[folder.path.name] = _aer_outcomes(s, model, rc.layout)
    out["gates"] = len(model.qmodule.circuit)
    folder.write_result({**folder.read_json(RESULT), "aer_accuracy": out["aer"], "shots": config.shots})
    s.say(f"      {folder.path.name}: noise-free {out['noise_free']:.4f}, Aer twin {out['aer']:.4f}")
    if prune and config.prune_ratio:  # fine-tuned with the retraining's noise (rc.train.noise_factor)
        out.update(_prune(s, folder, model, rc, noise_for(rc)))
    return out, model


def _train(s: Search, folder: RunFolder, rc: RunConfig):
    """The model of ``rc`` trained from scratch with noise injected in ``folder`` (resumed from its checkpoint;
    loaded when finished), which becomes a complete run folder (config, weights, circuit.qasm, result.json)."""
    from qml.runs.train import finish, fit, noise_for

    data = s.data
    folder.write_config(rc)
    record(folder, rc, files={"space": rc.space, "circuit": rc.circuit}, device=rc.device_name, data=rc.data_file)
    with seeded(s.config.seed):
        model = build_model(rc, data.n_features, data.n_classes, s.space if rc.gene is not None else None)
    if folder.has(MODEL) and folder.has(RESULT):
        folder.load_weights(model)
    else:
        result = fit(model, rc, noise_for(rc), data, folder, progress=False)
        finish(folder, model, result)
    model.set_noise(None)
    return model


def _human_on_other_layouts(s: Search, model, searched_layout: list[int]) -> dict:
    """The human design on the searched layout (the trivial-layout run evaluated there) and on its own best layout:
    the one the device's placement finds for its structure (VF2-style candidates scored by estimated success
    probability, generic angles), where it is trained again with that layout's noise injected (``human_best/``;
    the trivial run when the trivial layout is the best) — the strongest fair baseline."""
    best = s.human_layout
    trivial = list(range(model.qmodule.circuit.n_wires))
    accuracy, s.correct["human_searched_layout"] = _aer_outcomes(s, model, searched_layout)
    out = {"searched_layout": {"layout": searched_layout, "aer": accuracy}}
    if best == trivial:
        s.correct["human_best_layout"] = s.correct["baseline"]
        baseline = s.folder.read_json("baseline/" + RESULT)
        out["best_layout"] = {"layout": best, "aer": baseline["aer_accuracy"], "run": "baseline"}
    else:
        outcome, _ = _train_and_eval(s, s.folder.sub("human_best"), _run_config(s.config, best), prune=False)
        s.correct["human_best_layout"] = s.correct.pop("human_best")
        out["best_layout"] = {"layout": best, "aer": outcome["aer"], "noise_free": outcome["noise_free"],
                              "run": "human_best"}
    s.say(f"      human design on the searched layout {searched_layout}: Aer twin {out['searched_layout']['aer']:.4f}; "
          f"trained on its best layout {best}: {out['best_layout']['aer']:.4f}")
    return out


def _verdicts(s: Search) -> dict:
    """Exact McNemar tests on the same test inputs: the searched circuit (and its pruned form) against the human
    design on each of its layouts; "beats" only where the test rejects "no difference" at 0.05."""
    from qml.runs.stats import mcnemar_test

    names = {"baseline": "human design (trivial layout)", "human_searched_layout": "human design (searched layout)",
             "human_best_layout": "human design (its best layout)"}
    out = {}
    for a, label in (("winner", "searched"), ("pruned", "searched + pruned")):
        if a not in s.correct:
            continue
        for b, other in names.items():
            if b not in s.correct:  # no human design in this search
                continue
            test = mcnemar_test(s.correct[a], s.correct[b])
            out[f"{label} vs {other}"] = {"b": test.b, "c": test.c, "p": test.p_value,
                                          "text": test.verdict(label, other)}
    return out


def _aer_outcomes(s: Search, model, layout) -> tuple[float, list[bool]]:
    """Accuracy on the Aer twin and, per test input, whether it was right (for paired tests)."""
    from qml.backends import make_executor
    from qml.runs.evaluate import measure

    executor = make_executor(f"aer:{s.config.device}", layout=layout, seed=s.config.seed)
    return measure(model, executor, s.data.x_test, s.data.y_test, s.config.shots)


def _prune(s: Search, folder: RunFolder, model, rc: RunConfig, noise) -> dict:
    from qml.circuit import to_qasm3
    from qml.passes import PassContext
    from qml.runs.prune import make_gate_prune, prune_model, pruned_export, transpiled_counts
    from qml.train import Trainer, finetune_callback

    config, data = s.config, s.data
    try:
        pruner = make_gate_prune(ratio=config.prune_ratio)
    except PluginError as exc:
        s.say(f"      pruning skipped: {exc}")
        return {"pruned": "skipped: " + str(exc).split(";")[0]}
    pruned = folder.sub("pruned")
    if pruned.has(MODEL):
        pruned.load_weights(model)
    else:
        pruned.write_config(rc)
        record(pruned, rc, files={"space": rc.space, "circuit": rc.circuit}, device=rc.device_name)
        model, _ = prune_model(pruner, model, pruned, PassContext(finetune=finetune_callback(data, rc.train, noise)))
        pruned.save_weights(model)
        circuit, theta = pruned_export(model)
        pruned.write_text(QASM, to_qasm3(circuit, theta=theta))
    aer, s.correct["pruned"] = _aer_outcomes(s, model, rc.layout)
    out = {"pruned_noise_free": Trainer(model, rc.train).evaluate(data.x_test, data.y_test)[0], "pruned_aer": aer,
           "pruned_transpiled": transpiled_counts(model, config.device, rc.layout)}
    pruned.write_result({"test_accuracy": out["pruned_noise_free"], "aer_accuracy": out["pruned_aer"],
                         "transpiled": out["pruned_transpiled"]})
    s.say(f"      pruned {config.prune_ratio:.0%}: noise-free {out['pruned_noise_free']:.4f}, "
          f"Aer twin {out['pruned_aer']:.4f}")
    return out


__all__ = ["CHECKPOINT", "Search", "check_search", "finalist_outcome", "fitness_scorer", "search_run", "seeded",
           "trainfree_scorer"]
