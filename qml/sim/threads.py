"""The engine's thread policy: how many torch intra-op threads a simulation runs with.

Small states gain nothing from intra-op threads and lose everything when cores are shared: torch's OpenMP
threads spin-wait, and a busy core makes every parallel region wait for its slowest thread. Measured on a 2-core
machine with a second process busy (``bench/threads.py``), a 4-qubit QNN at batch 256 runs forward + backward
several times slower with 2 threads than with 1, and never faster on an idle machine; only large states gain.
So by default (``"auto"``) a simulation whose state holds fewer than ``SMALL_STATE`` amplitudes (batch x 2^n)
runs single-threaded, and a larger one with the threads torch is set to (its default: the cores, or
``OMP_NUM_THREADS``; or ``torch.set_num_threads``). A user overrides this with ``set_threads(n)`` (every
simulation with ``n`` threads), the ``QML_THREADS`` environment variable (``auto`` or a number) or
``qml --threads N``.

The count is set for the engine's forward and, through an identity autograd node at each end of its graph, for
its backward; the caller's setting is restored after each. ``torch.set_num_threads`` costs under a microsecond."""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch

from qml.errors import InputError

SMALL_STATE = 1 << 17  # amplitudes (batch x 2^n) below which one thread is used; bench/threads.py

_UNSET = object()
_policy: object = _UNSET  # None: auto; an int: that many threads; _UNSET: QML_THREADS (or auto) at first use


def parse_threads(value: str | int | None, what: str = "threads") -> int | None:
    """``"auto"`` (or None) -> None, a positive integer -> itself; anything else is an input error."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if isinstance(value, bool) or n < 1 or str(n) != str(value).strip():
        raise InputError(f"{what} must be 'auto' or a positive integer, got {value!r}")
    return n


def set_threads(value: str | int | None = "auto") -> None:
    """Every simulation with ``value`` threads, or ``"auto"``: one thread for small states, torch's default for
    large ones."""
    global _policy
    _policy = parse_threads(value)


def _current() -> int | None:
    global _policy
    if _policy is _UNSET:
        _policy = parse_threads(os.environ.get("QML_THREADS"), "QML_THREADS")
    return _policy  # type: ignore[return-value]


def get_threads() -> int | str:
    policy = _current()
    return "auto" if policy is None else policy


def threads_for(amplitudes: int) -> int:
    """The threads a simulation of ``amplitudes`` (batch x 2^n) runs with under the current policy."""
    policy = _current()
    if policy is not None:
        return policy
    return 1 if amplitudes < SMALL_STATE else torch.get_num_threads()


@contextmanager
def thread_scope(amplitudes: int):
    """Run the body with ``threads_for(amplitudes)`` threads, restoring the caller's count after it; yields
    (threads in the body, the caller's threads)."""
    want, before = threads_for(amplitudes), torch.get_num_threads()
    if want == before:
        yield want, before
        return
    torch.set_num_threads(want)
    try:
        yield want, before
    finally:
        torch.set_num_threads(before)


class _SetThreads(torch.autograd.Function):
    """Identity on a tensor; its backward sets the thread count for the backward ops that follow it."""

    generate_vmap_rule = True

    @staticmethod
    def forward(t: torch.Tensor, threads: int) -> torch.Tensor:
        return t.view_as(t)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.threads = inputs[1]

    @staticmethod
    def jvp(ctx, tangent: torch.Tensor, _threads) -> torch.Tensor:
        return tangent

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        torch.set_num_threads(ctx.threads)
        return grad, None


def backward_threads(t: torch.Tensor | None, threads: int) -> torch.Tensor | None:
    """``t`` itself, whose gradient (once computed) sets ``threads`` for the rest of the backward pass: put at the
    output of a simulation with its own count and at its inputs with the caller's."""
    if t is None or not (t.requires_grad and torch.is_grad_enabled()):
        return t
    return _SetThreads.apply(t, threads)


__all__ = ["SMALL_STATE", "backward_threads", "get_threads", "parse_threads", "set_threads", "thread_scope",
           "threads_for"]
