"""qml's exceptions: one base class, specific subclasses for each kind of user mistake."""

from __future__ import annotations


class QmlError(Exception):
    """Base of every error qml raises on purpose; the CLI prints its message and exits 2."""


class CircuitError(QmlError, ValueError):
    """A circuit was built wrongly: unknown gate, bad wire, wrong parameter count."""


class InputError(QmlError, ValueError):
    """Data given to a circuit or a command has the wrong shape, type or values."""


class ConversionError(QmlError, ValueError):
    """A qiskit circuit or expression cannot be represented in qml."""


class PassError(QmlError, ValueError):
    """A compression pass was configured wrongly or applied to a model it does not support."""


class PluginError(QmlError, LookupError):
    """A pass or backend name is unknown, claimed twice, or its plugin failed to import."""


class NoiseError(QmlError, ValueError):
    """A device name is unknown, or a noise snapshot file is malformed or of an unsupported version."""


class IBMError(QmlError, RuntimeError):
    """IBM Quantum cannot be used: no token, token rejected, service unreachable, or a job failed."""


class MemoryBudgetError(QmlError, MemoryError):
    """A simulation would need more memory than the machine has; raised before anything is allocated."""


class FileError(QmlError, OSError):
    """A file or folder cannot be read or written: permissions, a full disk, a missing folder."""


def did_you_mean(name: str, known, key=None) -> str:
    """`` (did you mean 'x'?)`` when a known name is close to ``name``, else an empty string: the one spelling hint
    of every "unknown ..." message. ``key`` maps a name to the part worth comparing (device names drop ``ibm_``)."""
    import difflib

    key = key or (lambda text: text)
    by_key = {key(k): k for k in known}
    near = difflib.get_close_matches(key(str(name)), list(by_key), n=1)
    return f" (did you mean {by_key[near[0]]!r}?)" if near else ""


def warn(message: str) -> None:
    """One warning line on stderr, as the CLI prints errors (``qml: warning: ...``); for facts a user must see but
    that do not stop the work (a changed source file, a world-readable token file)."""
    import sys

    print(f"qml: warning: {message}", file=sys.stderr, flush=True)
