"""Channel pruning: removes whole output channels of Conv / Linear layers (the least important by weight norm)
together with the matching BatchNorm entries and input channels of the next layer, so the model really gets
smaller and faster. The producer -> consumer chains are found by tracing the model with ``torch.fx``; a layer whose
output branches, is added to another tensor or is the model's output is left alone and reported as skipped."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.utils import parametrize

from qml.errors import PassError
from qml.passes.base import TORCH, Pass, PassContext, PassPlan, PlanItem
from qml.passes.config import PassConfig, option
from qml.passes.layers import set_submodule

PRODUCERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
ELEMENTWISE_MODULES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Tanh, nn.Sigmoid,
                       nn.Hardswish, nn.Hardtanh, nn.Mish, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity,
                       nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
                       nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
ELEMENTWISE_FUNCTIONS = {F.relu, F.relu6, F.gelu, F.silu, F.elu, F.leaky_relu, F.hardswish, torch.relu,
                         torch.tanh, torch.sigmoid, F.dropout, F.max_pool1d, F.max_pool2d, F.avg_pool1d,
                         F.avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d}
ELEMENTWISE_METHODS = {"relu", "tanh", "sigmoid", "contiguous"}
FLATTENS = {torch.flatten, "flatten", "view", "reshape"}


@dataclass(frozen=True)
class ChannelPruneConfig(PassConfig):
    ratio: float = option(0.5, "fraction of each prunable layer's output channels removed", low=0.0, high=1.0,
                          low_open=True, high_open=True)
    criterion: str = option("l1", "channel importance: norm of its weights", choices=("l1", "l2"))
    finetune_epochs: int = option(0, "epochs of finetuning afterwards (needs context.finetune)", low=0)


@dataclass(frozen=True)
class Chain:
    """A producer layer whose output channels can be removed: its BatchNorms, and the one layer consuming it."""

    producer: str
    norms: tuple[str, ...]
    consumer: str
    flattened: bool


def _first_arg_is(node: fx.Node, source: fx.Node) -> bool:
    """``node`` takes ``source`` as its first argument and no other tensor (a reshape may take sizes)."""
    if not node.args or node.args[0] is not source:
        return False
    if node.target in FLATTENS:
        return True
    return not any(isinstance(a, fx.Node) for a in list(node.args[1:]) + list(node.kwargs.values()))


def _follow(gm: fx.GraphModule, start: fx.Node) -> Chain | str:
    """The chain starting at producer node ``start``, or why there is none."""
    modules = dict(gm.named_modules())
    node, norms, flattened = start, [], False
    while True:
        users = list(node.users)
        if len(users) != 1:
            return f"its output is used by {len(users)} operations"
        user = users[0]
        if user.op == "output":
            return "it produces the model's output"
        if not _first_arg_is(user, node):
            return f"its output feeds {user.target} together with other tensors"
        if user.op == "call_module":
            module = modules[user.target]
            if isinstance(module, PRODUCERS):
                if isinstance(module, nn.Linear) != (isinstance(modules[start.target], nn.Linear) or flattened):
                    return f"{user.target} does not take its channels as features"
                if getattr(module, "groups", 1) != 1:
                    return f"{user.target} is a grouped convolution"
                return Chain(start.target, tuple(norms), user.target, flattened)
            if isinstance(module, BATCH_NORMS):
                norms.append(user.target)
            elif isinstance(module, nn.Flatten):
                flattened = True
            elif not isinstance(module, ELEMENTWISE_MODULES):
                return f"it feeds {type(module).__name__} {user.target}"
        elif user.op == "call_function" and user.target in ELEMENTWISE_FUNCTIONS:
            pass
        elif user.op == "call_method" and user.target in ELEMENTWISE_METHODS:
            pass
        elif user.target in FLATTENS:
            flattened = True
        else:
            return f"it feeds {getattr(user.target, '__name__', user.target)}"
        node = user


def find_chains(model: nn.Module) -> tuple[list[Chain], list[tuple[str, str]]]:
    """Prunable chains, and ``(layer, reason)`` for each Conv / Linear layer that cannot be pruned."""
    try:
        gm = fx.symbolic_trace(model)
    except Exception as exc:
        raise PassError(f"channel_prune cannot trace {type(model).__name__} with torch.fx "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
    modules = dict(gm.named_modules())
    chains, skipped = [], []
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], PRODUCERS):
            continue
        if getattr(modules[node.target], "groups", 1) != 1:
            skipped.append((node.target, "grouped convolution"))
            continue
        found = _follow(gm, node)
        if isinstance(found, Chain):
            chains.append(found)
        else:
            skipped.append((node.target, found))
    return chains, skipped


def channel_importance(weight: torch.Tensor, criterion: str) -> torch.Tensor:
    flat = weight.detach().reshape(weight.shape[0], -1)
    return flat.abs().sum(1) if criterion == "l1" else flat.pow(2).sum(1).sqrt()


def _shrunk_producer(layer: nn.Module, keep: torch.Tensor) -> nn.Module:
    if isinstance(layer, nn.Linear):
        new = nn.Linear(layer.in_features, len(keep), bias=layer.bias is not None)
    else:
        new = type(layer)(layer.in_channels, len(keep), layer.kernel_size, layer.stride, layer.padding,
                          layer.dilation, 1, layer.bias is not None, layer.padding_mode)
    new = new.to(layer.weight.device, layer.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(layer.weight[keep])
        if layer.bias is not None:
            new.bias.copy_(layer.bias[keep])
    return new


def _shrunk_norm(norm: nn.Module, keep: torch.Tensor) -> nn.Module:
    new = type(norm)(len(keep), norm.eps, norm.momentum, norm.affine, norm.track_running_stats)
    new = new.to(norm.running_mean.device if norm.running_mean is not None else "cpu")
    with torch.no_grad():
        if norm.affine:
            new.weight.copy_(norm.weight[keep])
            new.bias.copy_(norm.bias[keep])
        if norm.track_running_stats:
            new.running_mean.copy_(norm.running_mean[keep])
            new.running_var.copy_(norm.running_var[keep])
            new.num_batches_tracked.copy_(norm.num_batches_tracked)
    return new


def _shrunk_consumer(layer: nn.Module, keep: torch.Tensor, channels: int, flattened: bool) -> nn.Module:
    if isinstance(layer, nn.Linear):
        per = layer.in_features // channels
        if per * channels != layer.in_features:
            raise PassError(f"channel_prune: {layer} takes {layer.in_features} features, not a multiple of the "
                            f"{channels} channels feeding it")
        columns = (keep[:, None] * per + torch.arange(per)).flatten() if flattened else keep
        new = nn.Linear(len(columns), layer.out_features, bias=layer.bias is not None)
        weight = layer.weight[:, columns]
    else:
        new = type(layer)(len(keep), layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                          layer.dilation, 1, layer.bias is not None, layer.padding_mode)
        weight = layer.weight[:, keep]
    new = new.to(layer.weight.device, layer.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if layer.bias is not None:
            new.bias.copy_(layer.bias)
    return new


class ChannelPrune(Pass):
    """Structured pruning: removes the lowest-norm output channels of Conv / Linear layers."""

    name = "channel_prune"
    applies_to = frozenset({TORCH})
    changes = ("structure", "weights")
    Config = ChannelPruneConfig
    finetune_option = "finetune_epochs"

    def _keep_count(self, channels: int) -> int:
        return max(1, channels - round(self.config.ratio * channels))

    def plan(self, model: nn.Module) -> PassPlan:
        chains, skipped = find_chains(model)
        items = []
        for chain in chains:
            layer = model.get_submodule(chain.producer)
            channels = layer.weight.shape[0]
            items.append(PlanItem(chain.producer, f"output channels {channels} -> {self._keep_count(channels)} "
                                                  f"(and inputs of {chain.consumer})"))
        return PassPlan(self.name, tuple(items), tuple(PlanItem(n, why) for n, why in skipped))

    def run(self, model: nn.Module, context: PassContext):
        chains, _ = find_chains(model)
        if not chains:
            raise PassError(f"channel_prune found no prunable Conv / Linear chain in {type(model).__name__}")
        details = {}
        for chain in chains:
            for name in (chain.producer, chain.consumer, *chain.norms):
                if parametrize.is_parametrized(model.get_submodule(name)):
                    raise PassError(f"channel_prune: {name} already carries a mask or quantizer; "
                                    "apply channel_prune before other passes")
        for chain in chains:
            producer = model.get_submodule(chain.producer)
            channels = producer.weight.shape[0]
            scores = channel_importance(producer.weight, self.config.criterion)
            keep = torch.sort(torch.topk(scores, self._keep_count(channels)).indices).values
            keep = keep.to(producer.weight.device)
            set_submodule(model, chain.producer, _shrunk_producer(producer, keep))
            for norm in chain.norms:
                set_submodule(model, norm, _shrunk_norm(model.get_submodule(norm), keep))
            consumer = model.get_submodule(chain.consumer)
            set_submodule(model, chain.consumer, _shrunk_consumer(consumer, keep.cpu(), channels, chain.flattened))
            details[chain.producer] = f"{channels} -> {len(keep)} channels"
        if self.config.finetune_epochs:
            context.finetune(model, self.config.finetune_epochs)
        return model, {"channels": details}
