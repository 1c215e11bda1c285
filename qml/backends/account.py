"""The IBM Quantum account: where the token comes from, how the service is reached, and how failures read.

The token comes from ``--token-file PATH``, else ``$QISKIT_IBM_TOKEN``, else qiskit-ibm-runtime's saved account
(``qml ibm login``; the file is ``$QML_IBM_ACCOUNT_FILE`` or ``~/.qiskit/qiskit-ibm.json``, resolved at call time).
The token is never printed, logged or written anywhere by qml, and never appears in an error message: every
exception from the service is replaced by an ``IBMError`` whose text is scrubbed of it, raised ``from None``.
The account file ``qml ibm login`` saves is readable by its owner only (0600); a ``--token-file`` that others can
read is used, with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qml.errors import FileError, IBMError, InputError, warn
from qml.files import describe_os_error, read_json

CHANNEL = "ibm_quantum_platform"
TOKEN_ENV, INSTANCE_ENV, ACCOUNT_FILE_ENV = "QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QML_IBM_ACCOUNT_FILE"
CONNECT_TIMEOUT = 60.0  # seconds: a service that never answers must not hang the command
NO_TOKEN = (f"no IBM Quantum token: set {TOKEN_ENV}, run `qml ibm login`, or pass --token-file PATH")


@dataclass(frozen=True)
class Credentials:
    """A token and where it came from; ``repr`` never shows the token."""

    token: str = field(repr=False)
    source: str  # "--token-file PATH", "$QISKIT_IBM_TOKEN" or "saved account (PATH)"
    instance: str | None = None
    account_file: Path | None = None  # set when the saved account is used (its url/proxies apply too)


def account_file() -> Path:
    """qiskit-ibm-runtime's account file, resolved now (so a changed ``HOME`` is honoured)."""
    return Path(os.environ.get(ACCOUNT_FILE_ENV) or Path.home() / ".qiskit" / "qiskit-ibm.json")


def find_credentials(token_file: Path | None = None) -> Credentials | None:
    """The first token found (``token_file``, environment, saved account); ``None`` when there is none."""
    instance = os.environ.get(INSTANCE_ENV) or None
    if token_file is not None:
        return Credentials(read_token_file(Path(token_file)), f"--token-file {token_file}", instance)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return Credentials(token, f"${TOKEN_ENV}", instance)
    return _saved_credentials()


def read_token_file(path: Path) -> str:
    """The token in ``path`` (one line of UTF-8 text); a file others can read gets a warning on stderr."""
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise IBMError(f"cannot read --token-file {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise IBMError(f"--token-file {path} is not a UTF-8 text file (expected the API token on one line)") \
            from None
    if not token:
        raise IBMError(f"--token-file {path} is empty")
    if os.name == "posix" and mode & (stat.S_IRGRP | stat.S_IROTH):
        warn(f"--token-file {path} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
             f"restrict it with: chmod 600 {path}")
    return token


def require_credentials(token_file: Path | None = None) -> Credentials:
    creds = find_credentials(token_file)
    if creds is None:
        raise IBMError(NO_TOKEN)
    return creds


def _saved_credentials() -> Credentials | None:
    path = account_file()
    if not path.is_file():
        return None
    from qiskit_ibm_runtime.accounts import AccountManager

    try:
        with _quiet_runtime():
            account = AccountManager.get(filename=str(path), channel=CHANNEL)
    except Exception:  # no account for the channel, or an unreadable file: as if there were no saved account
        return None
    if not account or not getattr(account, "token", None):
        return None
    return Credentials(account.token, f"saved account ({path})", account.instance, path)


def save_login(token: str, instance: str | None = None) -> Path:
    """Save the account with qiskit-ibm-runtime's own ``save_account`` (the default for its channel) into a file
    only its owner can read: made 0600 before the token is written into it, and again after."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    path = account_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            read_json(path)  # qiskit-ibm-runtime fails on a damaged file with a message that names no file
            os.chmod(path, 0o600)
        else:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
                f.write("{}")
        with _quiet_runtime():
            QiskitRuntimeService.save_account(channel=CHANNEL, token=token, instance=instance, filename=str(path),
                                              overwrite=True, set_as_default=True)
    except OSError as exc:
        raise FileError(f"cannot write the IBM Quantum account file {describe_os_error(exc, path)}") from None
    except InputError as exc:
        raise IBMError(f"{exc}; fix or remove it, then run `qml ibm login` again") from None
    except Exception as exc:  # qiskit-ibm-runtime checks the token and instance before it saves them
        raise IBMError(describe_failure(exc, token, "saving the IBM Quantum account")) from None
    finally:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)  # in case save_account replaced the file
    return path


def connect(creds: Credentials, timeout: float = CONNECT_TIMEOUT):
    """A ``QiskitRuntimeService`` for ``creds``; any failure is one scrubbed ``IBMError`` within ``timeout``."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    def make():
        if creds.account_file is not None:
            return QiskitRuntimeService(channel=CHANNEL, filename=str(creds.account_file))
        return QiskitRuntimeService(channel=CHANNEL, token=creds.token, instance=creds.instance)

    outcome: dict = {}

    def target() -> None:
        try:
            with _quiet_runtime():
                outcome["service"] = make()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="qml-ibm-connect", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise IBMError(f"cannot reach IBM Quantum (network): no answer within {timeout:g} s")
    if "error" in outcome:
        raise IBMError(describe_failure(outcome["error"], creds.token, "connecting", creds.source)) from None
    return outcome["service"]


def live_backend(service, name: str, token: str | None):
    """``service.backend(name)``; an unknown name lists the account's devices with a did-you-mean."""
    from qml.device.names import device_hint

    with service_errors(token, f"looking up {name}"):
        known = sorted(b.name for b in service.backends())
    if name not in known:
        raise IBMError(f"IBM Quantum has no device {name!r} for this account{device_hint(name, known)}; "
                       f"available: {', '.join(known) or 'none'}")
    with service_errors(token, f"opening {name}"):
        return service.backend(name)


@contextlib.contextmanager
def service_errors(token: str | None, doing: str) -> Iterator[None]:
    """Turn any exception from the service into a scrubbed one-line ``IBMError`` (``KeyboardInterrupt`` passes)."""
    try:
        with _quiet_runtime():
            yield
    except IBMError:
        raise
    except Exception as exc:
        raise IBMError(describe_failure(exc, token, doing)) from None


def describe_failure(exc: BaseException, token: str | None, doing: str, source: str | None = None) -> str:
    """One line saying why ``doing`` failed: network, token rejected, or the service's own (scrubbed) message."""
    kind = classify(exc)
    if kind == "network":
        return f"cannot reach IBM Quantum (network) while {doing}: {scrub(_root_text(exc), token)}"
    if kind == "rejected":
        where = f" from {source}" if source else ""
        return f"IBM Quantum rejected the token{where} while {doing}: check it, or run `qml ibm login` again"
    return f"IBM Quantum failed while {doing}: {type(exc).__name__}: {scrub(_one_line(str(exc)), token)}"


def classify(exc: BaseException) -> str:
    """``network`` when a connection failure lies anywhere down the cause chain, ``rejected`` for an account or
    authorization error with no such cause, else ``other``. qiskit-ibm-runtime reports a failed name lookup as
    ``InvalidAccountError: Unable to retrieve instances``, so the chain, not the top exception, decides."""
    chain = list(_chain(exc))
    if any(_is_network(e) for e in chain):
        return "network"
    names = {type(e).__name__ for e in chain}
    if names & {"InvalidAccountError", "IBMNotAuthorizedError", "AccountNotFoundError"}:
        return "rejected"
    for e in chain:  # ibm_cloud_sdk_core's ApiException has .code, requests' errors .response.status_code
        codes = {getattr(e, "status_code", None), getattr(e, "code", None),
                 getattr(getattr(e, "response", None), "status_code", None)}
        if codes & {400, 401, 403}:
            return "rejected"
    return "other"


def scrub(text: str, token: str | None) -> str:
    """``text`` with every spelling of ``token`` (raw, URL-quoted) replaced by ``***``."""
    if not token:
        return text
    for form in {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}:
        text = text.replace(form, "***")
    return text


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        reason = getattr(e, "reason", None)  # urllib3's MaxRetryError keeps its cause here
        todo += [e.__cause__, e.__context__, reason if isinstance(reason, BaseException) else None]


def _is_network(e: BaseException) -> bool:
    if isinstance(e, (socket.gaierror, ConnectionError, TimeoutError, socket.timeout)):
        return True
    module, name = type(e).__module__, type(e).__name__
    if module.startswith(("requests", "urllib3")) and any(
            word in name for word in ("Connection", "Timeout", "NameResolution", "MaxRetry", "ProxyError", "SSL")):
        return True
    return False


def _root_text(exc: BaseException) -> str:
    chain = list(_chain(exc))
    for e in reversed(chain):
        if isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError":
            return "name lookup failed (no DNS / offline)"
    for e in reversed(chain):
        if _is_network(e):
            return f"{type(e).__name__}"
    return type(exc).__name__


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def _quiet_runtime() -> Iterator[None]:
    """qiskit-ibm-runtime logs warnings of its own ("Loading account with the given token"); keep them off the
    one-line CLI output while qml talks to it."""
    logger = logging.getLogger("qiskit_ibm_runtime")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
