"""The ``aer`` executor: the Aer twin of a device. The circuit is bound to its trained angles, transpiled once
with the chosen layout to the device's target (the inputs stay symbolic), and every input is run in batched
``SamplerV2`` calls: one PUB of up to ``pub_size`` parameter rows each, all PUBs in one ``run``. ⟨Z⟩ of logical
wire i comes from clbit i (``measure_all`` on the logical circuit, so routing cannot reorder outcomes).

Only the qubits the transpiled circuit touches are simulated: the circuit is renumbered onto them and run with the
noise model of that region of the device (``Device.region``), which holds exactly the errors those qubits see. A
4-qubit circuit on a 133-qubit twin costs what it costs on a 5-qubit one.

``mitigated_expectations`` adds the circuits of a ``qml.backends.mitigation.MitigationPlan`` (readout calibration,
folded copies for ZNE), built on the same simulated qubits, to the same ``run``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from qml.backends.base import (
    Capabilities,
    Executor,
    TranspileCache,
    as_tensor,
    parameter_rows,
    unpack_bitarray,
)
from qml.backends.mitigation import METHODS, RAW, Mitigated, Mitigation, MitigationPlan
from qml.errors import InputError


class AerExecutor(Executor):
    """``device``: a ``qml.device.Device``, a device name or a snapshot. Its Aer noise model and target are built
    once per device and the sampler once per executor and shot count."""

    name = "aer"
    capabilities = Capabilities(exact=False, sampled=True, noise_factor=False, layout=True)
    mitigation_methods = METHODS  # what --mitigate may ask of it (executors without the attribute: nothing)

    def __init__(self, device, layout=None, *, seed: int | None = 0, optimization_level: int = 1,
                 pub_size: int = 256, noise: bool = True) -> None:
        from qml.device import Device

        self.device = Device.load(device)
        self.layout = layout
        self.seed = seed
        self.optimization_level = optimization_level
        self.pub_size = pub_size
        self.noise = noise
        self._samplers: dict[int, object] = {}
        self.last_transpiled = None
        self._transpiled = TranspileCache()

    @property
    def snapshot(self):
        return self.device.snapshot

    def describe(self) -> str:
        return f"aer twin of {self.device.name}" + ("" if self.noise else " (noise off)")

    def sampler(self, shots: int, qubits: tuple[int, ...] | None = None):
        """A sampler with the noise of ``qubits`` (a region of the device, renumbered) or of the whole device."""
        key = (shots, qubits)
        if key not in self._samplers:
            from qiskit_aer.primitives import SamplerV2

            # Aer's OpenMP threads follow torch's count: a Ray worker given one core keeps Aer on it too
            options = {"backend_options": {"method": "automatic", "max_parallel_threads": torch.get_num_threads()}}
            if self.noise:
                device = self.device if qubits is None else self.device.region(qubits)
                options["backend_options"]["noise_model"] = device.aer_noise_model
            self._samplers[key] = SamplerV2(default_shots=shots, seed=self.seed, options=options)
        return self._samplers[key]

    def transpile(self, module):
        """The module's circuit with its trained angles bound, inputs symbolic, measured, on the device."""
        out = self._transpiled.get(module, self.layout, lambda: self.device.transpile_measured(
            module, self.layout, self.optimization_level)[0])
        self.last_transpiled = out
        return out

    def _on_active_qubits(self, transpiled):
        """(the circuit to simulate, the region it runs on or None for the whole device)."""
        from qml.device import active_qubits, compact

        qubits = active_qubits(transpiled)
        if len(qubits) == transpiled.num_qubits:
            return transpiled, None
        return compact(transpiled, qubits), qubits

    def expectations(self, module, x: Tensor | None, shots: int | None = 1024) -> Tensor:
        return as_tensor(self._run(module, x, shots, None).z[RAW], module.theta)

    def mitigated_expectations(self, module, x: Tensor | None, shots: int | None, mitigation: Mitigation,
                               log: Callable[[str], None] | None = None) -> Mitigated:
        """⟨Z⟩ raw and mitigated (``Mitigated.z``: method -> (B, n_wires) array): the calibration and folded
        circuits go in the same sampler run as the evaluation's; ``log`` gets their cost before it starts."""
        mitigation.check_available()
        return self._run(module, x, shots, mitigation, log)

    def _run(self, module, x: Tensor | None, shots: int | None, mitigation: Mitigation | None,
             log: Callable[[str], None] | None = None) -> Mitigated:
        if shots is None:
            raise InputError("the aer executor samples: give a number of shots")
        x, _ = module.check_input(x)
        transpiled, region = self._on_active_qubits(self.transpile(module))
        rows = parameter_rows(transpiled, x)
        n = module.n_wires
        batch = len(rows) if rows.shape[1] else (1 if x is None else x.shape[0])
        plan = MitigationPlan(transpiled, mitigation)
        if mitigation is not None and log is not None:
            log(f"{self.describe()}: {plan.cost(batch, shots)}")
        pubs, keys = [], []
        for key, variant in plan.variants.items():
            if variant.per_input and rows.shape[1]:
                chunks = [(variant.circuits[0], rows[i:i + self.pub_size]) for i in range(0, len(rows), self.pub_size)]
            else:
                chunks = [(circuit,) for circuit in variant.circuits]
            pubs += chunks
            keys += [key] * len(chunks)
        result = self.sampler(shots, region).run(pubs, shots=shots).result()
        parts: dict[str, list[np.ndarray]] = {}
        for key, pub in zip(keys, result, strict=True):
            parts.setdefault(key, []).append(unpack_bitarray(pub.data.meas.array, n).reshape(-1, shots, n))
        bits = {key: np.concatenate(chunks) for key, chunks in parts.items()}
        for key, variant in plan.variants.items():
            if variant.per_input and bits[key].shape[0] == 1 and batch > 1:
                bits[key] = np.repeat(bits[key], batch, 0)
        return plan.estimate(bits)
