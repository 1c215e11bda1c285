"""Shared helpers of the circuit passes: finding the circuit module, wrapping angles, exporting a pruned circuit
and counting its gates after transpiling to a device."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from qml import QuantumModule
from qml.errors import PassError


def circuit_module(model: nn.Module, pass_name: str) -> QuantumModule:
    found = [m for m in model.modules() if isinstance(m, QuantumModule)]
    if len(found) != 1:
        raise PassError(f"{pass_name} needs a model holding exactly one qml circuit (QuantumModule), "
                        f"found {len(found)}")
    return found[0]


def wrap(theta: Tensor, period: Tensor | float = 2 * math.pi) -> Tensor:
    """Angles wrapped to (-period/2, period/2] (default (-pi, pi]); an infinite period leaves the angle as it is."""
    period = torch.as_tensor(period, dtype=theta.dtype, device=theta.device)
    finite = torch.isfinite(period)
    safe = torch.where(finite, period, torch.ones_like(period))
    return torch.where(finite, safe / 2 - torch.remainder(safe / 2 - theta, safe), theta)


def expression_slots(module: QuantumModule) -> set[int]:
    """Trainable slots read inside angle expressions (``qml.Expr``): not a gate's rotation angle, so they are
    neither pruned nor wrapped nor quantized."""
    return {i for op in module.circuit.ops for ref in op.params if ref.kind == "expr" for i in ref.expr.leaves("slot")}


def used_slots(module: QuantumModule) -> Tensor:
    """Indices of the trainable slots the circuit's gates use as rotation angles (a searched subcircuit leaves most
    of its SuperCircuit's slots unused); slots inside angle expressions are left out."""
    used = {ref.index for op in module.circuit.ops for ref in op.params if ref.kind == "trainable"}
    return torch.tensor(sorted(used - expression_slots(module)), dtype=torch.long)


# angles whose period is 4 pi: a controlled rotation by 2 pi is a Z on the control, not the identity
_FOUR_PI = {("crx", 0), ("cry", 0), ("crz", 0), ("cu3", 0)}


def angle_periods(module: QuantumModule) -> Tensor:
    """Per trainable slot, the period after which its gate repeats exactly: 4 pi for the rotation angle of a
    controlled rotation, 2 pi otherwise (divided by the slot's scale); infinite for a slot read inside an angle
    expression."""
    periods = torch.full((module.theta.numel(),), 2 * math.pi, dtype=torch.float64)
    for op in module.circuit.ops:
        for position, ref in enumerate(op.params):
            if ref.kind == "trainable" and ref.scale:
                base = 4 * math.pi if (op.gate, position) in _FOUR_PI else 2 * math.pi
                periods[ref.index] = max(float(periods[ref.index]), base / abs(ref.scale))
    periods[sorted(expression_slots(module))] = math.inf
    return periods


def effective_theta(module: QuantumModule) -> list[float]:
    return module.theta.detach().cpu().double().tolist()


def exported_circuit(module: QuantumModule):
    """The module's circuit without the gates its (masked) angles make the identity, and the angles to bind."""
    from qml.circuit import drop_identity_gates

    theta = effective_theta(module)
    return drop_identity_gates(module.circuit, theta), theta


def transpiled_counts(module: QuantumModule, device: str, layout=None) -> dict:
    """1- and 2-qubit gate counts and depth of the exported circuit transpiled to ``device``'s target."""
    from qml.device import Device

    circuit, theta = exported_circuit(module)
    return Device.load(device).transpiled_counts(circuit, theta, layout)
