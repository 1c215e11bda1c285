"""The study stage: every cell of a ``StudyConfig`` grid in its own folder under ``STUDY/cells/``, evaluated on the
device's Aer twin, then ``results.json`` and ``report.md``. A cell is done when its ``cell.json`` is on disk (the
record on disk is the truth), so a resumed study skips finished cells and resumes unfinished run folders.

Every cell runs through ``run_cell``, which writes only under its own folder and the one folder it shares with
other cells (a search, or a noise-free training); ``run_in_process`` loops over the missing cells, and another
runner can take its place: one worker per cell once one cell of each shared folder is done. The study folder has
one writer: its lock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from qml.errors import InputError, did_you_mean
from qml.files import FolderLock
from qml.runs.folder import RunFolder
from qml.runs.search import check_search
from qml.runs.study_cell import CELL, RESULTS, CellRecord, read_cell, run_cell
from qml.runs.study_config import SEARCHED, SHARED, Cell, StudyConfig

STUDY_CONFIG = "study.json"


# -- checking and opening ----------------------------------------------------------------------------------------
def check_study(config: StudyConfig) -> StudyConfig:
    """Everything checked before the study folder is made — devices, tasks and their data, the circuit, the search
    and the plugins its methods need; device names come back as IBM writes them, files as absolute paths."""
    from qml.circuit.library import load_circuit
    from qml.data import load_task, task_names
    from qml.device import Device

    devices = [str(Path(d).resolve()) if Path(d).is_file() else Device.load(d).name for d in config.devices]
    for d in devices:
        Device.load(d)
    if len(set(devices)) < len(devices):
        raise InputError(f"devices {', '.join(config.devices)} name one device twice")
    if any(Path(d).stem == SHARED for d in devices):
        raise InputError(f"a device snapshot file may not be named {SHARED}.json in a study (the folder of the "
                         f"noise-free runs): rename it")
    for task in config.tasks:
        if task not in task_names():
            raise InputError(f"unknown task {task!r}{did_you_mean(task, task_names())}: expected one of "
                             f"{', '.join(task_names())}")
        load_task(task, seed=config.seeds[0], data_dir=config.data_dir)
    circuit = str(Path(config.circuit).resolve()) if Path(config.circuit).is_file() else config.circuit
    load_circuit(circuit, n_blocks=config.blocks)
    config = replace(config, devices=devices, circuit=circuit)
    if any(m in SEARCHED for m in config.methods):
        extras = {config.extra_search(m) for m in config.methods} - {None}
        for task in config.tasks:
            for device in devices:
                for extra in (None, *extras):
                    check_search(config.search_config(task, device, config.seeds[0], extra))
    if "searched_pruned" in config.methods:
        from qml.runs.prune import make_gate_prune

        make_gate_prune(ratio=config.search.prune_ratio)
    if "human_best" in config.methods and not hasattr(Device, "best_layout"):
        raise InputError("method human_best needs Device.best_layout, which this qml does not have")
    return config


def open_study(out: Path | str, config: StudyConfig | None, resume: bool) -> tuple[RunFolder, StudyConfig]:
    """The study folder, locked, with its config: a new one (checked, then written to ``study.json``), or with
    ``resume`` the one stored there, schema-checked."""
    path = Path(out)
    if resume:
        if not (path / STUDY_CONFIG).is_file():
            raise InputError(f"nothing to resume: {path} is not a qml study (no {STUDY_CONFIG})")
        folder = RunFolder(path, FolderLock(path).acquire())
        try:
            return folder, StudyConfig.from_dict(folder.read_json(STUDY_CONFIG), str(path / STUDY_CONFIG))
        except BaseException:
            folder.close()
            raise
    if config is None:
        raise InputError("a new study needs a config (or resume an existing one)")
    if (path / STUDY_CONFIG).is_file():
        raise InputError(f"--out {path} already holds a study; continue it with --resume")
    config = check_study(config)
    folder = RunFolder.create(path)
    folder.write_json(STUDY_CONFIG, config.to_dict())
    return folder, config


# -- the study ---------------------------------------------------------------------------------------------------
Runner = Callable[[Path, StudyConfig, list[Cell], Callable[[Cell, CellRecord], None]], None]


def run_in_process(study: Path, config: StudyConfig, cells: list[Cell],
                   on_done: Callable[[Cell, CellRecord], None]) -> None:
    """The default runner: the missing cells one after another in this process."""
    for cell in cells:
        on_done(cell, run_cell(study, config, cell))


def study_run(out: Path | str, config: StudyConfig | None = None, *, resume: bool = False,
              say: Callable[[str], None] = print, runner: Runner | None = None):
    """Run (or with ``resume`` continue) the study in ``out``; returns its ``StudyResults`` (also written to
    ``results.json`` and ``report.md``)."""
    from qml.runs.study_report import summarise, write_report

    folder, config = open_study(out, config, resume)
    with folder:
        cells = config.cells()
        missing = [c for c in cells if not (c.folder(folder.path) / CELL).is_file()]
        done = len(cells) - len(missing)
        say(f"study {folder.path}: {len(cells)} cells, {done} done, {len(missing)} to run")

        def on_done(cell: Cell, record: CellRecord) -> None:
            nonlocal done
            done += 1
            say(f"[{done}/{len(cells)}] {cell}: accuracy {record.accuracy:.4f} on {record.n} inputs "
                f"({record.timings_s.get('total_s', 0):.1f} s)")

        (runner or run_in_process)(folder.path, config, missing, on_done)
        records = [read_cell(folder.path, c) for c in cells]
        results = summarise(config, records)
        folder.write_json(RESULTS, results.to_dict())
        write_report(folder, config, results, records)
    return results


__all__ = ["Runner", "check_study", "open_study", "run_cell", "run_in_process", "study_run"]
