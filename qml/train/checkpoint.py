"""Training checkpoints: written atomically, read with ``weights_only=True`` and checked field by field."""

from __future__ import annotations

from pathlib import Path

import torch

from qml.errors import InputError

EPOCH_FIELDS = {"epoch", "train_loss", "train_accuracy", "valid_accuracy", "seconds"}  # qml.train.EpochMetrics


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: a killed process leaves the previous checkpoint, never half a file."""
    from qml.files import write_atomic

    write_atomic(path, lambda tmp: torch.save(state, tmp))


_CHECKPOINT_FIELDS = {"model": dict, "optimizer": dict, "scheduler": dict, "rng": torch.Tensor,
                      "noise_rng": torch.Tensor, "epoch": int, "history": list}


def load_checkpoint(path: Path, epochs: int | None = None, history_keys: set[str] | None = None) -> dict:
    """Load with ``weights_only=True`` (no arbitrary objects are unpickled) and check every field: one clear
    error naming the file and the field if it is corrupt, of the wrong type or out of range."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"checkpoint {path} is corrupted or not a qml checkpoint "
                         f"({type(exc).__name__}); delete it to start over") from None
    if not isinstance(state, dict):
        raise InputError(f"checkpoint {path} is not a qml training checkpoint (it holds a {type(state).__name__})")
    missing = set(_CHECKPOINT_FIELDS) - set(state)
    if missing:
        raise InputError(f"checkpoint {path} is not a qml training checkpoint (missing {', '.join(sorted(missing))})")
    for name, kind in _CHECKPOINT_FIELDS.items():
        if not isinstance(state[name], kind) or isinstance(state[name], bool):
            raise InputError(f"checkpoint {path}: field {name!r} must be a {kind.__name__}, got "
                             f"{type(state[name]).__name__}")
    epoch = state["epoch"]
    if epoch < 0 or (epochs is not None and epoch > epochs):
        limit = "" if epochs is None else f" to {epochs}"
        raise InputError(f"checkpoint {path}: field 'epoch' is {epoch}, expected 0{limit}")
    keys = history_keys or EPOCH_FIELDS
    history = state["history"]
    if len(history) != epoch or not all(isinstance(m, dict) and set(m) == keys for m in history):
        raise InputError(f"checkpoint {path}: field 'history' must hold one metrics row per epoch done ({epoch})")
    for name, value in state["model"].items():
        if not torch.is_tensor(value):
            raise InputError(f"checkpoint {path}: model entry {name!r} is not a tensor")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise InputError(f"checkpoint {path}: model entry {name!r} holds NaN or infinite values")
    return state
