"""Typed pass configurations: dataclass fields carry their documentation and allowed range, and values given as
text (from the CLI or a pipeline file) are converted to the field's type with one clear error when they can't be."""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from qml.errors import PassError, did_you_mean


def option(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, choices: tuple[str, ...] | None = None) -> Any:
    """A config field with its documentation and its allowed values (an interval, or a set of choices)."""
    meta = {"doc": doc, "low": low, "high": high, "low_open": low_open, "high_open": high_open, "choices": choices}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class OptionInfo:
    """What ``qml passes show`` prints for one config field."""

    name: str
    type: str
    default: Any
    doc: str
    allowed: str


@dataclass(frozen=True)
class PassConfig:
    """Base of every pass's config; validates its fields when constructed."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = _check_type(self, f.name, getattr(self, f.name), hints[f.name])
            object.__setattr__(self, f.name, value)
            _check_range(self, f, value)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], pass_name: str = "") -> PassConfig:
        """Build from a mapping whose values may be text (``"0.7"``, ``"true"``, ``"none"``)."""
        label = pass_name or cls.__qualname__
        names = [f.name for f in fields(cls)]
        hints = typing.get_type_hints(cls)
        converted = {}
        for key, value in values.items():
            if key not in names:
                hint = did_you_mean(key, names)
                raise PassError(f"{label}: unknown option {key!r}{hint}; options are {', '.join(names) or 'none'}")
            converted[key] = _from_text(label, key, value, hints[key]) if isinstance(value, str) else value
        return cls(**converted)

    @classmethod
    def describe(cls) -> list[OptionInfo]:
        hints = typing.get_type_hints(cls)
        out = []
        for f in fields(cls):
            default = None if f.default is MISSING else f.default
            out.append(OptionInfo(f.name, _type_name(hints[f.name]), default, f.metadata.get("doc", ""),
                                  _allowed_text(f.metadata)))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _label(config: PassConfig) -> str:
    return getattr(config, "_pass_name", "") or type(config).__qualname__


def _base_types(hint: Any) -> tuple[tuple[type, ...], bool]:
    """The concrete types a hint allows and whether ``None`` is one of them."""
    args = typing.get_args(hint)
    if not args:
        return (hint,), False
    return tuple(a for a in args if a is not type(None)), type(None) in args


def _type_name(hint: Any) -> str:
    types, optional = _base_types(hint)
    name = " | ".join(t.__name__ for t in types)
    return f"{name} | None" if optional else name


def _check_type(config: PassConfig, name: str, value: Any, hint: Any) -> Any:
    types, optional = _base_types(hint)
    if value is None and optional:
        return value
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if bool not in types and isinstance(value, bool) or not isinstance(value, types):
        raise PassError(f"{_label(config)}: option {name} expects {_type_name(hint)}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PassError(f"{_label(config)}: option {name} must be finite, got {value!r}")
    return value


def _check_range(config: PassConfig, f, value: Any) -> None:
    meta = f.metadata
    if value is None or not meta:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise PassError(f"{_label(config)}: option {f.name} must be one of {', '.join(meta['choices'])}, "
                        f"got {value!r}")
    low, high = meta.get("low"), meta.get("high")
    too_low = low is not None and (value <= low if meta["low_open"] else value < low)
    too_high = high is not None and (value >= high if meta["high_open"] else value > high)
    if too_low or too_high:
        raise PassError(f"{_label(config)}: option {f.name} must be in {_allowed_text(meta)}, got {value!r}")


def _allowed_text(meta: Mapping[str, Any]) -> str:
    if meta.get("choices"):
        return " | ".join(meta["choices"])
    low, high = meta.get("low"), meta.get("high")
    if low is None and high is None:
        return ""
    left = ("(" if meta["low_open"] else "[") + ("-inf" if low is None else f"{low:g}")
    right = ("inf" if high is None else f"{high:g}") + (")" if meta["high_open"] else "]")
    return f"{left}, {right}"


def _from_text(label: str, key: str, text: str, hint: Any) -> Any:
    types, optional = _base_types(hint)
    lowered = text.strip().lower()
    if optional and lowered in ("none", "null", "off"):
        return None
    for kind in types:
        if kind is bool:
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
        elif kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                continue
        elif kind is str:
            return text
    raise PassError(f"{label}: option {key} expects {_type_name(hint)}, got {text!r}")
