"""Device names as IBM writes them (``ibm_quito``), from any of the spellings users type."""

from __future__ import annotations

import difflib


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


def did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean 'ibm_quito'?)`` when a known name is close, else an empty string."""
    def short(text: str) -> str:  # the shared "ibm_" would make every pair look alike
        return text[4:] if text.startswith("ibm_") else text

    by_short = {short(k): k for k in known}
    near = difflib.get_close_matches(short(name), list(by_short), n=1)
    return f" (did you mean {by_short[near[0]]!r}?)" if near else ""
