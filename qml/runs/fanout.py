"""Fanning independent units of work out: what a unit is, the large inputs every unit shares, and the progress of
the whole fan-out (done / running / failed, ETA, and where the time went).

A ``Unit`` is a module-level function and its arguments, so it runs the same in this process or on a Ray worker
(``qml.runs.ray_pool``). Units of one ``group`` share a folder (a study's search, a noise-free run every device
evaluates): the first one runs alone and the rest only after it finished, since a folder has one writer. A
``Shared`` input (datasets, device snapshots, SuperCircuit weights) is shipped once and installed once per worker
process before its first unit, not sent with every unit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Unit:
    """One independent piece of work: ``fn(*args)``; ``label`` names it in progress lines and errors."""

    label: str
    fn: Callable
    args: tuple = ()
    group: str | None = None


@dataclass(frozen=True)
class Shared:
    """A large input the units of a fan-out read: shipped once, and in each worker process ``install(value)`` runs
    once (keyed by ``key``) before the first unit that needs it."""

    key: str
    value: Any
    install: Callable[[Any], None]


def by_group(units: list[Unit]) -> tuple[list[Unit], dict[str, list[Unit]]]:
    """The units that may start now (the first of each group, and every ungrouped one) and, per group, the units
    that wait for its first one to finish — each list in the order given."""
    first, held, seen = [], {}, set()
    for unit in units:
        if unit.group is None or unit.group not in seen:
            first.append(unit)
            if unit.group is not None:
                seen.add(unit.group)
        else:
            held.setdefault(unit.group, []).append(unit)
    return first, held


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class Progress:
    """The state of a fan-out of ``total`` units over ``workers`` workers: counts, the ETA from the units finished
    so far, and the time summary. ``busy_s`` adds each unit's own time (measured where it ran)."""

    total: int
    workers: int = 1
    started_at: float = field(default_factory=time.perf_counter)
    done: int = 0
    failed: int = 0
    running: int = 0
    busy_s: float = 0.0
    unit_s: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.running += 1

    def finish(self, seconds: float, ok: bool = True) -> None:
        self.running -= 1
        if ok:
            self.done += 1
            self.unit_s.append(seconds)
        else:
            self.failed += 1
        self.busy_s += seconds

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started_at

    def eta_s(self) -> float:
        """Seconds left: the mean time of a finished unit x the units not finished, over the workers (0 when all
        are done, unknown before the first one finished)."""
        left = self.total - self.done - self.failed
        if left <= 0:
            return 0.0
        if not self.unit_s:
            return math.inf
        return sum(self.unit_s) / len(self.unit_s) * left / max(1, min(self.workers, left))

    def line(self) -> str:
        """``3/8 done, 2 running, 0 failed, ETA 1m05s``."""
        return (f"{self.done}/{self.total} done, {self.running} running, {self.failed} failed, "
                f"ETA {_duration(self.eta_s())}")

    def summary(self) -> dict:
        """Where the time went: the wall time (from the first unit sent; starting Ray is reported apart), the units'
        own time added up (measured where each ran), how busy the workers were (units' time / (wall time x
        workers)) and the pace against one worker (units' time / wall time); the rest of the wall time is the
        driver's: shipping inputs, waiting, and a group's units waiting for its first."""
        wall = max(self.elapsed_s, 1e-9)
        return {"units": self.total, "done": self.done, "failed": self.failed, "workers": self.workers,
                "wall_s": round(wall, 2), "busy_s": round(self.busy_s, 2),
                "mean_unit_s": round(sum(self.unit_s) / len(self.unit_s), 2) if self.unit_s else None,
                "utilisation": round(min(1.0, self.busy_s / (wall * self.workers)), 3),
                "pace_vs_one_worker": round(self.busy_s / wall, 2)}

    def summary_line(self) -> str:
        s = self.summary()
        return (f"{s['done']}/{s['units']} units in {_duration(s['wall_s'])} on {s['workers']} worker(s): units' own "
                f"time {_duration(s['busy_s'])}, workers busy {100 * s['utilisation']:.0f} % of the time, "
                f"{s['pace_vs_one_worker']:.2f}x one worker's pace")


def run_in_process(units: list[Unit], on_result: Callable[[Unit, Any], None], progress: Progress | None = None
                   ) -> None:
    """The units one after another in this process (a group's order is the order given); the first failure
    stops the fan-out and is raised."""
    for unit in units:
        if progress is not None:
            progress.start()
        start = time.perf_counter()
        try:
            result = unit.fn(*unit.args)
        except BaseException:
            if progress is not None:
                progress.finish(time.perf_counter() - start, ok=False)
            raise
        if progress is not None:
            progress.finish(time.perf_counter() - start)
        on_result(unit, result)


__all__ = ["Progress", "Shared", "Unit", "by_group", "run_in_process"]
