"""The shipped snapshots (``noise_models/``, packaged as ``qml._noise_models``) and snapshot files on disk."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from qml.device.names import device_hint, device_name
from qml.device.schema import SchemaError, snapshot_from_dict, snapshot_to_json
from qml.device.snapshot import DeviceSnapshot
from qml.errors import FileError, NoiseError

SHIPPED_PACKAGE = "qml._noise_models"


def list_snapshots() -> list[str]:
    """Names of the shipped snapshots, e.g. ``['ibm_athens', 'ibm_belem', ...]``."""
    root = importlib.resources.files(SHIPPED_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def save_snapshot(snap: DeviceSnapshot, path: str | Path) -> Path:
    """Write ``snap`` as JSON to ``path`` (parent folders created) and return the path."""
    from qml.files import write_atomic

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, snapshot_to_json(snap))
    except FileError:
        raise
    except OSError as exc:
        raise NoiseError(f"cannot write snapshot {path}: {exc.strerror or exc}") from None
    return path


def snapshot_source(name_or_path: str | Path) -> Path:
    """The file a device name (``ibm_quito``, ``quito``, ``fake_quito``) or a path resolves to."""
    text = str(name_or_path)
    path = Path(text)
    if isinstance(name_or_path, Path) or path.suffix == ".json" or "/" in text or "\\" in text or path.is_file():
        if not path.is_file():
            problem = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise NoiseError(f"snapshot file {text!r} {problem}")
        return path
    device = device_name(text)
    entry = importlib.resources.files(SHIPPED_PACKAGE) / f"{device}.json"
    if not entry.is_file():
        shipped = list_snapshots()
        raise NoiseError(f"unknown device {text!r}{device_hint(device, shipped)}; "
                         f"shipped snapshots: {', '.join(shipped)} (or give a path to a snapshot .json file)")
    return Path(str(entry))


def load_snapshot(name_or_path: str | Path) -> DeviceSnapshot:
    """A shipped snapshot by device name (``ibm_quito``, ``quito``, ``fake_quito``) or a snapshot JSON file."""
    path = snapshot_source(name_or_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NoiseError(f"cannot read snapshot {path}: {exc.strerror or exc}") from None
    return _read(path, data)


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
