"""``RunFolder``: the one writer of a run folder (DESIGN.md §5). It holds the folder's lock for as long as it is
open, writes every file atomically, and checks what it reads back against its schema.

A folder holds ``config.json`` (everything needed to rebuild the model), ``metrics.jsonl`` (one line per
epoch), ``checkpoint.pt`` (every epoch), ``model.pt`` (final weights, a plain ``state_dict``), ``circuit.qasm``
(OpenQASM 3 with the trained angles), ``result.json`` and, after ``qml eval``, ``eval.jsonl``. Checkpoints and
weights load with ``weights_only=True``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from qml.errors import FileError, InputError
from qml.files import FolderLock, append_line, describe_os_error, read_json, read_lines, write_atomic, write_json

CONFIG, METRICS, CHECKPOINT, MODEL, QASM, RESULT, EVAL, REPORT = (
    "config.json", "metrics.jsonl", "checkpoint.pt", "model.pt", "circuit.qasm", "result.json", "eval.jsonl",
    "report.md")
# files that mean work was done: a folder without them was stopped before its first checkpoint
WORK = (CHECKPOINT, MODEL, "super.pt", "evaluations.jsonl")
# what a run writes before its first checkpoint: a folder holding only these is started again
RESTARTABLE = (".lock", CONFIG, METRICS, "provenance.json", "sources")


class _Delegated:
    """The lock of a folder that the driver of a fan-out holds for its workers."""

    def release(self) -> None:
        pass


class RunFolder:
    """A run folder, opened for reading (``RunFolder(path)``) or for writing (``RunFolder.create`` /
    ``RunFolder.resume``, which take the folder's lock; use as a context manager or call ``close``)."""

    def __init__(self, path: Path | str, lock: FolderLock | None = None) -> None:
        self.path = Path(path)
        self._lock = lock

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # -- opening ---------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path | str, *, purpose: str = "") -> RunFolder:
        """A new run in ``path``: absent, empty, or left by a run stopped before its first checkpoint (its
        files are replaced, nothing else is touched). Anything else is refused: use ``resume``."""
        path = Path(path)
        cls._check_fresh(path)
        lock = FolderLock(path, purpose).acquire()
        try:
            cls._check_fresh(path)  # again under the lock: another writer may have started in between
        except InputError:
            lock.release()
            raise
        folder = cls(path, lock)
        for name in (CONFIG, METRICS):
            (path / name).unlink(missing_ok=True)
        return folder

    @staticmethod
    def _check_fresh(path: Path) -> None:
        if not path.exists():
            return
        if not path.is_dir():
            raise InputError(f"--out {path} exists and is a file; choose a new folder")
        if any((path / name).is_file() for name in WORK):
            raise InputError(f"--out {path} already holds a run; choose a new folder (or --resume it)")
        stray = sorted(p.name for p in path.iterdir()
                       if p.name not in RESTARTABLE and ".tmp" not in p.name)
        if stray:
            raise InputError(f"--out {path} exists and is not empty ({', '.join(stray[:3])}); choose a new folder")

    @classmethod
    def resume(cls, path: Path | str, *, purpose: str = "") -> RunFolder:
        path = Path(path)
        if not path.is_dir():
            raise InputError(f"nothing to resume: run folder {path} does not exist")
        if not (path / CONFIG).is_file():
            raise InputError(f"nothing to resume: {path} is not a qml run folder (no {CONFIG})")
        return cls(path, FolderLock(path, purpose).acquire())

    @classmethod
    def delegated(cls, path: Path | str) -> RunFolder:
        """A folder this process writes in while another one holds its lock: the driver of a fan-out, which sent
        this process (its worker) a unit of work inside it."""
        return cls(path, _Delegated())

    def sub(self, name: str) -> RunFolder:
        """A run folder inside this one (the search's ``winner/``, ``baseline/``), written under this lock."""
        folder = RunFolder(self.path / name, self._lock)
        try:
            folder.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileError(f"cannot create {describe_os_error(exc, folder.path)}") from None
        return folder

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- state -----------------------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def has_work(self) -> bool:
        return any(self.has(name) for name in WORK)

    def require(self) -> RunFolder:
        """This folder as a finished or resumable run (for readers): one clear line if it is not one."""
        if not self.path.is_dir():
            raise InputError(f"run folder {self.path} does not exist")
        if not self.has(CONFIG):
            raise InputError(f"{self.path} is not a qml run folder: no {CONFIG}")
        return self

    # -- JSON ------------------------------------------------------------------------------------------------
    def write_config(self, config) -> None:
        self._writable()
        write_json(self.path / CONFIG, config.to_dict())

    def read_config(self, cls):
        self.require()
        return cls.from_dict(read_json(self.path / CONFIG), str(self.path / CONFIG))

    def write_json(self, name: str, doc: Any) -> None:
        self._writable()
        write_json(self.path / name, doc)

    def read_json(self, name: str, expect: type = dict) -> Any:
        return read_json(self.path / name, expect)

    def write_text(self, name: str, text: str) -> None:
        self._writable()
        write_atomic(self.path / name, text)

    def append(self, name: str, row: dict) -> None:
        append_line(self.path / name, row)

    def rows(self, name: str) -> list[dict]:
        return read_lines(self.path / name)

    # -- tensors ---------------------------------------------------------------------------------------------
    def save_tensors(self, name: str, state: dict) -> None:
        self._writable()
        write_atomic(self.path / name, lambda tmp: torch.save(state, tmp))

    def load_tensors(self, name: str, what: str = "trained weights") -> dict:
        """``torch.load(..., weights_only=True)``: no arbitrary object is unpickled; one line if it is damaged."""
        path = self.path / name
        if not path.is_file():
            raise InputError(f"no {what} at {path}: the run did not finish (resume it with --resume)")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise InputError(f"{what} {path} are corrupted or not written by qml ({type(exc).__name__})") from None
        if not isinstance(state, dict):
            raise InputError(f"{what} {path}: expected a dictionary of tensors, found {type(state).__name__}")
        return state

    def save_weights(self, model: torch.nn.Module, name: str = MODEL) -> None:
        state = model.state_dict()
        bad = [k for k, v in state.items() if torch.is_floating_point(v) and not torch.isfinite(v).all()]
        if bad:
            raise InputError(f"training diverged: {', '.join(bad)} hold NaN or infinite values; nothing written to "
                             f"{self.path / name} (try a smaller --lr)")
        self.save_tensors(name, state)

    def load_weights(self, model: torch.nn.Module, name: str = MODEL) -> None:
        path = self.path / name
        state = self.load_tensors(name)
        try:
            model.load_state_dict(state)
        except (RuntimeError, KeyError, TypeError) as exc:
            raise InputError(f"weights {path} do not match the run's model ({str(exc).splitlines()[0]})") from None
        bad = [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and
               not torch.isfinite(v).all()]
        if bad:
            raise InputError(f"weights {path}: {bad[0]} holds NaN or infinite values")

    # -- results ---------------------------------------------------------------------------------------------
    def write_result(self, doc: dict) -> None:
        self.write_json(RESULT, {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                 for k, v in doc.items()})

    def _writable(self) -> None:
        if self._lock is None:
            raise RuntimeError(f"{self} was opened for reading; open it with RunFolder.create or .resume to write")
