"""Opening an IBM device by the name a user writes: ``ibm_torino`` (live, with a token) or ``fake:ibm_torino``
(qiskit-ibm-runtime's offline fake backend, for local testing mode)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qml.errors import InputError


@dataclass
class OpenedBackend:
    """An opened backend: ``spec`` as the user wrote it (``ibm_torino`` or ``fake:ibm_torino``)."""

    spec: str
    backend: Any  # a qiskit BackendV2: qiskit_ibm_runtime's IBMBackend, or a FakeXxx for local testing mode
    service: Any = None  # QiskitRuntimeService (live only)
    token: str | None = field(default=None, repr=False)

    @property
    def local(self) -> bool:
        return self.service is None

    @property
    def name(self) -> str:
        return self.backend.name

    def errors(self, doing: str):
        """Live service calls raise scrubbed one-line ``IBMError``s; local ones the same, minus the network."""
        from qml.backends.account import service_errors

        return service_errors(self.token, doing)


def parse_spec(spec: str) -> tuple[str, bool]:
    """``fake:quito`` -> (``fake:ibm_quito``, True); ``ibm_torino`` -> (``ibm_torino``, False)."""
    from qml.device.names import device_name

    text = spec.strip()
    if text.lower().startswith("fake:"):
        return f"fake:{device_name(text[5:])}", True
    if not text.lower().startswith("ibm"):
        raise InputError(f"--backend {spec!r}: expected an IBM device (ibm_torino) or fake:ibm_NAME for local "
                         f"testing mode; simulators run with qml eval --backend aer:DEVICE")
    return text, False


def open_device(spec: str, token_file=None, credentials=None) -> OpenedBackend:
    """The backend ``spec`` names: a fake for ``fake:``, else the live device (a token is needed)."""
    spec, local = parse_spec(spec)
    if local:
        from qml.device import fake_backend

        return OpenedBackend(spec, fake_backend(spec[5:]))
    from qml.backends.account import connect, live_backend, require_credentials

    creds = credentials or require_credentials(token_file)
    service = connect(creds)
    return OpenedBackend(spec, live_backend(service, spec, creds.token), service, creds.token)
