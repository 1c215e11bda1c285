"""The SuperCircuit: every subcircuit of a design space shares one vector of trainable angles. Each training step
runs the subcircuit a sampler picks; a subcircuit inherits its angles for evaluation (``subnet``)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from qml.data import Dataset
from qml.errors import InputError
from qml.search.space import DesignSpace, Gene
from qml.sim.engine import StatevectorEngine
from qml.sim.measure import ExpZ
from qml.sim.module import QuantumModule
from qml.train.checkpoint import load_checkpoint, save_checkpoint
from qml.train.trainer import QuantumClassifier


class SuperCircuit(nn.Module):
    """Logits of the active subcircuit: ``logit_scale`` x ⟨Z⟩ of the first ``n_classes`` wires."""

    def __init__(self, space: DesignSpace, n_classes: int, logit_scale: float = 5.0, cache: int = 64) -> None:
        super().__init__()
        if not 2 <= n_classes <= space.n_wires:
            raise InputError(f"{n_classes} classes need at least as many wires; the space has {space.n_wires}")
        self.space, self.n_classes, self.logit_scale = space, n_classes, logit_scale
        init = torch.empty(space.n_trainable, dtype=torch.float64).uniform_(-math.pi, math.pi)
        self.theta = nn.Parameter(init.float())
        self.gene: Gene = space.largest()
        self._engines: OrderedDict[Gene, StatevectorEngine] = OrderedDict()
        self._cache = cache

    def engine(self, gene: Gene) -> StatevectorEngine:
        if gene not in self._engines:
            self._engines[gene] = StatevectorEngine(self.space.circuit(gene))
            if len(self._engines) > self._cache:
                self._engines.popitem(last=False)
        self._engines.move_to_end(gene)
        return self._engines[gene]

    def forward(self, x: Tensor) -> Tensor:
        state = self.engine(self.gene)(self.theta, x)
        return ExpZ()(state, self.space.n_wires)[:, : self.n_classes] * self.logit_scale

    def used(self, gene: Gene) -> Tensor:
        """Mask of the shared angles ``gene``'s subcircuit uses."""
        mask = torch.zeros(self.space.n_trainable, dtype=torch.bool)
        for op in self.space.circuit(gene).ops:
            mask[[ref.index for ref in op.params if ref.kind == "trainable"]] = True
        return mask

    def subnet(self, gene: Gene) -> QuantumClassifier:
        """A stand-alone classifier of ``gene`` with the inherited angles (a copy)."""
        module = QuantumModule(self.space.circuit(gene))
        with torch.no_grad():
            module.theta.copy_(self.theta.detach().to(module.theta.dtype))
        return QuantumClassifier(module, self.n_classes, self.logit_scale)


class NoisySubcircuits:
    """Noise-aware SuperCircuit training: the sampled subcircuit run with a device's noise injected (per sample,
    ``qml.noise.inject``) on one of a pool of layouts drawn per step, the shared angles receiving the gradient.
    Injectors are kept per (subcircuit, layout), the most recent ``cache``."""

    def __init__(self, sc: SuperCircuit, pool: list, seed: int, cache: int = 64) -> None:
        import random

        self.sc, self.pool, self._cache = sc, pool, cache
        self.rng = random.Random(seed + 104729)
        self.generator = torch.Generator().manual_seed(seed + 104729)
        self._injectors: OrderedDict[tuple, nn.Module] = OrderedDict()

    def injector(self, gene: Gene, i: int) -> nn.Module:
        from qml.noise.inject import NoiseInjector

        key = (gene, i)
        if key not in self._injectors:
            module = QuantumModule(self.sc.space.circuit(gene))
            module.theta = self.sc.theta  # the shared angles, not a copy
            self._injectors[key] = NoiseInjector(module, self.pool[i], self.generator)
            if len(self._injectors) > self._cache:
                self._injectors.popitem(last=False)
        self._injectors.move_to_end(key)
        return self._injectors[key]

    def __call__(self, gene: Gene, x: Tensor) -> Tensor:
        z = self.injector(gene, self.rng.randrange(len(self.pool)))(x)
        return z[:, : self.sc.n_classes] * self.sc.logit_scale

    def state(self) -> dict:
        return {"noise_gen": self.generator.get_state(), "layout_rng": _py_state_tensor(self.rng.getstate())}

    def load(self, state: dict) -> None:
        if "noise_gen" in state:
            self.generator.set_state(state["noise_gen"])
            self.rng.setstate(_py_state(state["layout_rng"]))


def noise_pool(device, layouts, factor: float, size: int, seed: int, first: Sequence[int] | None = None) -> list:
    """The noise models noise-aware SuperCircuit training draws from: ``first`` (e.g. the human design's best
    layout) and random connected layouts of ``layouts`` (a ``LayoutSpace``) up to ``size`` distinct ones."""
    import random

    from qml.noise import NoiseModel

    rng = random.Random(seed + 15485863)
    chosen = [tuple(first)] if first is not None else []
    for _ in range(100 * size):
        if len(chosen) >= size:
            break
        layout = layouts.random(rng)
        if layout not in chosen:
            chosen.append(layout)
    return [NoiseModel(device, layout, factor) for layout in chosen]


@dataclass
class SuperTrainConfig:
    ADDED_LATER = ("noise_factor",)

    epochs: int = 40
    batch_size: int = 32
    lr: float = 0.02
    weight_decay: float = 1e-4
    sampler: str = "restricted"
    seed: int = 0
    noise_factor: float = 0.0  # > 0: noise-aware training (``NoisySubcircuits``) at this noise factor


SUPER_HISTORY = {"epoch", "loss", "valid_accuracy_largest", "seconds"}


def load_super_checkpoint(path: Path) -> dict:
    """A SuperCircuit checkpoint, checked field by field like a training checkpoint."""
    return load_checkpoint(path, history_keys=SUPER_HISTORY)


def train_supercircuit(sc: SuperCircuit, data: Dataset, config: SuperTrainConfig, checkpoint: Path | None = None,
                       progress: bool | None = None, log=None, noise: list | None = None) -> list[dict]:
    """Train the shared angles, one sampled subcircuit per step; checkpoints every epoch and resumes from it. With
    ``noise`` (noise models of one device on several layouts, ``noise_pool``) each step injects the noise of one of
    them, drawn at random (noise-aware training); validation stays noise-free."""
    import random

    from tqdm.auto import tqdm

    from qml.search.samplers import make_sampler

    rng = random.Random(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    sampler = make_sampler(config.sampler, sc.space, rng)
    opt = torch.optim.Adam(sc.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(data.x_train) / config.batch_size)
    total = config.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    history, first = [], 0
    noisy = NoisySubcircuits(sc, noise, config.seed) if noise else None
    if checkpoint is not None and checkpoint.exists():
        state = load_super_checkpoint(checkpoint)
        sc.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["rng"])
        rng.setstate(_py_state(state["noise_rng"]))
        first, history = int(state["epoch"]), list(state["history"])
        if "sampler_previous" in state and hasattr(sampler, "previous"):
            previous = [int(v) for v in state["sampler_previous"].tolist()]
            sampler.previous = tuple(previous) if previous else None
        if noisy is not None:
            noisy.load(state)
    bar = tqdm(total=total, initial=first * steps_per_epoch, desc="supercircuit", unit="step",
               disable=None if progress is None else not progress)
    try:
        for epoch in range(first, config.epochs):
            start, seen, loss_sum = time.perf_counter(), 0, 0.0
            sc.train()
            for i, idx in enumerate(torch.randperm(len(data.x_train), generator=gen).split(config.batch_size)):
                sc.gene = sampler.sample(epoch * steps_per_epoch + i, total)
                x = data.x_train[idx]
                logits = sc(x) if noisy is None else noisy(sc.gene, x)
                loss = nn.functional.cross_entropy(logits, data.y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                _step_used(opt, sc.theta, sc.used(sc.gene))
                sched.step()
                seen, loss_sum = seen + len(idx), loss_sum + loss.item() * len(idx)
                bar.update(1)
            sc.gene = sc.space.largest()
            with torch.no_grad():
                sc.eval()
                valid = float((sc(data.x_valid).argmax(1) == data.y_valid).float().mean())
            row = {"epoch": epoch + 1, "loss": loss_sum / seen, "valid_accuracy_largest": valid,
                   "seconds": time.perf_counter() - start}
            history.append(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", valid=f"{valid:.3f}")
            if checkpoint is not None:  # before the log line: a kill in between never logs an epoch twice
                save_checkpoint(checkpoint, {"model": sc.state_dict(), "optimizer": opt.state_dict(),
                                             "scheduler": sched.state_dict(), "rng": gen.get_state(),
                                             "noise_rng": _py_state_tensor(rng.getstate()), "epoch": epoch + 1,
                                             "history": history,
                                             "sampler_previous": torch.tensor(
                                                 list(getattr(sampler, "previous", None) or ()), dtype=torch.int64),
                                             **(noisy.state() if noisy is not None else {})})
            if log:
                log(row)
    finally:
        bar.close()
    return history


def _step_used(opt: torch.optim.Optimizer, theta: Tensor, used: Tensor) -> None:
    """``opt.step()`` that leaves the angles the step's subcircuit does not use, and their optimizer moments, as
    they were: their gradient is zero, but weight decay and momentum would move them (TorchQuantum's per-gate
    parameters get no gradient at all, so its optimizer skips them)."""
    frozen = ~used
    before = {k: v[frozen].clone() for k, v in opt.state.get(theta, {}).items()
              if torch.is_tensor(v) and v.shape == theta.shape}
    angles = theta.detach()[frozen].clone()
    opt.step()
    with torch.no_grad():
        theta[frozen] = angles
        for k, v in opt.state[theta].items():
            if torch.is_tensor(v) and v.shape == theta.shape:
                v[frozen] = before[k] if k in before else 0.0


def _py_state_tensor(state) -> Tensor:
    """Python's ``random`` state as an int64 tensor (loads with ``weights_only=True``)."""
    version, internal, gauss = state
    return torch.tensor([version, *internal, -1 if gauss is None else 1], dtype=torch.int64)


def _py_state(t: Tensor):
    values = [int(v) for v in t.tolist()]
    return values[0], tuple(values[1:-1]), None


__all__ = ["NoisySubcircuits", "SuperCircuit", "SuperTrainConfig", "noise_pool", "train_supercircuit"]
