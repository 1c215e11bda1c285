"""Room ``backends``: executors with one interface — ``torch`` (qml's engine, noise-free or with injected device
noise), ``aer`` (the device's Aer twin) and ``ibm`` (IBM Quantum) — found through the ``qml.backends``
entry-point group like passes. Each declares its ``Capabilities``; ``make_executor`` refuses an argument the
executor cannot honour instead of dropping it.

A backend is named ``NAME`` or ``NAME:DEVICE``: ``torch``, ``torch:ibm_quito``, ``aer:ibm_quito``."""

from __future__ import annotations

from typing import Any

from qml.backends.base import Capabilities, Executor
from qml.errors import InputError
from qml.plugins import Registry

GROUP = "qml.backends"


def _check_backend(name: str, value: Any) -> None:
    if not callable(value):
        raise TypeError(f"entry point {name!r} gives {value!r}, not an executor factory")


registry = Registry(GROUP, "backend", _check_backend)


def make_executor(spec: str, layout=None, seed: int | None = 0, noise_factor: float = 1.0) -> Executor:
    """An executor from ``NAME[:DEVICE]``; a ``layout`` or a ``noise_factor`` other than 1 that it cannot honour
    is an ``InputError``."""
    name, _, device = spec.partition(":")
    factory = registry.get(name)
    executor = factory(device or None, layout=layout, seed=seed, noise_factor=noise_factor)
    caps = executor.capabilities
    if noise_factor != 1.0 and not caps.noise_factor:
        raise InputError(f"backend {spec!r} cannot scale noise: noise factor {noise_factor:g} given, only 1 "
                         f"(the device as calibrated) is possible" + ("" if device else "; name a device, e.g. "
                                                                    "torch:ibm_quito"))
    if layout is not None and not caps.layout:
        raise InputError(f"backend {spec!r} does not place circuits on physical qubits; drop the layout "
                         f"{list(layout)} or name a device, e.g. {name}:ibm_quito")
    return executor


def torch_backend(device: str | None, layout=None, seed: int | None = 0, noise_factor: float = 1.0) -> Executor:
    from qml.backends.torch_executor import TorchExecutor

    if device is None:
        return TorchExecutor(seed=seed)
    from qml.device import Device
    from qml.noise import NoiseModel

    return TorchExecutor(NoiseModel(Device.load(device).snapshot, layout, noise_factor), seed=seed)


def aer_backend(device: str | None, layout=None, seed: int | None = 0, noise_factor: float = 1.0) -> Executor:
    from qml.backends.aer_executor import AerExecutor

    if device is None:
        raise InputError("the aer backend needs a device: aer:DEVICE, e.g. aer:ibm_quito")
    return AerExecutor(device, layout, seed=seed)


__all__ = ["Capabilities", "Executor", "make_executor", "registry"]
