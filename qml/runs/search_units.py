"""What a search fans out to a pool's workers (``qml.runs.ray_pool``): the scoring of candidates in batches (the
evolution's generations, the random search, the training-free draws) and the retraining of the finalists.

The driver ships the search's inputs once per search — its config, data, device snapshot and the design space's
file — and each scorer's own (for the evolution, the SuperCircuit's weights) once per scoring stage; each worker
installs each once and rebuilds the scorer from them. A candidate's score
depends only on the candidate (every executor is seeded anew per candidate), so scoring on the workers records the
same values as in-process; the store records them in the order the in-process search would. A finalist is
retrained in its own folder inside the search folder (the driver holds the search folder's lock), resuming from
its checkpoint when a worker died mid-way."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

from qml.runs.fanout import Shared, Unit
from qml.search.evolution import Candidate

_INPUTS: dict[str, dict] = {}  # in a worker process: the searches' inputs installed, by key
_SCORERS: dict[str, Callable] = {}  # in a worker process: scorers by the key of their own inputs


def search_inputs(s) -> Shared:
    """The search's config, space file, data and device snapshot, to ship once (``Search.shipped`` keeps the one
    made); a worker installs the data and the snapshot, so what it rebuilds reads no file of the driver's
    machine."""
    from qml.runs.provenance import source

    key = f"search-{uuid.uuid4().hex}"
    value = {"key": key, "config": s.config, "space": source(s.folder, "space", s.config.space), "data": s.data,
             "snapshot": s.device.snapshot}
    return Shared(key, value, install_search_inputs)


def install_search_inputs(inputs: dict) -> None:
    from qml.data import provide
    from qml.device import Device

    config = inputs["config"]
    if config.data_file is None:
        provide({(config.task, config.seed, config.data_dir): inputs["data"]})
    Device.provide({config.device: inputs["snapshot"]})
    _INPUTS[inputs["key"]] = inputs


def scorer_inputs(s, **scorer) -> list[Shared]:
    """What the scoring units need: the search's inputs, then the scorer's own (``state``: the SuperCircuit's
    weights and ``n``: validation inputs, for the evolution's fitness; none for the training-free score), which a
    worker installs after them."""
    key = f"scorer-{uuid.uuid4().hex}"
    return [s.shipped, Shared(key, {"key": key, "inputs": s.shipped.key, **scorer}, install_scorer)]


def install_scorer(scorer: dict) -> None:
    """Rebuild the driver's scorer from what it shipped."""
    from qml.search.loader import load_space

    inputs = _INPUTS[scorer["inputs"]]
    config, data = inputs["config"], inputs["data"]
    space = load_space(inputs["space"], **config.space_options)
    if "state" in scorer:
        from qml.runs.search import fitness_scorer, seeded
        from qml.search.supercircuit import SuperCircuit

        with seeded(config.seed):
            sc = SuperCircuit(space, data.n_classes)
        sc.load_state_dict(scorer["state"])
        _SCORERS[scorer["key"]] = fitness_scorer(config, space, sc, data, scorer["n"])
    else:
        from qml.runs.search import trainfree_scorer

        _SCORERS[scorer["key"]] = trainfree_scorer(config, space, data)


def score_batch(key: str, candidates: list[tuple[tuple, tuple]]) -> list[dict]:
    """A worker's unit: the records of a batch of (gene, layout) candidates."""
    score = _SCORERS[key]
    return [score(tuple(gene), tuple(layout)) for gene, layout in candidates]


def on_workers(pool, shared: list[Shared]) -> Callable[[list[Candidate]], list[dict]]:
    """``evaluate_many`` for a search's store: candidates scored in batches on ``pool``'s workers (two batches per
    worker, so a slow batch does not hold the rest back) by the scorer ``shared`` (``scorer_inputs``) ends with,
    records in the order given."""
    key = shared[-1].key

    def evaluate_many(candidates: list[Candidate]) -> list[dict]:
        size = max(1, math.ceil(len(candidates) / (2 * pool.workers)))
        chunks = [candidates[i:i + size] for i in range(0, len(candidates), size)]
        units = [Unit(f"{len(chunk)} candidates", score_batch, (key, [(c.gene, c.layout) for c in chunk]))
                 for chunk in chunks]
        return [record for records in pool.map(units, shared=shared) for record in records]

    return evaluate_many


def train_finalist(search: str, config, name: str, rc) -> tuple[float, list[bool]]:
    """A worker's unit: the finalist ``rc`` trained (or resumed) in ``SEARCH/name`` and its validation accuracy
    under qml's noise model, with each input's outcome."""
    from qml.runs.folder import RunFolder
    from qml.runs.search import Search, finalist_outcome

    s = Search(RunFolder.delegated(search), config, lambda text: None)
    return finalist_outcome(s, name, rc)


__all__ = ["on_workers", "score_batch", "scorer_inputs", "search_inputs", "train_finalist"]
