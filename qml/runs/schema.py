"""Schema checks of the JSON a run folder holds: a document is turned into its dataclass only when every field
has the declared type and a finite value; otherwise one ``InputError`` names the file and the field."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from qml.errors import InputError, QmlError


def from_doc(cls: type, doc: Any, where: str) -> Any:
    """``cls(**doc)`` after checking ``doc`` field by field against ``cls``'s annotations (nested dataclasses
    included); the dataclass's own ``__post_init__`` then checks ranges. Every field must be present (qml writes
    them all: a missing one means a damaged file, never "use the default"), except those a class lists in
    ``ADDED_LATER`` (fields newer than some files on disk)."""
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object, found {type(doc).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(doc) - set(names))
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = [n for n in names if n not in doc and n not in getattr(cls, "ADDED_LATER", ())]
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(missing)}")
    values = {}
    for name in names:
        if name in doc:
            values[name] = _check(doc[name], hints[name], f"{where}: field {name!r}")
    try:
        return cls(**values)
    except QmlError as exc:
        raise InputError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None


def _check(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        problems = []
        for option in options:
            try:
                return _check(value, option, where)
            except InputError as exc:
                problems.append(exc)
        raise problems[0]
    if dataclasses.is_dataclass(hint):
        return from_doc(hint, value, where)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InputError(f"{where} must be an integer, got {value!r}")
        return value
    if hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise InputError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"{where} must be a string, got {value!r}")
        return value
    if origin is list or hint is list:
        if not isinstance(value, list):
            raise InputError(f"{where} must be a list, got {value!r}")
        return [_check(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args else value
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise InputError(f"{where} must be an object, got {value!r}")
        return value
    return value
