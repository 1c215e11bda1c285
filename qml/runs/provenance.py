"""What a run folder needs to stand on its own: copies of the user's files it was made from (circuit, design
space, data) with their hashes, the versions of qml and its engines, and the device snapshot's hash and date
(``provenance.json`` and ``sources/``). A run reloads from its copies and warns when the original changed."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import shutil
from pathlib import Path

from qml.errors import FileError, warn

PROVENANCE, SOURCES = "provenance.json", "sources"
DISTRIBUTIONS = ("qml-robust", "torch", "numpy", "qiskit", "qiskit-aer", "qiskit-ibm-runtime")


def sha256(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror or exc}") from None


@functools.cache
def _versions() -> tuple[tuple[str, str | None], ...]:
    out = []
    for name in DISTRIBUTIONS:
        try:
            out.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


def versions() -> dict[str, str | None]:
    """Installed versions of qml and its engines (read once per process)."""
    return dict(_versions())


def is_user_file(name: str | None) -> bool:
    """A circuit or space given as a path (built-ins are names shipped with qml)."""
    return name is not None and (name.endswith(".py") or "/" in name or "\\" in name) and Path(name).is_file()


def record(folder, config, *, files: dict[str, str | None], device: str | None, data: str | None = None) -> None:
    """Copy the user's files into ``folder/sources``, hash the user's data file (not copied: it can be large) and
    write ``provenance.json``."""
    entries = {}
    if data is not None:
        entries["data"] = {"path": str(Path(data).resolve()), "sha256": sha256(Path(data))}
    for kind, name in files.items():
        if not is_user_file(name):
            continue
        stored = folder.file(SOURCES) / f"{kind}{Path(name).suffix}"
        try:
            stored.parent.mkdir(exist_ok=True)
            shutil.copyfile(name, stored)
        except OSError as exc:
            raise FileError(f"cannot copy {name} into {stored.parent}: {exc.strerror or exc}") from None
        entries[kind] = {"path": str(Path(name).resolve()), "sha256": sha256(stored),
                         "stored": f"{SOURCES}/{stored.name}"}
    doc = {"versions": versions(), "files": entries}
    if device is not None:
        from qml.device import Device

        d = Device.load(device)
        doc["snapshot"] = {"device": d.name, "calibrated_at": d.snapshot.calibrated_at,
                           "source": d.snapshot.source_backend, "sha256": d.fingerprint}
    folder.write_json(PROVENANCE, doc)


def source(folder, kind: str, name: str) -> str:
    """The file a run was made from: its stored copy when there is one (with a warning when the original has
    changed or gone), else ``name`` itself."""
    path = Path(folder.path) / PROVENANCE
    if not path.is_file():
        return name
    entry = folder.read_json(PROVENANCE).get("files", {}).get(kind)
    if not isinstance(entry, dict) or "stored" not in entry:
        return name
    stored = Path(folder.path) / entry["stored"]
    if not stored.is_file():
        warn(f"{folder.path}: the stored copy {entry['stored']} of the {kind} file is missing; using {name}")
        return name
    if sha256(stored) != entry.get("sha256"):
        warn(f"{stored} does not match the hash recorded in {path}; it was edited after the run")
    original = Path(entry.get("path", name))
    if not original.is_file():
        pass  # moved or deleted: the copy is the run's source
    elif sha256(original) != entry.get("sha256"):
        warn(f"{original} changed since {folder.path} was made; using the copy stored with the run "
             f"({entry['stored']})")
    return str(stored)


def check_unchanged(folder, kind: str, name: str) -> None:
    """Warn when a file the run only hashed (its data) is not what the run was made from."""
    path = Path(folder.path) / PROVENANCE
    if not path.is_file():
        return
    entry = folder.read_json(PROVENANCE).get("files", {}).get(kind)
    if isinstance(entry, dict) and Path(name).is_file() and sha256(Path(name)) != entry.get("sha256"):
        warn(f"{name} changed since {folder.path} was made (its {kind} hash differs): results will not match "
             "the run's")
