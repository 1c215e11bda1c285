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


def locate(name_or_path: str) -> Path:
    """The file of a built-in circuit name, or the user's path (checked to exist)."""
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


def call_file_function(path: Path, function: str, options: dict, expected: type, expected_name: str):
    """Run the Python file at ``path``, call its ``function(**options)`` and check the result's type; every
    problem in the user's file (syntax, an exception, a missing function, wrong options or return type) is one
    ``CircuitError`` line with the file and, where known, the line."""
    from qml.errors import QmlError

    try:
        namespace = _run_file(path)
    except SyntaxError as exc:
        raise CircuitError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # a user's file may raise anything; report where
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None
    func = namespace.get(function)
    if not callable(func):
        raise CircuitError(f"{path}: defines no {function}() function returning a {expected_name}")
    try:
        inspect.signature(func).bind(**options)
    except TypeError as exc:
        raise CircuitError(f"{path}: {function}() does not accept options {sorted(options)}: {exc}") from None
    try:
        result = func(**options)
    except QmlError as exc:
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {exc}") from None
    except Exception as exc:
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None
    if not isinstance(result, expected):
        raise CircuitError(f"{path}: {function}() returned {type(result).__name__}, expected {expected_name}")
    return result


_NAMESPACES: dict[tuple, dict] = {}


def _run_file(path: Path) -> dict:
    """The file's top-level namespace, run once per process and version of the file (a search asks a design
    space file for its space and its human design; the file runs once)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _NAMESPACES:
        _NAMESPACES[key] = runpy.run_path(str(path))
    return _NAMESPACES[key]


def load_circuit(name_or_path: str, **options) -> Circuit:
    """Run the circuit file's ``build(**options)`` and check it returns a ``qml.Circuit``."""
    return call_file_function(locate(name_or_path), "build", options, Circuit, "qml.Circuit")


def _line_in(path: Path, exc: BaseException) -> int | str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return frames[-1].lineno if frames else "?"
