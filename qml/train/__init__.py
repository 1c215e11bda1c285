"""Room ``train``: the classifier head and the training loop."""

from qml.train.trainer import (
    EpochMetrics,
    QuantumClassifier,
    TrainConfig,
    Trainer,
    TrainResult,
    finetune_callback,
    resolve_device,
)

__all__ = ["EpochMetrics", "QuantumClassifier", "TrainConfig", "Trainer", "TrainResult", "finetune_callback",
           "resolve_device"]
