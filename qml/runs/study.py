"""The study stage: every cell of a ``StudyConfig`` grid in its own folder under ``STUDY/cells/``, evaluated on the
device's Aer twin, then ``results.json`` and ``report.md``. A cell is done when its ``cell.json`` is on disk (the
record on disk is the truth), so a resumed study skips finished cells and resumes unfinished run folders.

Every cell runs through ``run_cell``, which writes only under its own folder and the one folder it shares with
other cells (a search, or a noise-free training). The missing cells run one after another in this process, or on
Ray's workers (``qml.runs.ray_pool``): one worker per cell once the cell that makes each shared folder is done.
The study folder has one writer: its lock, held by the driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from qml.errors import InputError, did_you_mean
from qml.files import FolderLock
from qml.runs.fanout import Progress, Shared, Unit, run_in_process
from qml.runs.folder import RunFolder
from qml.runs.search import check_search
from qml.runs.study_cell import CELL, RESULTS, CellRecord, read_cell, run_cell
from qml.runs.study_config import SEARCHED, SHARED, TRAINED, Cell, StudyConfig, search_folder

STUDY_CONFIG, TIMING = "study.json", "timing.json"


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


def open_study(out: Path | str, config: StudyConfig | None, resume: bool,
               then: Callable[[], object] | None = None) -> tuple[RunFolder, StudyConfig]:
    """The study folder, locked, with its config: a new one (checked, then written to ``study.json``), or with
    ``resume`` the one stored there, schema-checked. ``then`` (starting Ray) runs once the input is checked, before
    a new folder is made."""
    path = Path(out)
    if resume:
        if not (path / STUDY_CONFIG).is_file():
            raise InputError(f"nothing to resume: {path} is not a qml study (no {STUDY_CONFIG})")
        folder = RunFolder(path, FolderLock(path).acquire())
        try:
            config = StudyConfig.from_dict(folder.read_json(STUDY_CONFIG), str(path / STUDY_CONFIG))
            if then is not None:
                then()
            return folder, config
        except BaseException:
            folder.close()
            raise
    if config is None:
        raise InputError("a new study needs a config (or resume an existing one)")
    if (path / STUDY_CONFIG).is_file():
        raise InputError(f"--out {path} already holds a study; continue it with --resume")
    config = check_study(config)
    if then is not None:
        then()
    folder = RunFolder.create(path)
    folder.write_json(STUDY_CONFIG, config.to_dict())
    return folder, config


# -- the study ---------------------------------------------------------------------------------------------------
def cell_units(study: Path, config: StudyConfig, cells: list[Cell]) -> list[Unit]:
    """One unit per cell, grouped by the folder it shares with other cells — its (task, device, seed)'s search, or
    the noise-free run of its (task, seed, method) — so the cell that makes that folder runs before the others."""
    def group(cell: Cell) -> str:
        if cell.base in TRAINED:
            return str(cell.run_folder(study, config))
        return str(search_folder(study, cell.task, cell.device, cell.seed, config.extra_search(cell.method)))

    return [Unit(str(cell), run_cell, (study, config, cell), group(cell)) for cell in cells]


def study_inputs(config: StudyConfig) -> Shared:
    """What every cell reads, shipped once to each worker: the datasets of every (task, seed) and the device
    snapshots."""
    import uuid

    from qml.data import load_task
    from qml.device import Device

    datasets = {(task, seed, config.data_dir): load_task(task, seed=seed, data_dir=config.data_dir)
                for task in config.tasks for seed in config.seeds}
    snapshots = {device: Device.load(device).snapshot for device in config.devices}
    return Shared(f"study-inputs-{uuid.uuid4().hex}", {"datasets": datasets, "snapshots": snapshots},
                  install_study_inputs)


def install_study_inputs(inputs: dict) -> None:
    from qml.data import provide
    from qml.device import Device

    provide(inputs["datasets"])
    Device.provide(inputs["snapshots"])


def study_run(out: Path | str, config: StudyConfig | None = None, *, resume: bool = False,
              say: Callable[[str], None] = print, pool=None):
    """Run (or with ``resume`` continue) the study in ``out``; returns its ``StudyResults`` (also written to
    ``results.json`` and ``report.md``, and where the time went to ``timing.json``). The cells run one after
    another in this process, or with ``pool`` (a ``qml.runs.ray_pool.RayPool``) on its workers; either way a cell
    is done when its ``cell.json`` is on disk, and the results are the same."""
    from qml.runs.study_report import summarise, write_report

    folder, config = open_study(out, config, resume, then=pool.start if pool is not None else None)
    with folder:
        cells = config.cells()
        missing = [c for c in cells if not (c.folder(folder.path) / CELL).is_file()]
        say(f"study {folder.path}: {len(cells)} cells, {len(cells) - len(missing)} done, {len(missing)} to run"
            + (f", on {pool.describe()} (started in {pool.startup_s:.1f} s)" if pool is not None else ""))
        progress = Progress(len(missing), pool.workers if pool is not None else 1)

        def on_done(unit: Unit, record: CellRecord) -> None:
            say(f"[{progress.line()}] {unit.label}: accuracy {record.accuracy:.4f} on {record.n} inputs "
                f"({record.timings_s.get('total_s', 0):.1f} s)")

        units = cell_units(folder.path, config, missing)
        try:
            if pool is None:
                run_in_process(units, on_done, progress)
            else:
                pool.run(units, on_done, progress, [study_inputs(config)] if units else [])
        except KeyboardInterrupt:
            say(f"stopped: {progress.line()}; finished cells are kept, --resume continues (in-process or on Ray)")
            raise
        timing = {"runner": "in-process" if pool is None else pool.describe(),
                  "ray_startup_s": round(pool.startup_s, 2) if pool is not None else None, **progress.summary()}
        if missing:
            say(progress.summary_line())
            folder.write_json(TIMING, timing)
        records = [read_cell(folder.path, c) for c in cells]
        results = summarise(config, records)
        folder.write_json(RESULTS, results.to_dict())
        write_report(folder, config, results, records)
    return results


__all__ = ["cell_units", "check_study", "open_study", "run_cell", "study_inputs", "study_run"]
