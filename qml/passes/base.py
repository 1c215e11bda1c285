"""The pass protocol: a named, configured transformation of a model that first says what it will change (a plan,
free to compute) and then applies it, returning the changed model and a report measured before and after.

A stateful pass (``StatefulPass``) runs as a schedule of steps that can be stopped and resumed between them, with
the lifecycle of ``torch.ao.pruning``: ``prepare`` -> ``step`` ... -> ``squash``, its progress in ``state_dict``;
``run_stateful`` drives it and hands a checkpoint to the caller after each step."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import nn

from qml.errors import PassError
from qml.passes.config import PassConfig
from qml.passes.layers import weight_layers
from qml.passes.stats import ModelStats, model_stats

TORCH = "torch"      # an ordinary torch module (Linear / Conv layers)
CIRCUIT = "circuit"  # a module holding a qml circuit (a QuantumModule)


@dataclass
class PassContext:
    """What a pass may need besides the model. Each pass lists the fields it needs in ``Pass.requires``.

    ``evaluate(model) -> accuracy``; ``finetune(model, epochs)`` trains in place; ``calibration`` yields input
    batches; ``train_loader`` yields ``(inputs, labels)``; ``teacher`` is a trained model for distillation;
    ``example_input`` is a batch used to count operations and time inference."""

    evaluate: Callable[[nn.Module], float] | None = None
    finetune: Callable[[nn.Module, int], None] | None = None
    calibration: Iterable[torch.Tensor] | None = None
    train_loader: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None
    teacher: nn.Module | None = None
    example_input: torch.Tensor | None = None
    measure_latency: bool = False
    log: Callable[[str], None] | None = None


@dataclass(frozen=True)
class PlanItem:
    """One change a pass will make: where (a module path or ``model``) and what."""

    target: str
    action: str


@dataclass(frozen=True)
class PassPlan:
    pass_name: str
    items: tuple[PlanItem, ...]
    skipped: tuple[PlanItem, ...] = ()

    def lines(self) -> list[str]:
        out = [f"{i.target}: {i.action}" for i in self.items]
        return out + [f"{i.target}: skipped ({i.action})" for i in self.skipped]


@dataclass
class PassReport:
    """Measured effect of one pass. ``details`` holds pass-specific figures (per-layer sparsity, bit widths)."""

    pass_name: str
    config: dict[str, Any]
    before: ModelStats
    after: ModelStats
    plan: PassPlan
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"pass": self.pass_name, "config": self.config, "before": self.before.as_dict(),
                "after": self.after.as_dict(), "changes": self.plan.lines(), "details": self.details}

    def summary(self) -> str:
        b, a = self.before, self.after
        parts = [f"{self.pass_name}: params {b.parameters} -> {a.parameters}",
                 f"nonzeros {b.nonzeros} -> {a.nonzeros} (sparsity {a.sparsity:.1%})",
                 f"size {_kib(b.size_bytes)} -> {_kib(a.size_bytes)}"]
        if a.sparse_bytes < a.size_bytes:
            parts.append(f"sparse {_kib(a.sparse_bytes)}")
        if b.macs is not None and a.macs is not None:
            parts.append(f"MACs {b.macs} -> {a.macs}")
        if b.latency_ms is not None and a.latency_ms is not None:
            parts.append(f"latency {b.latency_ms:.3f} -> {a.latency_ms:.3f} ms")
        if b.accuracy is not None and a.accuracy is not None:
            parts.append(f"accuracy {b.accuracy:.4f} -> {a.accuracy:.4f}")
        return ", ".join(parts)


def _kib(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


def is_circuit_model(model: nn.Module) -> bool:
    from qml.sim import QuantumModule

    return any(isinstance(m, QuantumModule) for m in model.modules())


class Pass:
    """Base of every compression pass.

    Subclasses set ``name``, ``applies_to`` (``{TORCH}``, ``{CIRCUIT}`` or both), ``requires`` (the
    ``PassContext`` fields the pass needs), ``changes`` (what it changes: ``weights``, ``structure``,
    ``forward``), a ``Config`` dataclass, ``finetune_option`` (the config field of finetuning epochs, if any),
    and implement ``plan`` and ``run`` (a ``StatefulPass`` implements its steps instead of ``run``). Construct
    with a config object, a mapping, or keyword options: ``MagnitudePrune(sparsity=0.7)``."""

    name: ClassVar[str] = ""
    applies_to: ClassVar[frozenset[str]] = frozenset({TORCH})
    requires: ClassVar[tuple[str, ...]] = ()
    changes: ClassVar[tuple[str, ...]] = ()
    Config: ClassVar[type[PassConfig]] = PassConfig
    finetune_option: ClassVar[str | None] = None  # a config field of epochs; > 0 means context.finetune is needed
    stateful: ClassVar[bool] = False  # True: a StatefulPass, run in resumable steps by run_stateful

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name and "Config" in cls.__dict__:
            cls.Config._pass_name = cls.name

    def __init__(self, config: PassConfig | Mapping[str, Any] | None = None, **options: Any) -> None:
        if isinstance(config, PassConfig):
            if options:
                raise PassError(f"{self.name}: give a config object or keyword options, not both")
            if not isinstance(config, self.Config):
                raise PassError(f"{self.name}: expected a {self.Config.__qualname__}, got {type(config).__name__}")
            self.config = config
        else:
            self.config = self.Config.from_mapping({**(config or {}), **options}, self.name)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.config.as_dict().items())
        return f"{type(self).__name__}({opts})"

    # -- what subclasses provide -------------------------------------------------------------------------------
    def plan(self, model: nn.Module) -> PassPlan:
        """What ``apply`` will change, computed without changing anything."""
        raise NotImplementedError

    def run(self, model: nn.Module, context: PassContext) -> tuple[nn.Module, dict[str, Any]]:
        """Change the model (in place where possible); return it and pass-specific details for the report."""
        raise NotImplementedError

    def needs(self, context: PassContext) -> tuple[str, ...]:
        """Context fields this configuration needs: ``requires``, plus ``finetune`` when the config's
        ``finetune_option`` asks for epochs of finetuning."""
        if self.finetune_option and getattr(self.config, self.finetune_option) and "finetune" not in self.requires:
            return (*self.requires, "finetune")
        return self.requires

    # -- the protocol -----------------------------------------------------------------------------------------
    def check(self, model: nn.Module, context: PassContext | None = None) -> None:
        """Raise ``PassError`` when the pass cannot be applied to this model with this context."""
        if not isinstance(model, nn.Module):
            raise PassError(f"{self.name} applies to a torch.nn.Module, got {type(model).__name__}")
        circuit = is_circuit_model(model)
        if circuit and CIRCUIT not in self.applies_to and not weight_layers(model):
            raise PassError(f"{self.name} applies to {self._targets()}; {type(model).__name__} is a circuit model "
                            "with nothing it can change (circuit passes such as gate_prune come from the qml-quantum "
                            "plugin)")
        if not circuit and TORCH not in self.applies_to:
            raise PassError(f"{self.name} applies to {self._targets()}; {type(model).__name__} holds no qml circuit")
        context = context or PassContext()
        missing = [name for name in self.needs(context) if getattr(context, name) is None]
        if missing:
            raise PassError(f"{self.name} needs {', '.join(missing)} in its context (PassContext(...)) "
                            "for this configuration")

    def _targets(self) -> str:
        words = {TORCH: "torch models", CIRCUIT: "circuit models"}
        return " and ".join(words[t] for t in sorted(self.applies_to))

    def apply(self, model: nn.Module, context: PassContext | None = None) -> tuple[nn.Module, PassReport]:
        context = context or PassContext()
        self.check(model, context)
        plan = self.plan(model)
        before = self._stats(model, context)
        model, details = self.run(model, context)
        after = self._stats(model, context)
        return model, PassReport(self.name, self.config.as_dict(), before, after, plan, details)

    def _stats(self, model: nn.Module, context: PassContext) -> ModelStats:
        return model_stats(model, context.evaluate, context.example_input, context.measure_latency)


class StatefulPass(Pass):
    """A pass run as a schedule of steps, resumable between them (the lifecycle of ``torch.ao.pruning``).

    ``prepare`` attaches the pass's parametrizations (step 0); each ``step`` advances the schedule by one (and
    finetunes through ``context.finetune``), returning True once it is complete; ``squash`` removes the
    parametrizations, baking them into the weights, so a plain model of the same architecture loads the
    ``state_dict``. ``state_dict`` holds the pass's progress as tensors, numbers, strings, lists and dicts of them
    (loadable with ``torch.load(..., weights_only=True)``); ``load_state_dict`` restores it after ``prepare``.
    ``details`` are the figures of the report. ``apply`` runs every step without checkpoints and does not squash,
    so the parametrizations stay applied for further training."""

    stateful: ClassVar[bool] = True

    def prepare(self, model: nn.Module, context: PassContext) -> None:
        raise NotImplementedError

    def step(self, model: nn.Module, context: PassContext) -> bool:
        raise NotImplementedError

    def squash(self, model: nn.Module) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def details(self, model: nn.Module) -> dict[str, Any]:
        return {}

    def apply(self, model: nn.Module, context: PassContext | None = None) -> tuple[nn.Module, PassReport]:
        return run_stateful(self, model, context, squash=False)


Checkpoint = dict[str, Any]  # pass, config, state, model, before, done, rng: what run_stateful saves and resumes


def run_stateful(pass_: Pass, model: nn.Module, context: PassContext | None = None, state: Checkpoint | None = None,
                 save: Callable[[Checkpoint], None] | None = None, squash: bool = True
                 ) -> tuple[nn.Module, PassReport]:
    """Run a stateful pass to the end: prepare ``model`` (or restore it and the pass from the checkpoint
    ``state``), step until the schedule is complete, handing ``save`` a checkpoint after each step, then squash
    (unless ``squash=False``). Returns the model and the report of the whole run.

    A checkpoint is a dict of tensors, numbers and strings (``torch.save`` it; load it with ``weights_only=True``):
    the pass's name, config and state, the model's ``state_dict`` (parametrized), the stats measured before the
    first step, whether the schedule is complete, and the CPU random state. Resume with a fresh model built as the
    original was (before the pass) and a pass made with the same config."""
    if not pass_.stateful:
        raise PassError(f"{pass_.name} is not a stateful pass; use apply()")
    context = context or PassContext()
    pass_.check(model, context)
    plan = pass_.plan(model)
    if state is None:
        before, done = pass_._stats(model, context), False
        pass_.prepare(model, context)
    else:
        before, done = _restore(pass_, model, context, state)
    while not done:
        done = pass_.step(model, context)
        if save is not None:
            save(_checkpoint(pass_, model, before, done))
    details = pass_.details(model)
    if squash:
        pass_.squash(model)
    after = pass_._stats(model, context)
    return model, PassReport(pass_.name, pass_.config.as_dict(), before, after, plan, details)


def _checkpoint(pass_: Pass, model: nn.Module, before: ModelStats, done: bool) -> Checkpoint:
    return {"pass": pass_.name, "config": pass_.config.as_dict(), "state": pass_.state_dict(),
            "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "before": {f.name: getattr(before, f.name) for f in fields(before)}, "done": done,
            "rng": torch.get_rng_state()}


def _restore(pass_: Pass, model: nn.Module, context: PassContext, state: Checkpoint) -> tuple[ModelStats, bool]:
    missing = {"pass", "config", "state", "model", "before", "done", "rng"} - set(state)
    if missing:
        raise PassError(f"{pass_.name}: not a checkpoint of run_stateful (missing {', '.join(sorted(missing))})")
    if state["pass"] != pass_.name:
        raise PassError(f"{pass_.name}: the checkpoint was written by {state['pass']}")
    config = pass_.config.as_dict()
    if dict(state["config"]) != config:
        differ = ", ".join(f"{k}={state['config'].get(k)!r} (this pass: {v!r})" for k, v in config.items()
                           if state["config"].get(k) != v)
        raise PassError(f"{pass_.name}: the checkpoint was written with another config: {differ}")
    pass_.prepare(model, context)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise PassError(f"{pass_.name}: the checkpoint's model does not fit this model "
                        f"(build it as the pruned model was built): {exc}") from None
    pass_.load_state_dict(state["state"])
    torch.set_rng_state(state["rng"])
    return ModelStats(**state["before"]), bool(state["done"])
