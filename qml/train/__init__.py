"""Room ``train``: the classifier head and the training loop."""

from qml.train.postprocess import PostMeasurement
from qml.train.trainer import (
    EpochMetrics,
    QuantumClassifier,
    TrainConfig,
    Trainer,
    TrainResult,
    finetune_callback,
    resolve_device,
)

__all__ = ["PostMeasurement", "EpochMetrics", "QuantumClassifier", "TrainConfig", "Trainer", "TrainResult",
           "finetune_callback", "resolve_device"]
