"""Building a ``PassContext`` for a classification model from tensors: accuracy on a held-out split, an Adam
finetuning loop, calibration batches and a training loader."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from qml.passes.base import PassContext
from qml.train import QuantumClassifier


class Batches:
    """Re-iterable mini-batches of ``(x, y)``, reshuffled on every pass with a seeded generator."""

    def __init__(self, x: Tensor, y: Tensor, batch_size: int = 64, shuffle: bool = True, seed: int = 0) -> None:
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = torch.randperm(len(self.x), generator=self.generator) if self.shuffle else torch.arange(len(self.x))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x[idx], self.y[idx]


def accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1024) -> float:
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size].to(device)
            if isinstance(model, QuantumClassifier):  # its one prediction rule (tie-aware quantized read-out)
                predicted = model.readout(model.measure(xb))[1]
            else:
                predicted = model(xb).argmax(-1)
            correct += int((predicted.cpu() == y[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / len(x)


def fit(model: nn.Module, loader, epochs: int, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
    """Adam on cross-entropy for ``epochs`` over ``loader``; a fresh optimizer over the trainable parameters."""
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()


def classification_context(x_train: Tensor, y_train: Tensor, x_eval: Tensor, y_eval: Tensor, *,
                           batch_size: int = 64, finetune_lr: float = 1e-3, teacher: nn.Module | None = None,
                           seed: int = 0, measure_latency: bool = False, log=None) -> PassContext:
    """Everything the core passes can ask for, from a training split and an evaluation split."""
    loader = Batches(x_train, y_train, batch_size, seed=seed)
    calibration = Batches(x_train, y_train, batch_size, shuffle=False)
    return PassContext(
        evaluate=lambda m: accuracy(m, x_eval, y_eval),
        finetune=lambda m, epochs: fit(m, loader, epochs, finetune_lr),
        calibration=calibration,
        train_loader=loader,
        teacher=teacher,
        example_input=x_eval[:batch_size],
        measure_latency=measure_latency,
        log=log,
    )
