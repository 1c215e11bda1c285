"""Train a quantum classifier: Adam with weight decay, a cosine schedule, per-epoch metrics, a progress bar."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor

from qml.data import Dataset
from qml.errors import InputError
from qml.sim.module import QuantumModule


class QuantumClassifier(torch.nn.Module):
    """Logits = ``logit_scale`` x <Z> of the first ``n_classes`` wires (no classical weights)."""

    def __init__(self, qmodule: QuantumModule, n_classes: int, logit_scale: float = 5.0):
        super().__init__()
        if not 2 <= n_classes <= qmodule.n_outputs:
            raise InputError(f"n_classes must be between 2 and the circuit's {qmodule.n_outputs} outputs, "
                             f"got {n_classes}")
        self.qmodule = qmodule
        self.n_classes = n_classes
        self.logit_scale = logit_scale

    def forward(self, x: Tensor) -> Tensor:
        return self.qmodule(x)[:, : self.n_classes] * self.logit_scale


@dataclass
class TrainConfig:
    """Defaults measured on digits4 (2 blocks U3+CU3): 60 epochs at lr 0.02 reach 0.87-0.90 test accuracy."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 0.02
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not _is_real(self.lr) or not (self.lr > 0 and math.isfinite(self.lr)):
            raise InputError(f"lr must be a positive number, got {self.lr!r}")
        if not _is_real(self.weight_decay) or not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise InputError(f"weight_decay must be >= 0 and finite, got {self.weight_decay!r}")


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
    """Fits a classifier on a Dataset; ``on_epoch`` is called with each epoch's metrics."""

    def __init__(self, model: QuantumClassifier, config: TrainConfig | None = None):
        self.config = config or TrainConfig()
        self.device = resolve_device(self.config.device)
        self.model = model.to(self.device)

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, batch_size: int = 1024) -> tuple[float, float]:
        """(accuracy, mean cross-entropy) on features x and labels y."""
        self.model.eval()
        correct, loss = 0, 0.0
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size].to(self.device), y[i:i + batch_size].to(self.device)
            logits = self.model(xb)
            loss += torch.nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(1) == yb).sum())
        return correct / len(x), loss / len(x)

    def fit(self, data: Dataset, progress: bool | None = None,
            on_epoch: Callable[[EpochMetrics], None] | None = None) -> TrainResult:
        from tqdm.auto import tqdm

        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps_per_epoch = math.ceil(len(data.x_train) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch)
        result = TrainResult()
        bar = tqdm(total=cfg.epochs * steps_per_epoch, desc=f"train {data.name}", unit="step",
                   disable=None if progress is None else not progress)
        for epoch in range(cfg.epochs):
            self.model.train()
            start, total_loss, correct = time.perf_counter(), 0.0, 0
            for idx in torch.randperm(len(data.x_train), generator=gen).split(cfg.batch_size):
                xb, yb = data.x_train[idx].to(self.device), data.y_train[idx].to(self.device)
                logits = self.model(xb)
                loss = torch.nn.functional.cross_entropy(logits, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total_loss += loss.item() * len(idx)
                correct += int((logits.argmax(1) == yb).sum())
                bar.update(1)
            valid_acc, _ = self.evaluate(data.x_valid, data.y_valid)
            metrics = EpochMetrics(epoch + 1, total_loss / len(data.x_train), correct / len(data.x_train),
                                   valid_acc, time.perf_counter() - start)
            result.history.append(metrics)
            bar.set_postfix(loss=f"{metrics.train_loss:.3f}", valid=f"{valid_acc:.3f}")
            if on_epoch is not None:
                on_epoch(metrics)
        bar.close()
        result.test_accuracy, result.test_loss = self.evaluate(data.x_test, data.y_test)
        return result


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
