"""Find a circuit by name (a built-in in ``circuits/``) or by path to a user's ``.py`` file.

A circuit file defines ``build(**options) -> qml.Circuit``; errors in it are reported with file and line.
"""

from __future__ import annotations

import importlib.resources
import inspect
import runpy
import traceback
from pathlib import Path

from qml.circuit.circuit import Circuit
from qml.errors import CircuitError

BUILTIN_PACKAGE = "qml._circuits"


def builtin_names() -> list[str]:
    root = importlib.resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".py") and not p.name.startswith("_"))


def _locate(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".py" or path.exists():
        if not path.is_file():
            raise CircuitError(f"circuit file {name_or_path!r} does not exist")
        return path
    entry = importlib.resources.files(BUILTIN_PACKAGE) / f"{name_or_path}.py"
    if not entry.is_file():
        raise CircuitError(f"unknown circuit {name_or_path!r}: expected a built-in "
                           f"({', '.join(builtin_names())}) or a path to a .py file")
    return Path(str(entry))


def load_circuit(name_or_path: str, **options) -> Circuit:
    """Run the circuit file's ``build(**options)`` and check it returns a ``qml.Circuit``."""
    path = _locate(name_or_path)
    try:
        namespace = runpy.run_path(str(path))
    except SyntaxError as exc:
        raise CircuitError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # a user's file may raise anything; report where
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None
    build = namespace.get("build")
    if not callable(build):
        raise CircuitError(f"{path}: defines no build() function returning a qml.Circuit")
    try:
        inspect.signature(build).bind(**options)
    except TypeError as exc:
        raise CircuitError(f"{path}: build() does not accept options {sorted(options)}: {exc}") from None
    try:
        circuit = build(**options)
    except CircuitError as exc:
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {exc}") from None
    except Exception as exc:
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None
    if not isinstance(circuit, Circuit):
        raise CircuitError(f"{path}: build() returned {type(circuit).__name__}, expected qml.Circuit")
    return circuit


def _line_in(path: Path, exc: BaseException) -> int | str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return frames[-1].lineno if frames else "?"
