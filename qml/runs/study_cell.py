"""One cell of a study: ``run_cell`` trains it (or reuses the run or search it shares with other cells),
evaluates it on the device's Aer twin and writes ``cell.json``, the ``CellRecord`` that makes it done. It writes
only under its own folder and the folder it shares — the search of its (task, device, seed), or the noise-free
training of its (task, seed, method), which does not depend on the device — so a runner may give each cell its
own worker once one cell of each shared folder is done."""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from qml.errors import InputError
from qml.runs.config import SearchConfig
from qml.runs.evaluate import evaluate_run
from qml.runs.folder import CONFIG, MODEL, RESULT, RunFolder
from qml.runs.model import load_run_config
from qml.runs.schema import from_doc
from qml.runs.search import search_run
from qml.runs.study_config import TRAINED, Cell, StudyConfig, search_folder
from qml.runs.train import train_run

CELL, RESULTS = "cell.json", "results.json"
# search-based method -> (run folder inside the search folder, whose layout it is evaluated on)
SEARCH_RUNS = {"searched": ("winner", "winner"), "searched_pruned": ("winner/pruned", "winner"),
               "random": ("random", "random"), "human_trivial": ("baseline", "baseline"),
               "human_searched": ("baseline", "winner"), "human_best": (None, None),
               "trainfree": ("winner", "winner")}


@dataclass
class CellRecord:
    """``cell.json``: what a finished cell measured — accuracy on ``n`` test inputs of the Aer twin, each input's
    outcome (in test-split order, for paired tests), the run folder and layout it used, and timings."""

    task: str
    device: str
    seed: int
    method: str
    noise_factor: float | None
    run: str  # the run folder evaluated, relative to the study folder
    backend: str
    shots: int
    layout: list[int]
    n: int
    accuracy: float
    correct: list[bool]
    inputs: str  # digest of the test inputs: cells are paired only on the same inputs
    noise_free_accuracy: float | None
    timings_s: dict

    def __post_init__(self) -> None:
        if len(self.correct) != self.n or self.n < 1:
            raise InputError(f"field 'correct' holds {len(self.correct)} outcomes for n={self.n} inputs")
        if abs(sum(self.correct) / self.n - self.accuracy) > 1e-9:
            raise InputError(f"field 'accuracy' {self.accuracy} disagrees with its outcomes")

    @property
    def cell(self) -> Cell:
        return Cell(self.task, self.device, self.seed, self.method)


def read_cell(study: Path | str, cell: Cell) -> CellRecord:
    """A finished cell's record, checked field by field and against the cell it claims to be."""
    path = cell.folder(study) / CELL
    record = from_doc(CellRecord, RunFolder(cell.folder(study)).read_json(CELL), str(path))
    if record.cell != cell:
        raise InputError(f"{path} records {record.cell}, not {cell}")
    return record


def run_cell(study: Path | str, config: StudyConfig, cell: Cell) -> CellRecord:
    """Train the cell (or reuse its seed's shared search), evaluate it on the device's Aer twin, write its
    ``cell.json`` and return the record. Resumes whatever an earlier attempt left in its folders."""
    study, path = Path(study), cell.folder(study)
    if (path / CELL).is_file():  # done: a retried cell is not recomputed
        return read_cell(study, cell)
    start, timings = time.perf_counter(), {}
    if cell.base in TRAINED:
        run = cell.run_folder(study, config)
        _train(run, config.run_config(cell))
        timings["train_s"] = time.perf_counter() - start
        layout = _trivial_layout(config)
    else:
        results = ensure_search(study, config, cell.task, cell.device, cell.seed, config.extra_search(cell.method))
        timings["search_s"] = time.perf_counter() - start
        run, layout = _search_cell(study, config, cell, results)
    evaluation = evaluate_run(run, f"aer:{cell.device}", shots=config.shots, layout=layout, seed=cell.seed,
                              limit=config.limit)
    timings["eval_s"] = evaluation.seconds
    timings["total_s"] = time.perf_counter() - start
    result = RunFolder(run).read_json(RESULT) if (run / RESULT).is_file() else {}
    record = CellRecord(cell.task, cell.device, cell.seed, cell.method, config.factor_of(cell.method),
                        run.relative_to(study).as_posix(), f"aer:{cell.device}", evaluation.shots or config.shots,
                        [int(q) for q in layout], evaluation.n, evaluation.accuracy,
                        [bool(c) for c in evaluation.correct], _inputs_digest(run, config.limit),
                        result.get("test_accuracy"), {k: round(v, 3) for k, v in timings.items()})
    opened = RunFolder.resume(path) if (path / CONFIG).is_file() else RunFolder.create(path)
    with opened:
        opened.write_json(CELL, asdict(record))
    return record


def _train(path: Path, rc) -> None:
    if not (path / CONFIG).is_file():
        train_run(rc, path, progress=False, say=lambda text: None)
        return
    if load_run_config(path) != rc:
        raise InputError(f"{path} holds a different run than the study asks for; move it away to recompute it")
    if not ((path / MODEL).is_file() and (path / RESULT).is_file()):
        train_run(None, path, resume=True, progress=False, say=lambda text: None)


def ensure_search(study: Path | str, config: StudyConfig, task: str, device: str, seed: int,
                  extra: str | None = None) -> dict:
    """The search of (task, device, seed) — the study's own, or with ``extra`` (``trainfree``) the extra one —
    run or resumed when its ``results.json`` is not on disk yet."""
    path = search_folder(study, task, device, seed, extra)
    if (path / RESULTS).is_file():
        return RunFolder(path).read_json(RESULTS)
    sc = config.search_config(task, device, seed, extra)
    if not (path / CONFIG).is_file():
        return search_run(path, sc, quiet=True)
    if RunFolder(path).read_config(SearchConfig) != sc:
        raise InputError(f"{path} holds a different search than the study asks for; move it away to recompute it")
    return search_run(path, None, resume=True, quiet=True)


def _search_cell(study: Path, config: StudyConfig, cell: Cell, results: dict) -> tuple[Path, list[int]]:
    """The run folder a search-based cell evaluates, and the layout it is evaluated on."""
    name, layout_of = SEARCH_RUNS[cell.base]
    search = search_folder(study, cell.task, cell.device, cell.seed, config.extra_search(cell.method))
    if cell.base == "human_best":  # trained on its best layout by the search (the trivial run when that is best)
        best = results["human_layouts"]["best_layout"]
        name, layout = best.get("run", "baseline"), list(best["layout"])
    run = search / name
    if not (run / MODEL).is_file():
        why = results.get("winner", {}).get("pruned") if cell.base == "searched_pruned" else None
        raise InputError(f"{cell}: the search {search} holds no finished {name}/ run" + (f" ({why})" if why else ""))
    return run, (layout if cell.base == "human_best" else list(results[layout_of]["layout"]))


def _trivial_layout(config: StudyConfig) -> list[int]:
    from qml.circuit.library import load_circuit

    return list(range(load_circuit(config.circuit, n_blocks=config.blocks).n_wires))


def _inputs_digest(run: Path, limit: int | None) -> str:
    """A digest of the test inputs (and labels) ``run`` is evaluated on: its task, split seed and ``limit``."""
    from qml.data import load_task

    rc = load_run_config(run)
    data = load_task(rc.task, seed=rc.train.seed, data_dir=rc.data_dir)
    x, y = (data.x_test, data.y_test) if not limit else (data.x_test[:limit], data.y_test[:limit])
    digest = hashlib.sha256(x.detach().cpu().float().numpy().tobytes())
    digest.update(y.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


__all__ = ["CELL", "CellRecord", "ensure_search", "read_cell", "run_cell"]
