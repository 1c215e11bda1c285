"""Where data files are looked for: the folder the user gives, else ``$QML_DATA_DIR``, else a system folder.

qml never downloads anything; a missing file is an ``InputError`` saying what was looked for, where, and how
to get it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qml.errors import InputError

DATA_DIR_ENV = "QML_DATA_DIR"


@dataclass(frozen=True)
class Source:
    """An external data set: its title, sub-folders commonly used for it, system folders, how to get it."""

    title: str
    subfolders: tuple[str, ...]
    how_to_get: str
    system_dirs: tuple[Path, ...] = ()


def candidate_dirs(source: Source, data_dir: str | Path | None = None) -> list[Path]:
    """Folders to search in order: ``data_dir`` alone when given, else ``$QML_DATA_DIR`` then the system folders;
    each user folder also through the source's usual sub-folders."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(_existing_dir(Path(data_dir).expanduser(), "data folder"))
    elif os.environ.get(DATA_DIR_ENV):
        roots.append(_existing_dir(Path(os.environ[DATA_DIR_ENV]).expanduser(), DATA_DIR_ENV))
    dirs = [d for root in roots for d in (root, *(root / sub for sub in source.subfolders))]
    if data_dir is None:
        dirs.extend(source.system_dirs)
    return dirs


def find_files(task: str, source: Source, names: tuple[str, ...], data_dir: str | Path | None = None) -> list[Path]:
    """Paths of all ``names`` (each plain or ``.gz``) from the first candidate folder that holds any of them."""
    dirs = candidate_dirs(source, data_dir)
    for folder in dirs:
        found = [_lookup(folder, name) for name in names]
        if any(path is not None for path in found):
            for name, path in zip(names, found, strict=True):
                if path is None:
                    raise _missing(task, source, name, [folder])
            return found
    raise _missing(task, source, names[0], dirs)


def has_files(source: Source, names: tuple[str, ...], data_dir: str | Path | None = None) -> bool:
    """Whether any candidate folder holds any of ``names``: a task with a bundled fallback reads files only then."""
    return any(_lookup(folder, name) is not None for folder in candidate_dirs(source, data_dir) for name in names)


def _lookup(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _existing_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise InputError(f"{what} {path} is not a folder")
    return path


def _missing(task: str, source: Source, name: str, dirs: list[Path]) -> InputError:
    where = f"looked in {', '.join(map(str, dirs))}" if dirs else "no data folder was given"
    return InputError(f"{task} needs the {source.title} file {name} (or {name}.gz); {where}: {source.how_to_get}; "
                      f"qml downloads nothing")
