"""The ``aer`` executor: the Aer twin of a device. The circuit is bound to its trained angles, transpiled once
with the chosen layout to the device's target (the inputs stay symbolic), and every input is run in batched
``SamplerV2`` calls: one PUB of up to ``pub_size`` parameter rows each, all PUBs in one ``run``. ⟨Z⟩ of logical
wire i comes from clbit i (``measure_all`` on the logical circuit, so routing cannot reorder outcomes)."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from qml.backends.base import Executor, as_tensor, parameter_rows, transpile_measured, unpack_bitarray, z_from_bits
from qml.errors import InputError


class AerExecutor(Executor):
    name = "aer"

    def __init__(self, snapshot, layout=None, *, seed: int | None = 0, optimization_level: int = 1,
                 pub_size: int = 256, noise: bool = True) -> None:
        self.snapshot = snapshot
        self.layout = layout
        self.seed = seed
        self.optimization_level = optimization_level
        self.pub_size = pub_size
        self.noise = noise
        self._sampler = None
        self.last_transpiled = None

    def describe(self) -> str:
        return f"aer twin of {self.snapshot.device}" + ("" if self.noise else " (noise off)")

    def sampler(self, shots: int):
        from qiskit_aer.primitives import SamplerV2

        from qml.noise.qiskit_models import to_aer_noise_model

        options = {"backend_options": {"method": "automatic"}}
        if self.noise:
            options["backend_options"]["noise_model"] = to_aer_noise_model(self.snapshot)
        return SamplerV2(default_shots=shots, seed=self.seed, options=options)

    def transpile(self, module):
        """The module's circuit with its trained angles bound, inputs symbolic, measured, on the device."""
        from qml.noise.qiskit_models import to_target

        out, _ = transpile_measured(module, to_target(self.snapshot), self.layout, self.snapshot.device,
                                    self.optimization_level)
        self.last_transpiled = out
        return out

    def expectations(self, module, x: Tensor | None, shots: int | None = 1024) -> Tensor:
        if shots is None:
            raise InputError("the aer executor samples: give a number of shots")
        x, _ = module.check_input(x)
        transpiled = self.transpile(module)
        rows = parameter_rows(transpiled, x)
        n = module.n_wires
        if rows.shape[1] == 0:
            pubs = [(transpiled,)]
            batch = 1 if x is None else x.shape[0]
        else:
            pubs = [(transpiled, rows[i:i + self.pub_size]) for i in range(0, len(rows), self.pub_size)]
            batch = len(rows)
        result = self.sampler(shots).run(pubs, shots=shots).result()
        z = []
        for pub in result:
            bits = unpack_bitarray(pub.data.meas.array, n)
            z.append(z_from_bits(bits.astype(np.float64)).reshape(-1, n))
        values = np.concatenate(z)
        if values.shape[0] == 1 and batch > 1:
            values = np.repeat(values, batch, 0)
        return as_tensor(values, module.theta)
