"""Ray as the workers of a fan-out (``pip install "qml-robust[ray]"``): an embedded local Ray (``--ray``) or an
existing cluster (``--ray-address ADDR``, or ``RAY_ADDRESS`` with ``--ray``).

Each unit is a Ray task that asks for ``threads`` CPUs and runs with that many torch threads (Aer follows torch's
count), so N workers on N cores never oversubscribe. At most one unit per worker is in flight, so the progress
counts are true and a failure leaves nothing queued. A worker that dies mid-unit (killed, out of memory, its node
lost) is retried by Ray up to ``RETRIES`` times; a retried unit resumes from what its folder holds on disk, the
record of truth, so nothing is lost or done twice. Ctrl-C force-cancels the units in flight (their folders keep
their last checkpoint) and ``--resume`` continues in-process or on Ray alike."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from qml.errors import InputError, QmlError
from qml.runs.fanout import Progress, Shared, Unit, by_group

RETRIES = 3  # Ray's retries of a unit whose worker died (its default); an exception the unit raises is not retried
WAKE_S = 0.25  # the longest the driver waits inside Ray before it handles a Ctrl-C
_INSTALLED: set[str] = set()  # in a worker process: the Shared inputs installed so far


class WorkerLost(QmlError, RuntimeError):
    """A unit's worker died more often than Ray retries it."""


def _ray():
    try:
        import ray
    except ModuleNotFoundError:
        raise InputError("running on Ray needs the ray extra: pip install \"qml-robust[ray]\"") from None
    return ray


def _reachable(address: str, timeout: float = 3.0) -> None:
    """One line, at once, when nothing listens at a ``host:port`` address: Ray itself retries for minutes."""
    import socket

    host, _, port = address.rpartition("://")[2].rpartition(":")
    if not host or not port.isdigit():
        if address == "auto":
            return  # Ray finds the cluster this machine's `ray start` left its address for
        raise InputError(f"--ray-address {address!r}: expected HOST:PORT (e.g. 127.0.0.1:6379, as `ray start --head` "
                         f"prints it) or 'auto'")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise InputError(f"cannot reach a Ray cluster at {address} ({exc.strerror or type(exc).__name__}): start one "
                         f"with `ray start --head --port {port}` or check the address") from None


def _run_unit(threads: int, shared: list, fn: Callable, *args) -> tuple[Any, float]:
    """A unit on a worker: the thread budget set (torch's threads, which Aer follows, and the engine's policy capped
    at it), the shared inputs installed (once per process), then ``fn(*args)``; returns (result, seconds)."""
    import torch

    from qml.sim.threads import get_threads, set_threads

    torch.set_num_threads(threads)
    policy = get_threads()  # QML_THREADS / --threads, inherited by a local Ray's workers
    if policy != "auto" and policy > threads:
        set_threads(threads)
    for key, install, box in shared:
        if key not in _INSTALLED:
            import ray

            install(ray.get(box[0]))
            _INSTALLED.add(key)
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


class RayPool:
    """Workers on Ray: ``RayPool()`` starts a local Ray with ``workers`` x ``threads`` CPUs (default: this
    machine's cores); ``RayPool("ADDR")`` joins a running cluster (its CPUs make the workers). A Ray session the
    caller already started (``ray.init`` in Python) is used as it is. Ray starts at ``start()`` (or the first
    ``run``); ``close()`` (or leaving a ``with`` block) stops a Ray it started."""

    def __init__(self, address: str | None = None, *, workers: int | None = None, threads: int = 1) -> None:
        _ray()  # a missing extra is one line before any work
        if threads < 1 or (workers is not None and workers < 1):
            raise InputError(f"workers and threads must be positive integers, got {workers} and {threads}")
        if address and workers is not None:
            raise InputError("--workers is for the local Ray: a cluster's workers are its CPUs")
        self.address, self.threads, self._workers, self.retries = address, threads, workers, RETRIES
        self._owned = self._started = False
        self.where, self.workers, self.startup_s = "Ray (not started yet)", workers or 1, 0.0
        self._refs: dict[str, Any] = {}

    def start(self) -> RayPool:
        """Start the local Ray or join the cluster (once; a command calls it after checking its input)."""
        if self._started:
            return self
        import logging

        ray, start = _ray(), time.perf_counter()
        if self.address:
            _reachable(self.address)
        if ray.is_initialized():
            self.where = "the running Ray session"
        elif self.address:
            try:
                ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise InputError(f"cannot join the Ray cluster at {self.address}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__} (a cluster with "
                                 f"token authentication, Ray's default for local clusters since 2.59, needs "
                                 f"RAY_AUTH_MODE=token and its token here too)") from None
            self._owned, self.where = True, f"the Ray cluster at {self.address}"
        else:
            cpus = self._workers * self.threads if self._workers else os.cpu_count() or 1
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=False)
            self._owned, self.where = True, f"a local Ray with {cpus} CPUs"
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // self.threads)
        self._remote = ray.remote(_run_unit)
        self._started, self.startup_s = True, time.perf_counter() - start
        return self

    def describe(self) -> str:
        return f"{self.where}: {self.workers} worker(s) x {self.threads} thread(s)"

    def close(self) -> None:
        """Leave the cluster, or stop the local Ray this pool started. Ctrl-C is held off meanwhile: Ray's shutdown
        interrupted by a signal dies with a native backtrace."""
        if self._owned:
            import signal
            import threading

            main = threading.current_thread() is threading.main_thread()
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
            try:
                _ray().shutdown()
            finally:
                if main:
                    signal.signal(signal.SIGINT, previous)
        self._owned = self._started = False
        self._refs.clear()  # gone with the session

    def __enter__(self) -> RayPool:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- running -------------------------------------------------------------------------------------------
    def _shared(self, shared: list[Shared]) -> list:
        """Each input put in the object store once (per pool); units get its reference, wrapped so that Ray
        does not fetch it for every unit: a worker fetches it when it installs it."""
        ray = _ray()
        for s in shared:
            if s.key not in self._refs:
                self._refs[s.key] = ray.put(s.value)
        return [(s.key, s.install, [self._refs[s.key]]) for s in shared]

    def run(self, units: list[Unit], on_result: Callable[[Unit, Any], None], progress: Progress | None = None,
            shared: list[Shared] = ()) -> None:
        """Every unit on the workers, at most one per worker at a time, a group's first unit before the rest;
        ``on_result(unit, result)`` as each finishes. The first failure stops new units; the ones in flight
        finish, then it is raised. Ctrl-C cancels the units in flight."""
        ray = _ray()
        from ray.exceptions import RayError, RayTaskError, TaskCancelledError

        self.start()
        remote = self._remote.options(num_cpus=self.threads, max_retries=self.retries, retry_exceptions=False)
        boxes = self._shared(list(shared))
        queue, held = by_group(units)
        queue.reverse()  # popped from the end: the order given
        flight: dict[Any, Unit] = {}
        error: BaseException | None = None
        try:
            while queue or flight:
                while queue and error is None and len(flight) < self.workers:
                    unit = queue.pop()
                    flight[remote.remote(self.threads, boxes, unit.fn, *unit.args)] = unit
                    if progress is not None:
                        progress.start()
                if not flight:
                    break
                ready, _ = ray.wait(list(flight), num_returns=1, timeout=WAKE_S)
                if not ready:  # back in Python now and then: Ctrl-C is handled within WAKE_S, not after a unit
                    continue
                unit = flight.pop(ready[0])
                try:
                    result, seconds = ray.get(ready[0])
                except RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    failure = cause if isinstance(cause, QmlError) else exc.as_instanceof_cause()
                except TaskCancelledError:
                    raise KeyboardInterrupt from None
                except RayError as exc:  # the worker died more often than Ray retries
                    failure = WorkerLost(f"{unit.label}: its Ray worker died {self.retries + 1} times "
                                         f"({type(exc).__name__}); what finished is on disk: --resume continues")
                else:
                    if progress is not None:
                        progress.finish(seconds)
                    on_result(unit, result)
                    queue.extend(reversed(held.pop(unit.group, [])) if unit.group else ())
                    continue
                if progress is not None:
                    progress.finish(0.0, ok=False)
                error = error or failure
        except KeyboardInterrupt:
            for ref in flight:
                ray.cancel(ref, force=True)
            raise
        if error is not None:
            raise error

    def map(self, units: list[Unit], progress: Progress | None = None, shared: list[Shared] = ()) -> list:
        """The units' results in the order given."""
        index = {id(u): i for i, u in enumerate(units)}
        out: list = [None] * len(units)

        def keep(unit: Unit, result: Any) -> None:
            out[index[id(unit)]] = result

        self.run(units, keep, progress, shared)
        return out


__all__ = ["RETRIES", "RayPool", "WorkerLost"]
