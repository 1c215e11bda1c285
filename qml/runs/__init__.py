"""Room ``runs``: the application layer. ``RunFolder`` is the one writer of a run folder (lock, atomic writes,
schema-checked reads); the stages — train, evaluate, prune, search — each write one and resume from it. The CLI
parses arguments, calls a stage and prints; notebooks and scripts call the same stages.

    from qml.runs import RunConfig, train_run, evaluate_run
    train_run(RunConfig(task="digits4"), "runs/d4")
    evaluate_run("runs/d4", "aer:ibm_quito")
"""

from qml.runs.config import RunConfig, SearchConfig
from qml.runs.evaluate import Evaluation, evaluate_run
from qml.runs.folder import RunFolder
from qml.runs.model import build_model, load_run, load_run_config
from qml.runs.prune import prune_run
from qml.runs.ray_pool import RayPool
from qml.runs.search import search_run
from qml.runs.study import run_cell, study_run
from qml.runs.study_cell import CellRecord
from qml.runs.study_config import Cell, StudyConfig
from qml.runs.train import train_run

__all__ = ["Cell", "CellRecord", "Evaluation", "RayPool", "RunConfig", "RunFolder", "SearchConfig", "StudyConfig",
           "build_model", "evaluate_run", "load_run", "load_run_config", "prune_run", "run_cell", "search_run",
           "study_run", "train_run"]
