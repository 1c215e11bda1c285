"""Room ``passes``: the registry of compression passes and the core passes on torch models.

Passes are found through the ``qml.passes`` entry-point group, qml's own included, and imported only when first
asked for::

    from qml import passes
    passes.available()                                  # names, from metadata only
    pruned, report = passes.apply(model, "magnitude_prune", context, sparsity=0.7)
    model, reports = passes.Pipeline("magnitude_prune sparsity=0.7 -> linear_quant bits=8").apply(model, context)

A stateful pass (``gate_prune``) also runs in resumable steps, checkpointed after each::

    model, report = passes.run_stateful(pass_, model, context, state=last_checkpoint_or_None, save=torch_save)
"""

from __future__ import annotations

from typing import Any

from torch import nn

from qml.errors import PluginError
from qml.passes.base import (
    CIRCUIT,
    TORCH,
    Pass,
    PassContext,
    PassPlan,
    PassReport,
    PlanItem,
    StatefulPass,
    run_stateful,
)
from qml.passes.config import PassConfig, option
from qml.passes.context import classification_context
from qml.passes.pipeline import Pipeline
from qml.passes.stats import ModelStats, model_stats
from qml.plugins import Entry, Registry

GROUP = "qml.passes"


def _check_pass(name: str, value: Any) -> None:
    if not (isinstance(value, type) and issubclass(value, Pass)):
        raise TypeError(f"entry point {name!r} gives {value!r}, not a subclass of qml.passes.Pass")
    if value.name != name:
        raise TypeError(f"entry point {name!r} gives pass class {value.__name__} named {value.name!r}")


registry = Registry(GROUP, "pass", _check_pass)


def available() -> list[Entry]:
    """Every registered pass with its distribution and state, read from metadata (nothing imported)."""
    return registry.entries()


def get_pass(name: str) -> type[Pass]:
    """The pass class registered under ``name`` (imported now if needed)."""
    return registry.get(name)


def make_pass(name: str, config: Any = None, **options: Any) -> Pass:
    return get_pass(name)(config, **options)


def apply(model: nn.Module, name: str, context: PassContext | None = None, **options: Any):
    """Apply one pass by name; returns ``(model, report)``."""
    return make_pass(name, **options).apply(model, context)


__all__ = ["CIRCUIT", "TORCH", "DistillConfig", "Entry", "Mask", "ModelStats", "Pass", "PassConfig", "PassContext",
           "PassPlan", "PassReport", "Pipeline", "PlanItem", "PluginError", "Registry", "StatefulPass", "apply",
           "available", "classification_context", "distill_epochs", "get_pass", "make_pass", "model_stats", "option",
           "parametrizations_of", "plain_state_dict", "registry", "run_stateful"]


_LAZY = {"DistillConfig": "qml.passes.distill", "distill_epochs": "qml.passes.distill",
         "Mask": "qml.passes.parametrizations", "parametrizations_of": "qml.passes.parametrizations",
         "plain_state_dict": "qml.passes.parametrizations"}


def __getattr__(name: str):
    """Helpers of pass modules, exported for plugins without importing a pass when the registry is listed."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qml.passes' has no attribute {name!r}")
