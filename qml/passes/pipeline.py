"""Several passes applied in order, from Python objects, from short text specs such as
``"magnitude_prune sparsity=0.7 -> linear_quant bits=8"``, or from a JSON / TOML file::

    [[pass]]
    name = "magnitude_prune"
    sparsity = 0.7

    [[pass]]
    name = "linear_quant"
    bits = 8
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from qml.errors import PassError
from qml.passes.base import Pass, PassContext, PassPlan, PassReport


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"name key=value key=value"`` -> ``(name, {key: value})``; values stay text until the config converts."""
    try:
        words = shlex.split(spec)
    except ValueError as exc:  # an unbalanced quote
        raise PassError(f"pass spec {spec!r}: {exc}") from None
    if not words:
        raise PassError("empty pass spec: expected 'NAME [key=value ...]'")
    options = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise PassError(f"pass spec {spec!r}: expected key=value, got {word!r}")
        options[key] = value
    return words[0], options


def split_specs(specs: Sequence[str] | str) -> list[str]:
    """Accept one string with ``->`` between passes, or a list of strings (each may contain ``->``)."""
    if isinstance(specs, str):
        specs = [specs]
    return [part.strip() for spec in specs for part in spec.split("->") if part.strip()]


class Pipeline:
    """Passes applied one after another; each sees the model the previous one returned."""

    def __init__(self, steps: str | Pass | Sequence[Pass | str | tuple[str, Mapping[str, Any]] | Mapping[str, Any]]
                 ) -> None:
        from qml.passes import make_pass

        if isinstance(steps, (str, Pass)):
            steps = [steps]
        self.steps: list[Pass] = []
        for step in steps:
            if isinstance(step, Pass):
                self.steps.append(step)
            elif isinstance(step, str):
                self.steps.extend(make_pass(*parse_spec(s)) for s in split_specs(step))
            elif isinstance(step, tuple) and len(step) == 2:
                self.steps.append(make_pass(step[0], step[1]))
            elif isinstance(step, Mapping):
                options = dict(step)
                if "name" not in options:
                    raise PassError(f"pipeline step {step!r} has no 'name'")
                self.steps.append(make_pass(options.pop("name"), options))
            else:
                raise PassError(f"pipeline step must be a Pass, a spec string, (name, options) or a mapping, "
                                f"got {type(step).__name__}")
        if not self.steps:
            raise PassError("a pipeline needs at least one pass")

    @classmethod
    def from_file(cls, path: str | Path) -> Pipeline:
        """A JSON file ``{"passes": [{"name": ..., option: value}, ...]}`` or a TOML file with ``[[pass]]`` tables."""
        path = Path(path)
        if not path.is_file():
            raise PassError(f"pipeline file {path} does not exist")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise PassError(f"pipeline file {path} is not a UTF-8 text file") from None
        except OSError as exc:
            raise PassError(f"pipeline file {path} cannot be read: {exc.strerror or exc}") from None
        try:
            if path.suffix == ".toml":
                import tomllib

                data = tomllib.loads(text)
            else:
                data = json.loads(text)
        except (ValueError, ImportError) as exc:
            raise PassError(f"pipeline file {path}: cannot parse ({exc})") from None
        steps = data.get("passes", data.get("pass")) if isinstance(data, dict) else data
        if not isinstance(steps, list):
            raise PassError(f"pipeline file {path}: expected a list of passes under 'passes' (JSON) or "
                            "[[pass]] tables (TOML)")
        try:
            return cls(steps)
        except PassError as exc:  # a bad step or option: say which file it is in
            raise PassError(f"pipeline file {path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"Pipeline({self.steps!r})"

    def plan(self, model: nn.Module) -> list[PassPlan]:
        """Each pass's plan against the model as given (later passes will see the earlier passes' output)."""
        return [step.plan(model) for step in self.steps]

    def check(self, model: nn.Module, context: PassContext | None = None) -> None:
        for step in self.steps:
            step.check(model, context)

    def apply(self, model: nn.Module, context: PassContext | None = None) -> tuple[nn.Module, list[PassReport]]:
        self.check(model, context)
        reports = []
        for step in self.steps:
            model, report = step.apply(model, context)
            reports.append(report)
        return model, reports
