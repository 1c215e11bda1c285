"""The ``torch`` executor: qml's own engine, noise-free or with a ``NoiseModel``, exact expectations or ``shots``
samples per input. With noise the outcome distribution of each input is the average over the noise: exact from
the density matrix up to 10 qubits, else the mean of ``trajectories`` independently drawn noisy runs (one noisy
run alone is what training sees, not what a device measures)."""

from __future__ import annotations

import torch
from torch import Tensor

from qml.backends.base import Capabilities, Executor
from qml.sim.measure import counts_from_indices, probabilities, sample_indices, z_expectations


class TorchExecutor(Executor):
    name = "torch"

    def __init__(self, noise=None, seed: int | None = None, trajectories: int = 64) -> None:
        self.noise = noise
        self.capabilities = Capabilities(exact=True, sampled=True, noise_factor=noise is not None,
                                         layout=noise is not None)
        self.trajectories = trajectories
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def describe(self) -> str:
        return "torch" if self.noise is None else f"torch with {self.noise!r}"

    def expectations(self, module, x: Tensor | None, shots: int | None = None) -> Tensor:
        from qml.noise.inject import NoiseInjector
        from qml.sim.density import MAX_WIRES, DensityMatrix, apply_confusion, readout_probabilities

        x, _ = module.check_input(x)
        n = module.n_wires
        with torch.no_grad():
            if self.noise is None:
                state = module.engine(module.theta, x)
                probs = probabilities(state)
            elif n <= MAX_WIRES:
                rho = DensityMatrix(module.circuit).run(module.theta, x, self.noise.channels(module.circuit),
                                                        before=self.noise.moves(module.circuit))
                probs = readout_probabilities(rho, n, self.noise.confusion(module.circuit)).to(module.theta.dtype)
            else:
                injector = NoiseInjector(module, self.noise, self.generator)
                batch = 1 if x is None else x.shape[0]
                probs = 0
                for _ in range(self.trajectories):
                    extra = injector.draw(batch).to(module.theta.dtype)
                    full = extra if x is None else torch.cat([x, extra], 1)
                    probs = probs + probabilities(injector.engine(module.theta, full))
                probs = apply_confusion(probs / self.trajectories, n, injector.confusion)
            if shots is not None:
                idx = sample_indices(probs.float(), shots, self.generator)
                probs = counts_from_indices(idx, probs.shape[-1]).to(probs.dtype) / shots
            return z_expectations(probs, n, tuple(range(n))).to(module.theta.dtype)
