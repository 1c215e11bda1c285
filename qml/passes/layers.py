"""Finding and replacing the layers that torch-model passes work on."""

from __future__ import annotations

from torch import nn

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every Linear / Conv layer, in definition order, outside qml circuits."""
    from qml.sim import QuantumModule

    circuit_prefixes = [n for n, m in model.named_modules() if isinstance(m, QuantumModule)]
    out = []
    for name, module in model.named_modules():
        inside = any(name.startswith(p + ".") for p in circuit_prefixes if p)
        if isinstance(module, WEIGHT_LAYERS) and not inside:
            out.append((name or "model", module))
    return out


def set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)
