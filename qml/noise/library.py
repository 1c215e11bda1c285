"""The shipped snapshots (``noise_models/``, packaged as ``qml._noise_models``) and snapshot files on disk."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from qml.errors import NoiseError
from qml.noise.names import device_name, did_you_mean
from qml.noise.schema import SchemaError, snapshot_from_dict, snapshot_to_json
from qml.noise.snapshot import DeviceSnapshot

SHIPPED_PACKAGE = "qml._noise_models"


def list_snapshots() -> list[str]:
    """Names of the shipped snapshots, e.g. ``['ibm_athens', 'ibm_belem', ...]``."""
    root = importlib.resources.files(SHIPPED_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def save_snapshot(snap: DeviceSnapshot, path: str | Path) -> Path:
    """Write ``snap`` as JSON to ``path`` (parent folders created) and return the path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(snapshot_to_json(snap))
    except OSError as exc:
        raise NoiseError(f"cannot write snapshot {path}: {exc.strerror or exc}") from None
    return path


def load_snapshot(name_or_path: str | Path) -> DeviceSnapshot:
    """A shipped snapshot by device name (``ibm_quito``, ``quito``, ``fake_quito``) or a snapshot JSON file."""
    text = str(name_or_path)
    path = Path(text)
    if isinstance(name_or_path, Path) or path.suffix == ".json" or "/" in text or "\\" in text or path.is_file():
        if not path.is_file():
            problem = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise NoiseError(f"snapshot file {text!r} {problem}")
        return _read(path, path.read_bytes())
    device = device_name(text)
    entry = importlib.resources.files(SHIPPED_PACKAGE) / f"{device}.json"
    if not entry.is_file():
        shipped = list_snapshots()
        raise NoiseError(f"unknown device {text!r}{did_you_mean(device, shipped)}; "
                         f"shipped snapshots: {', '.join(shipped)} (or give a path to a snapshot .json file)")
    return _read(Path(str(entry)), entry.read_bytes())


def _read(path: Path, data: bytes) -> DeviceSnapshot:
    try:
        doc = json.loads(data)
    except UnicodeDecodeError:
        raise NoiseError(f"{path}: not a JSON text file") from None
    except json.JSONDecodeError as exc:
        raise NoiseError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        return snapshot_from_dict(doc)
    except SchemaError as exc:
        raise NoiseError(f"{path}: {exc}") from None
