"""Device names as IBM writes them (``ibm_quito``), from any of the spellings users type."""

from __future__ import annotations

from qml.errors import did_you_mean


def device_name(text: str) -> str:
    """``quito``, ``ibm_quito``, ``ibmq_quito``, ``fake_quito``, ``FakeQuitoV2`` -> ``ibm_quito``."""
    key = text.strip().lower().replace("-", "_")
    if key.startswith("fake"):
        key = key[4:].lstrip("_")
        if key.endswith("v2"):
            key = key[:-2]
    else:
        for prefix in ("ibmq_", "ibm_"):
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
    return f"ibm_{key}"


def device_hint(name: str, known) -> str:
    """The spelling hint for a device name; the shared ``ibm_`` prefix would make every pair look alike."""
    return did_you_mean(name, known, key=lambda text: text[4:] if text.startswith("ibm_") else text)
