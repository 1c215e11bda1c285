"""Find a design space by name (a built-in in ``circuits/`` that defines ``space()``) or by path to a user's
``.py`` file, the way ``qml.circuit.library`` finds circuits; errors in the file are reported with file and line.
"""

from __future__ import annotations

import ast
import importlib.resources
from pathlib import Path

from qml.circuit.library import BUILTIN_PACKAGE, builtin_names, call_file_function, locate
from qml.errors import CircuitError, did_you_mean
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
        return locate(name_or_path)
    names = space_names()
    if name_or_path not in names:
        hint = did_you_mean(name_or_path, names)
        raise CircuitError(f"unknown design space {name_or_path!r}{hint} (built-in spaces: {', '.join(names)}; "
                           "or give a path to a .py file defining space())")
    return locate(name_or_path)


def load_space(name_or_path: str, **options) -> DesignSpace:
    """Run the file's ``space(**options)`` and check it returns a ``qml.search.DesignSpace``."""
    return call_file_function(_find(name_or_path), "space", options, DesignSpace, "qml.search.DesignSpace")
