"""Find a design space by name (a built-in in ``circuits/`` that defines ``space()``) or by path to a user's
``.py`` file, the way ``qml.circuit.library`` finds circuits; errors in the file are reported with file and line.
"""

from __future__ import annotations

import ast
import difflib
import importlib.resources
import inspect
import runpy
from pathlib import Path

from qml.circuit.library import BUILTIN_PACKAGE, _line_in, _locate, builtin_names
from qml.errors import CircuitError, QmlError
from qml.search.space import DesignSpace


def space_names() -> list[str]:
    """Built-in circuit files that define a ``space()`` function (read, not run)."""
    root = importlib.resources.files(BUILTIN_PACKAGE)
    return [name for name in builtin_names() if _defines_space((root / f"{name}.py").read_text())]


def _defines_space(source: str) -> bool:
    return any(isinstance(node, ast.FunctionDef) and node.name == "space" for node in ast.parse(source).body)


def _find(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".py" or path.exists():
        return _locate(name_or_path)
    names = space_names()
    if name_or_path not in names:
        close = difflib.get_close_matches(name_or_path, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise CircuitError(f"unknown design space {name_or_path!r}{hint} (built-in spaces: {', '.join(names)}; "
                           "or give a path to a .py file defining space())")
    return _locate(name_or_path)


def load_space(name_or_path: str, **options) -> DesignSpace:
    """Run the file's ``space(**options)`` and check it returns a ``qml.search.DesignSpace``."""
    path = _find(name_or_path)
    try:
        namespace = runpy.run_path(str(path))
    except SyntaxError as exc:
        raise CircuitError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # a user's file may raise anything; report where
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None
    space = namespace.get("space")
    if not callable(space):
        raise CircuitError(f"{path}: defines no space() function returning a qml.search.DesignSpace")
    try:
        inspect.signature(space).bind(**options)
    except TypeError as exc:
        raise CircuitError(f"{path}: space() does not accept options {sorted(options)}: {exc}") from None
    try:
        result = space(**options)
    except QmlError as exc:
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {exc}") from None
    except Exception as exc:
        raise CircuitError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None
    if not isinstance(result, DesignSpace):
        raise CircuitError(f"{path}: space() returned {type(result).__name__}, expected qml.search.DesignSpace")
    return result
