"""Train a quantum classifier: Adam with weight decay and a cosine schedule (QuantumNAS defaults), the device's
noise injected per sample with a factor and schedule (QuantumNAT), post-measurement normalisation and
quantization, a checkpoint every epoch that ``resume`` continues from, per-epoch metrics and a progress bar."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor

from qml.data import Dataset
from qml.errors import InputError
from qml.sim.module import QuantumModule
from qml.train.checkpoint import load_checkpoint, save_checkpoint
from qml.train.postprocess import PostMeasurement, predicted_class

RAW_LOGIT_SCALE, NORM_LOGIT_SCALE = 5.0, 1.0


@dataclass
class _Injection:
    injector: torch.nn.Module | None = None
    measurer: object | None = None


class QuantumClassifier(torch.nn.Module):
    """Logits = ``logit_scale`` x the first ``n_classes`` outputs of the circuit (⟨Z⟩ per wire), after the
    optional post-measurement normalisation / quantization. No classical weights.

    ``logit_scale`` defaults to ``RAW_LOGIT_SCALE`` (5) on raw ⟨Z⟩, whose spread over inputs is small (standard
    deviation ~0.2-0.4 on mnist4), and to ``NORM_LOGIT_SCALE`` (1) after normalisation, whose outputs already have
    unit variance: 5 there makes the softmax saturate and training underfit (mnist4, U3+CU3 2 blocks, 30 epochs,
    seeds 0-2, noise-free: 0.744 with scale 5 vs 0.807 with 1; see bench/README.md). The scale never changes the
    predicted class, only the loss.

    ``set_noise(model)`` injects a ``NoiseModel``'s errors while training (and in evaluation when
    ``noisy_eval``); ``head(z)`` turns ⟨Z⟩ measured elsewhere (an Aer twin, hardware) into logits."""

    def __init__(self, qmodule: QuantumModule, n_classes: int, logit_scale: float | None = None, norm: bool = False,
                 quant_levels: int | None = None):
        super().__init__()
        if logit_scale is None:
            logit_scale = NORM_LOGIT_SCALE if norm else RAW_LOGIT_SCALE
        if not 2 <= n_classes <= qmodule.n_outputs:
            raise InputError(f"n_classes must be between 2 and the circuit's {qmodule.n_outputs} outputs, "
                             f"got {n_classes}")
        self.qmodule = qmodule
        self.n_classes = n_classes
        self.logit_scale = logit_scale
        self.post = PostMeasurement(qmodule.n_outputs, norm, quant_levels)
        self._noise = _Injection()  # a plain holder: the injector shares qmodule's parameters, not a submodule
        self.noisy_eval = False

    def set_noise(self, noise, generator: torch.Generator | None = None) -> None:
        """Inject ``noise`` (a ``qml.noise.NoiseModel``, or None to stop)."""
        from qml.noise.inject import NoiseInjector

        if noise is None:
            self._noise.injector = None
        elif self.injector is not None and generator is None:
            self.injector.set_noise(noise)
        else:
            self._noise.injector = NoiseInjector(self.qmodule, noise, generator).to(self.qmodule.theta.device)

    @property
    def injector(self):
        """The ``NoiseInjector`` in use, or None."""
        return self._noise.injector

    def set_measurer(self, measurer) -> None:
        """Measure ⟨Z⟩ with ``measurer(qmodule, x, training)`` instead of the simulator, in training and evaluation
        (on-chip training: ``qml.runs.onchip``); its output carries the gradient it measured. None to stop.
        The trainer checkpoints its ``state_dict()``, calls ``after_backward(grad)`` after every step and
        ``end_epoch(epoch)`` after every epoch."""
        self._noise.measurer = measurer

    @property
    def measurer(self):
        return self._noise.measurer

    def measure(self, x: Tensor) -> Tensor:
        if self.measurer is not None:
            return self.measurer(self.qmodule, x, self.training)
        if self.injector is not None and (self.training or self.noisy_eval):
            return self.injector.to(self.qmodule.theta.device)(x)
        return self.qmodule(x)

    def head(self, z: Tensor) -> Tensor:
        return self.post(z)[:, : self.n_classes] * self.logit_scale

    def readout(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """(logits as ``head`` gives them, predicted classes) from ⟨Z⟩: the class is ``predicted_class``'s, the
        top logit with a tie between quantized logits broken by the values before rounding."""
        out, unrounded = self.post.readout(z)
        logits = out[:, : self.n_classes] * self.logit_scale
        tiebreak = unrounded[:, : self.n_classes] if self.post.levels is not None else None
        return logits, predicted_class(logits, tiebreak)

    @torch.no_grad()
    def predict_from(self, z: Tensor) -> Tensor:
        """The predicted class of each input from ⟨Z⟩ measured elsewhere (an executor, hardware): the one rule
        every accuracy in qml uses (``readout``)."""
        return self.readout(z.to(device=self.qmodule.theta.device, dtype=self.qmodule.theta.dtype))[1].cpu()

    def accuracy_from(self, z: Tensor, y: Tensor) -> float:
        """Accuracy of the predictions from ⟨Z⟩ measured elsewhere (an executor, hardware) against labels (a
        fraction in float64, equal to ``Trainer.evaluate``'s on the same predictions)."""
        return float((self.predict_from(z) == y.cpu()).double().mean())

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.measure(x))

    # -- export ------------------------------------------------------------------------------------
    def to_qiskit(self):
        """The complete circuit a device runs for one input: the trained angles bound (gates that pruned angles make
        the identity left out), the features symbolic (``x[j]``), every wire measured into the clbit of its index.
        ``readout_text()`` says how counts become a class; ``predict_from_counts`` does it."""
        qc = self.qmodule.to_qiskit(bind=True)
        qc.measure_all()
        return qc

    def to_qasm3(self) -> str:
        """``to_qiskit()`` as OpenQASM 3 (features as ``input float _x_j_``), with the read-out as comments after
        the version line."""
        from qiskit import qasm3

        version, rest = qasm3.dumps(self.to_qiskit()).split("\n", 1)
        comments = "".join(f"// {line}\n" for line in self.readout_text().splitlines())
        return f"{version}\n{comments}{rest}"

    def readout_text(self) -> str:
        """How a class comes from the measured bits, with this model's numbers."""
        k, post = self.n_classes, self.post
        lines = [f"qml classifier: {self.qmodule.n_wires} wires, {self.qmodule.n_inputs} features, {k} classes",
                 f"z[w] = P(meas[w] = 0) - P(meas[w] = 1) over the shots, for w = 0..{k - 1} "
                 "(meas[w] is wire w; qiskit bitstrings print it rightmost)"]
        if post.norm:
            mean = ", ".join(f"{v:.6g}" for v in post.running_mean[:k].tolist())
            std = ", ".join(f"{v:.6g}" for v in post.running_std[:k].tolist())
            lines.append("z[w] = (z[w] - mean[w]) / std[w]: over the batch of inputs when it has more than one, "
                         f"else training's running mean [{mean}] and std [{std}]")
        if post.levels is not None:
            lines.append(f"z[w] clamped to [-2, 2] and rounded to {post.levels} evenly spaced levels")
        lines.append(f"class = the w with the largest {self.logit_scale:g} * z[w]"
                     + ("; a tie broken by z[w] before rounding" if post.levels is not None else ""))
        return "\n".join(lines)

    def predict_from_counts(self, counts) -> Tensor:
        """The class of each input from the counts of ``to_qiskit()`` run elsewhere: one mapping of bitstrings
        (qiskit's order: clbit 0 rightmost; spaces between registers ignored) to counts per input."""
        z = []
        for i, table in enumerate(counts):
            ones, total = [0.0] * self.qmodule.n_wires, 0
            for bits, n in table.items():
                bits = bits.replace(" ", "")
                if len(bits) < self.qmodule.n_wires or set(bits) - {"0", "1"}:
                    raise InputError(f"counts of input {i}: {bits!r} is not a bitstring of "
                                     f"{self.qmodule.n_wires} bits")
                total += n
                for w in range(self.qmodule.n_wires):
                    ones[w] += n * (bits[-1 - w] == "1")
            if total <= 0:
                raise InputError(f"counts of input {i} hold no shots")
            z.append([1 - 2 * o / total for o in ones])
        return self.predict_from(torch.tensor(z, dtype=torch.float64))


@dataclass
class TrainConfig:
    """QuantumNAS's optimiser defaults (Adam, lr 5e-3, weight decay 1e-4, cosine schedule); 60 epochs of batch 32
    because our tasks are small (measured on digits4, 2 blocks U3+CU3: see README).

    ``noise_factor`` scales the injected noise (QuantumNAT uses 0.1-1.5); ``noise_schedule`` ``constant`` keeps
    it, ``linear`` ramps it from 0 to the factor over the first half of training. ``quant_lambda`` weighs the
    MSE between quantized and unquantized outputs."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 5e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "cpu"
    noise_factor: float = 1.0
    noise_schedule: str = "constant"
    quant_lambda: float = 0.1

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not _is_real(self.lr) or not (self.lr > 0 and math.isfinite(self.lr)):
            raise InputError(f"lr must be a positive number, got {self.lr!r}")
        for name in ("weight_decay", "noise_factor", "quant_lambda"):
            value = getattr(self, name)
            if not _is_real(value) or not (value >= 0 and math.isfinite(value)):
                raise InputError(f"{name} must be >= 0 and finite, got {value!r}")
        if self.noise_schedule not in ("constant", "linear"):
            raise InputError(f"noise_schedule must be constant or linear, got {self.noise_schedule!r}")

    def factor_at(self, epoch: int) -> float:
        """Noise factor during ``epoch`` (0-based)."""
        if self.noise_schedule == "constant":
            return self.noise_factor
        ramp = max(1, self.epochs // 2)
        return self.noise_factor * min(1.0, (epoch + 1) / ramp)


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float
    train_accuracy: float
    valid_accuracy: float
    seconds: float


@dataclass
class TrainResult:
    history: list[EpochMetrics] = field(default_factory=list)
    test_accuracy: float = float("nan")
    test_loss: float = float("nan")

    def to_dict(self) -> dict:
        return {"test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
                "history": [asdict(m) for m in self.history]}


class Trainer:
    """Fits a classifier on a Dataset; ``on_epoch`` is called with each epoch's metrics.

    With ``noise`` (a ``NoiseModel``) the model trains with that noise injected, scaled per epoch by the
    config's factor and schedule; validation and test run noise-free unless ``model.noisy_eval``."""

    def __init__(self, model: QuantumClassifier, config: TrainConfig | None = None, noise=None):
        self.config = config or TrainConfig()
        self.device = resolve_device(self.config.device)
        self.model = model.to(self.device)
        self.noise = noise

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, batch_size: int = 1024) -> tuple[float, float]:
        """(accuracy, mean cross-entropy) on features x and labels y; the accuracy counts ``model.readout``'s
        predicted classes, as every accuracy in qml does."""
        self.model.eval()
        correct, loss = 0, 0.0
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size].to(self.device), y[i:i + batch_size].to(self.device)
            logits, predicted = self.model.readout(self.model.measure(xb))
            loss += torch.nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((predicted == yb).sum())
        return correct / len(x), loss / len(x)

    def fit(self, data: Dataset, progress: bool | None = None,
            on_epoch: Callable[[EpochMetrics], None] | None = None, checkpoint: Path | None = None,
            resume: bool = False) -> TrainResult:
        """Train; with ``checkpoint`` the state is saved there after every epoch, and ``resume`` continues from
        it (the epochs already done are not repeated; ``on_epoch`` is called only for new epochs)."""
        from tqdm.auto import tqdm

        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        noise_gen = torch.Generator().manual_seed(cfg.seed + 1)
        opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps_per_epoch = math.ceil(len(data.x_train) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch)
        result = TrainResult()
        first = 0
        if resume:
            if checkpoint is None or not checkpoint.exists():
                raise InputError(f"nothing to resume: no checkpoint at {checkpoint}")
            state = load_checkpoint(checkpoint, cfg.epochs)
            try:
                self.model.load_state_dict(state["model"])
                opt.load_state_dict(state["optimizer"])
                sched.load_state_dict(state["scheduler"])
                gen.set_state(state["rng"])
                noise_gen.set_state(state["noise_rng"])
                if self.model.measurer is not None:
                    self.model.measurer.load_state_dict(state["measurer"])
            except (KeyError, RuntimeError, ValueError) as exc:
                raise InputError(f"checkpoint {checkpoint} does not match this run's model or config: "
                                 f"{str(exc).splitlines()[0]}") from None
            first = int(state["epoch"])
            result.history = [EpochMetrics(**m) for m in state["history"]]
        if self.noise is not None:
            self.model.set_noise(self.noise.with_factor(cfg.factor_at(first)), noise_gen)
        bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=first * steps_per_epoch, desc=f"train {data.name}",
                   unit="step", disable=None if progress is None else not progress)
        try:
            for epoch in range(first, cfg.epochs):
                if self.noise is not None and cfg.noise_schedule != "constant":
                    self.model.set_noise(self.noise.with_factor(cfg.factor_at(epoch)))
                metrics = self._epoch(epoch, data, gen, opt, sched, bar)
                result.history.append(metrics)
                if self.model.measurer is not None:
                    self.model.measurer.end_epoch(metrics.epoch)
                if checkpoint is not None:
                    state = {"model": self.model.state_dict(), "optimizer": opt.state_dict(),
                             "scheduler": sched.state_dict(), "rng": gen.get_state(),
                             "noise_rng": noise_gen.get_state(), "epoch": epoch + 1,
                             "history": [asdict(m) for m in result.history]}
                    if self.model.measurer is not None:
                        state["measurer"] = self.model.measurer.state_dict()
                    save_checkpoint(checkpoint, state)
                if on_epoch is not None:
                    on_epoch(metrics)
        finally:
            bar.close()
        result.test_accuracy, result.test_loss = self.evaluate(data.x_test, data.y_test)
        return result

    def _epoch(self, epoch: int, data: Dataset, gen, opt, sched, bar) -> EpochMetrics:
        cfg = self.config
        self.model.train()
        start, total_loss, correct = time.perf_counter(), 0.0, 0
        for idx in torch.randperm(len(data.x_train), generator=gen).split(cfg.batch_size):
            xb, yb = data.x_train[idx].to(self.device), data.y_train[idx].to(self.device)
            logits = self.model(xb)
            loss = torch.nn.functional.cross_entropy(logits, yb)
            post = self.model.post
            if post.levels is not None and cfg.quant_lambda and post.quant_loss is not None:
                loss = loss + cfg.quant_lambda * post.quant_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.model.measurer is not None:
                self.model.measurer.after_backward(self.model.qmodule.theta.grad)
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            bar.update(1)
        valid_acc, _ = self.evaluate(data.x_valid, data.y_valid)
        metrics = EpochMetrics(epoch + 1, total_loss / len(data.x_train), correct / len(data.x_train),
                               valid_acc, time.perf_counter() - start)
        bar.set_postfix(loss=f"{metrics.train_loss:.3f}", valid=f"{valid_acc:.3f}")
        return metrics


def finetune_callback(data: Dataset, config: TrainConfig, noise=None) -> Callable[[QuantumClassifier, int], None]:
    """``finetune(model, epochs)`` as compression passes call it: trains in place with ``config`` for that many
    epochs, with ``noise`` injected when given, and leaves the model noise-free."""
    def finetune(model: QuantumClassifier, epochs: int) -> None:
        Trainer(model, replace(config, epochs=epochs), noise).fit(data, progress=False)
        model.set_noise(None)

    return finetune


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def resolve_device(name: str) -> torch.device:
    """A torch device by name; CUDA only where it is available."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown torch device {name!r}: expected cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"torch device {name!r} requested but CUDA is not available on this machine")
    return device
