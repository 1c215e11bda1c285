"""Room ``backends``: executors with one interface — ``torch`` (qml's engine, noise-free or with injected device
noise) and ``aer`` (the device's Aer twin) — found through the ``qml.backends`` entry-point group like passes.

A backend is named ``NAME`` or ``NAME:DEVICE``: ``torch``, ``torch:ibm_quito``, ``aer:ibm_quito``."""

from __future__ import annotations

from typing import Any

from qml.backends.base import Executor
from qml.errors import InputError
from qml.plugins import Registry

GROUP = "qml.backends"


def _check_backend(name: str, value: Any) -> None:
    if not callable(value):
        raise TypeError(f"entry point {name!r} gives {value!r}, not an executor factory")


registry = Registry(GROUP, "backend", _check_backend)


def make_executor(spec: str, layout=None, seed: int | None = 0, noise_factor: float = 1.0) -> Executor:
    """An executor from ``NAME[:DEVICE]``."""
    name, _, device = spec.partition(":")
    factory = registry.get(name)
    return factory(device or None, layout=layout, seed=seed, noise_factor=noise_factor)


def torch_backend(device: str | None, layout=None, seed: int | None = 0, noise_factor: float = 1.0) -> Executor:
    from qml.backends.torch_executor import TorchExecutor

    if device is None:
        return TorchExecutor(seed=seed)
    from qml.noise import NoiseModel, load_snapshot

    return TorchExecutor(NoiseModel(load_snapshot(device), layout, noise_factor), seed=seed)


def aer_backend(device: str | None, layout=None, seed: int | None = 0, noise_factor: float = 1.0) -> Executor:
    from qml.backends.aer_executor import AerExecutor
    from qml.noise import load_snapshot

    if device is None:
        raise InputError("the aer backend needs a device: aer:DEVICE, e.g. aer:ibm_quito")
    return AerExecutor(load_snapshot(device), layout, seed=seed)


__all__ = ["Executor", "make_executor", "registry"]
