"""Whether a pass can be applied: to which kind of model (torch layers or a qml circuit), and with which context
fields. Refusals are ``PassError``s that say what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

import qml
from qml.errors import PassError
from qml.passes import CIRCUIT, Pass, PassConfig, PassContext, PassPlan, make_pass
from qml.passes.reference import reference_model
from qml.train import QuantumClassifier

TORCH_ONLY = ["magnitude_prune", "channel_prune", "linear_quant", "qat", "kmeans_quant"]


@pytest.fixture(scope="module")
def circuit_model() -> nn.Module:
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    c.layer("u3").ring("cu3")
    return QuantumClassifier(qml.QuantumModule(c), 4)


def refusal(name: str, model: nn.Module, context: PassContext | None = None, **options) -> str:
    with pytest.raises(PassError) as caught:
        make_pass(name, **options).check(model, context)
    return str(caught.value)


@pytest.mark.parametrize("name", TORCH_ONLY)
def test_torch_only_pass_refuses_a_circuit_model(name, circuit_model):
    message = refusal(name, circuit_model)
    assert message.startswith(f"{name} applies to torch models; QuantumClassifier is a circuit model")


def test_refused_pass_leaves_the_circuit_model_untouched(circuit_model):
    theta = circuit_model.qmodule.theta.detach().clone()
    with pytest.raises(PassError):
        make_pass("magnitude_prune").apply(circuit_model)
    assert torch.equal(circuit_model.qmodule.theta, theta)


def test_distill_accepts_a_circuit_model(circuit_model):
    context = PassContext(teacher=nn.Linear(16, 4), train_loader=[(torch.rand(2, 16), torch.tensor([0, 1]))])
    make_pass("distill").check(circuit_model, context)


@dataclass(frozen=True)
class CircuitOnlyConfig(PassConfig):
    pass


class CircuitOnly(Pass):
    """A pass for circuit models only."""

    name = "circuit_only"
    applies_to = frozenset({CIRCUIT})
    Config = CircuitOnlyConfig

    def plan(self, model: nn.Module) -> PassPlan:
        return PassPlan(self.name, ())

    def run(self, model: nn.Module, context: PassContext):
        return model, {}


def test_circuit_only_pass_refuses_a_torch_model():
    with pytest.raises(PassError, match="circuit_only applies to circuit models; Sequential holds no qml circuit"):
        CircuitOnly().check(reference_model("mlp"))


def test_a_pass_refuses_something_that_is_not_a_module():
    with pytest.raises(PassError, match="applies to a torch.nn.Module, got dict"):
        make_pass("magnitude_prune").check({})


# -- context --------------------------------------------------------------------------------------------------
def test_qat_without_finetune_names_the_missing_field():
    message = refusal("qat", reference_model("mlp"), PassContext(calibration=[torch.rand(4, 64)]))
    assert message.startswith("qat needs finetune in its context")


def test_linear_quant_without_calibration_names_the_missing_field():
    assert refusal("linear_quant", reference_model("mlp")).startswith("linear_quant needs calibration in its context")


def test_weight_only_linear_quant_needs_no_calibration():
    make_pass("linear_quant", act_bits=None).check(reference_model("mlp"), PassContext())


def test_pruning_with_finetune_epochs_needs_finetune():
    message = refusal("magnitude_prune", reference_model("mlp"), finetune_epochs=2)
    assert message.startswith("magnitude_prune needs finetune in its context")


def test_one_shot_pruning_needs_no_context():
    make_pass("magnitude_prune").check(reference_model("mlp"))


def test_distill_without_teacher_names_both_missing_fields():
    assert refusal("distill", reference_model("mlp")).startswith("distill needs teacher, train_loader in its context")


def test_apply_checks_the_context_before_changing_anything():
    model = reference_model("mlp")
    with pytest.raises(PassError, match="needs calibration"):
        make_pass("linear_quant").apply(model)
    assert not any(hasattr(m, "parametrizations") for m in model.modules())
