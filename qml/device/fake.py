"""The offline fake backends of ``qiskit_ibm_runtime.fake_provider``, found by device name (imported lazily)."""

from __future__ import annotations

from qml.device.names import device_hint, device_name
from qml.errors import NoiseError


def fake_backend_classes() -> dict[str, str]:
    """Device name -> fake backend class name, e.g. ``ibm_quito`` -> ``FakeQuitoV2`` (a V2 class wins a tie)."""
    from qiskit_ibm_runtime import fake_provider

    table: dict[str, str] = {}
    for attr in sorted(dir(fake_provider)):
        if not attr.startswith("Fake") or "Provider" in attr or attr.endswith("Backend"):
            continue
        name = device_name(attr)
        if name not in table or attr.endswith("V2"):
            table[name] = attr
    return table


def fake_backend(name: str):
    """A fresh ``FakeXxx`` backend instance for a device name (``ibm_quito`` -> ``FakeQuitoV2()``)."""
    from qiskit_ibm_runtime import fake_provider

    device = device_name(name)
    table = fake_backend_classes()
    if device not in table:
        raise NoiseError(f"no fake backend for device {name!r}{device_hint(device, list(table))}; "
                         f"qiskit_ibm_runtime.fake_provider has {', '.join(table)}")
    return getattr(fake_provider, table[device])()
