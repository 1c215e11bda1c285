"""The core passes on scikit-learn's digits: what each one promises about accuracy, sparsity, bit widths and
structure, measured on seeded reference models trained once per module.

Run with ``pytest -s`` to see the accuracy figures."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from qml import passes
from qml.errors import PassError
from qml.passes import PassContext
from qml.passes.context import Batches, accuracy, classification_context, fit
from qml.passes.distill import kd_loss
from qml.passes.layers import weight_layers
from qml.passes.parametrizations import FakeQuant, Mask
from qml.passes.reference import load_digits10, reference_model

DENSE_EPOCHS = 15
LR = 3e-3


@dataclass
class Trained:
    model: nn.Module
    accuracy: float


@dataclass
class Compressed:
    model: nn.Module
    report: passes.PassReport


@pytest.fixture(scope="module")
def digits():
    return load_digits10(seed=0)


def fresh_context(data, **kwargs) -> PassContext:
    """A context whose finetuning batches start from the same seed whichever tests run before."""
    return classification_context(data.x_train, data.y_train, data.x_test, data.y_test, **kwargs)


@pytest.fixture(scope="module")
def dense(digits) -> Trained:
    torch.manual_seed(0)
    model = reference_model("mlp")
    fit(model, Batches(digits.x_train, digits.y_train, 64, seed=0), DENSE_EPOCHS, lr=LR)
    return Trained(model, accuracy(model, digits.x_test, digits.y_test))


def compress(dense: Trained, digits, name: str, **options) -> Compressed:
    model, report = passes.apply(copy.deepcopy(dense.model), name, fresh_context(digits), **options)
    return Compressed(model, report)


def weights(model: nn.Module) -> list[torch.Tensor]:
    """Every Linear / Conv weight as the model uses it (through masks and quantizers)."""
    return [layer.weight.detach() for _, layer in weight_layers(model)]


def weight_sparsity(model: nn.Module) -> float:
    ws = weights(model)
    return sum(int((w == 0).sum()) for w in ws) / sum(w.numel() for w in ws)


def most_distinct_per_channel(model: nn.Module) -> int:
    return max(len(torch.unique(row)) for w in weights(model) for row in w.reshape(w.shape[0], -1))


# -- magnitude pruning -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pruned(dense, digits) -> Compressed:
    return compress(dense, digits, "magnitude_prune", sparsity=0.7, steps=3, finetune_epochs=2)


def test_dense_mlp_learns_digits(dense):
    print(f"\ndense MLP accuracy {dense.accuracy:.4f}")
    assert dense.accuracy > 0.93


def test_pruning_to_70_percent_stays_within_2_points_of_dense(dense, pruned):
    print(f"\ndense {dense.accuracy:.4f}, pruned 70% {pruned.report.after.accuracy:.4f}")
    assert pruned.report.after.accuracy >= dense.accuracy - 0.02


def test_pruned_weights_are_70_percent_zeros(pruned):
    assert weight_sparsity(pruned.model) == pytest.approx(0.70, abs=0.01)


def test_pruning_report_counts_the_zeros(pruned):
    before, after = pruned.report.before, pruned.report.after
    n_weights = sum(w.numel() for w in weights(pruned.model))
    assert before.nonzeros - after.nonzeros == round(0.7 * n_weights)


def test_iterative_pruning_ramps_to_the_target_over_its_steps(pruned):
    levels = [step["sparsity"] for step in pruned.report.details["schedule"]]
    assert len(levels) == 3 and levels == sorted(levels) and levels[-1] == pytest.approx(0.7)


def test_pruning_masks_are_parametrizations(pruned):
    for _, layer in weight_layers(pruned.model):
        assert any(isinstance(p, Mask) for p in layer.parametrizations["weight"])


def test_pruned_weights_stay_zero_through_further_training(pruned, digits):
    model = copy.deepcopy(pruned.model)
    zeros = [w == 0 for w in weights(model)]
    before = weights(model)
    fit(model, Batches(digits.x_train, digits.y_train, 64, seed=3), 2, lr=LR)
    after = weights(model)
    for z, w0, w1 in zip(zeros, before, after, strict=True):
        assert (w1[z] == 0).all()
        assert not torch.equal(w0[~z], w1[~z])  # the kept weights did train


def test_layer_scope_prunes_each_layer_to_the_target(dense, digits):
    done = compress(dense, digits, "magnitude_prune", sparsity=0.7, scope="layer")
    for w in weights(done.model):
        assert float((w == 0).float().mean()) == pytest.approx(0.70, abs=0.01)


def test_keep_masks_false_leaves_plain_parameters_with_zeros(dense, digits):
    done = compress(dense, digits, "magnitude_prune", sparsity=0.7, keep_masks=False)
    for _, layer in weight_layers(done.model):
        assert not parametrize.is_parametrized(layer)
        assert isinstance(layer.weight, nn.Parameter)
    assert weight_sparsity(done.model) == pytest.approx(0.70, abs=0.01)


# -- channel pruning -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digit_images():
    return load_digits10(seed=0, images=True)


@pytest.fixture(scope="module")
def channel_pruned(digit_images) -> Compressed:
    """Half the channels of an (untrained: only the structure is checked) reference CNN."""
    torch.manual_seed(0)
    model = reference_model("cnn").eval()
    context = fresh_context(digit_images, measure_latency=True)
    model, report = passes.apply(model, "channel_prune", context, ratio=0.5)
    return Compressed(model, report)


def test_channel_pruning_reduces_the_parameter_count(channel_pruned):
    before, after = channel_pruned.report.before, channel_pruned.report.after
    assert after.parameters < before.parameters / 2


def test_channel_pruning_reduces_the_macs(channel_pruned):
    before, after = channel_pruned.report.before, channel_pruned.report.after
    assert after.macs is not None and before.macs is not None
    assert after.macs < before.macs / 2


def test_channel_pruned_cnn_still_gives_ten_logits_per_image(channel_pruned, digit_images):
    with torch.no_grad():
        assert channel_pruned.model(digit_images.x_test[:7]).shape == (7, 10)


def test_channel_pruned_layer_shapes_agree(channel_pruned):
    conv1, bn1, _, conv2, bn2, _, _, _, fc1, _, fc2 = channel_pruned.model
    assert conv1.out_channels == bn1.num_features == conv2.in_channels == 16
    assert conv2.out_channels == bn2.num_features == 32
    assert fc1.in_features == 32 * 4 * 4
    assert fc1.out_features == fc2.in_features == 32
    assert fc2.out_features == 10


def test_channel_pruning_report_has_latency_figures(channel_pruned):
    for stats in (channel_pruned.report.before, channel_pruned.report.after):
        assert stats.latency_ms is not None and stats.latency_ms > 0


def test_channel_pruning_leaves_the_output_layer_whole(channel_pruned):
    assert ("10", "it produces the model's output") in [(i.target, i.action)
                                                          for i in channel_pruned.report.plan.skipped]


class Residual(nn.Module):
    """``pre`` -> relu -> ``stem``, whose output goes both to ``branch`` and to an add with ``branch``'s output."""

    def __init__(self) -> None:
        super().__init__()
        self.pre, self.stem, self.branch, self.head = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        h = self.stem(torch.relu(self.pre(x)))
        return self.head(h + self.branch(h))


def test_channel_pruning_skips_a_layer_with_two_consumers():
    skipped = dict((i.target, i.action) for i in passes.make_pass("channel_prune").plan(Residual()).skipped)
    assert skipped["stem"] == "its output is used by 2 operations"


def test_channel_pruning_skips_a_layer_feeding_a_residual_add():
    skipped = dict((i.target, i.action) for i in passes.make_pass("channel_prune").plan(Residual()).skipped)
    assert "add" in skipped["branch"] and "together with other tensors" in skipped["branch"]


def test_channel_pruning_changes_only_the_chains_it_can_follow():
    model, _ = passes.apply(Residual(), "channel_prune", ratio=0.5)
    assert (model.pre.out_features, model.stem.in_features) == (4, 4)
    assert (model.stem.out_features, model.branch.in_features, model.branch.out_features) == (8, 8, 8)
    assert model(torch.rand(5, 8)).shape == (5, 3)


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) if x.sum() > 0 else x


def test_channel_pruning_an_untraceable_model_is_a_pass_error():
    with pytest.raises(PassError, match="channel_prune cannot trace DataDependent with torch.fx"):
        passes.apply(DataDependent(), "channel_prune")


# -- int8 post-training quantization ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def int8(dense, digits) -> Compressed:
    return compress(dense, digits, "linear_quant", bits=8)


def test_int8_stays_within_1_point_of_dense(dense, int8):
    print(f"\ndense {dense.accuracy:.4f}, int8 {int8.report.after.accuracy:.4f}")
    assert int8.report.after.accuracy >= dense.accuracy - 0.01


def test_int8_calibrates_on_the_context_batches(int8):
    assert int8.report.details["calibration_batches"] == 16


def test_int8_weights_take_at_most_256_values_per_output_channel(int8):
    assert most_distinct_per_channel(int8.model) <= 2**8


def test_int8_weights_are_scale_times_an_integer(int8):
    for _, layer in weight_layers(int8.model):
        quant = next(p for p in layer.parametrizations["weight"] if isinstance(p, FakeQuant))
        codes = layer.weight.detach() / quant.scale
        torch.testing.assert_close(codes, codes.round(), atol=1e-3, rtol=0)
        assert codes.abs().max() <= 127.001
        assert (quant.zero_point == 0).all()


def test_int8_report_counts_weights_at_one_byte(int8):
    """Weights at 8 bits, biases (not quantized) at 32: about a quarter of the float size."""
    n_weights = sum(w.numel() for w in weights(int8.model))
    n_biases = sum(layer.bias.numel() for _, layer in weight_layers(int8.model))
    before, after = int8.report.before, int8.report.after
    assert before.size_bytes == 4 * (n_weights + n_biases)
    assert after.size_bytes == n_weights + 4 * n_biases
    assert after.size_bytes / before.size_bytes == pytest.approx(0.25, rel=0.05)


# -- 4-bit quantization-aware training -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def qat4(dense, digits) -> Compressed:
    return compress(dense, digits, "qat", bits=4)


def test_qat_4bit_stays_within_3_points_of_dense(dense, qat4):
    print(f"\ndense {dense.accuracy:.4f}, 4-bit QAT {qat4.report.after.accuracy:.4f}")
    assert qat4.report.after.accuracy >= dense.accuracy - 0.03


def test_qat_4bit_weights_take_at_most_16_values_per_output_channel(qat4):
    assert most_distinct_per_channel(qat4.model) <= 2**4


def test_qat_freezes_the_weight_ranges_at_the_end(qat4):
    for _, layer in weight_layers(qat4.model):
        assert all(not p.dynamic for p in layer.parametrizations["weight"] if isinstance(p, FakeQuant))


# -- k-means weight sharing -------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[2, 4], ids=["2bit", "4bit"])
def kmeans(request, dense, digits) -> tuple[int, Compressed]:
    return request.param, compress(dense, digits, "kmeans_quant", bits=request.param)


def test_kmeans_layers_take_at_most_2_to_the_bits_values(kmeans):
    bits, done = kmeans
    for w in weights(done.model):
        assert len(torch.unique(w)) <= 2**bits


def test_kmeans_size_counts_indices_and_the_codebook(kmeans):
    bits, done = kmeans
    layers = [layer for _, layer in weight_layers(done.model)]
    index_bits = sum(layer.weight.numel() * bits for layer in layers)
    codebook_bits = 32 * 2**bits * len(layers)
    bias_bits = sum(32 * layer.bias.numel() for layer in layers)
    assert done.report.after.size_bytes == (index_bits + codebook_bits + bias_bits) / 8


def test_kmeans_keeps_the_mlp_useful(kmeans, dense):
    bits, done = kmeans
    print(f"\ndense {dense.accuracy:.4f}, k-means {bits}-bit {done.report.after.accuracy:.4f}")
    assert done.report.after.accuracy >= dense.accuracy - 0.05


# -- distillation ---------------------------------------------------------------------------------------------
STUDENT_SAMPLES = 200
DISTILL_EPOCHS = 80


@pytest.fixture(scope="module")
def distilled_vs_alone(digits) -> tuple[float, float]:
    """A reference MLP that sees only 200 labelled digits, trained from the same initialization either on the
    outputs of a twice-as-wide MLP trained on all of them or on the labels alone, for the same epochs."""
    torch.manual_seed(0)
    teacher = reference_model("mlp", width=2)
    fit(teacher, Batches(digits.x_train, digits.y_train, 64, seed=1), DENSE_EPOCHS, lr=LR)
    x, y = digits.x_train[:STUDENT_SAMPLES], digits.y_train[:STUDENT_SAMPLES]
    torch.manual_seed(0)
    student = reference_model("mlp")
    alone = copy.deepcopy(student)
    context = PassContext(teacher=teacher, train_loader=Batches(x, y, 32, seed=0))
    passes.apply(student, "distill", context, epochs=DISTILL_EPOCHS, lr=LR)
    fit(alone, Batches(x, y, 32, seed=0), DISTILL_EPOCHS, lr=LR)
    return accuracy(student, digits.x_test, digits.y_test), accuracy(alone, digits.x_test, digits.y_test)


def test_distilled_student_does_at_least_as_well_as_one_trained_alone(distilled_vs_alone):
    distilled, alone = distilled_vs_alone
    print(f"\nstudent on {STUDENT_SAMPLES} digits: distilled {distilled:.4f}, alone {alone:.4f}")
    assert distilled >= alone


def test_kd_loss_is_the_hinton_formula():
    torch.manual_seed(0)
    student, teacher, labels = torch.randn(6, 10), torch.randn(6, 10), torch.randint(0, 10, (6,))
    t, alpha = 3.0, 0.7
    p_teacher = torch.softmax(teacher / t, dim=-1)
    kl = (p_teacher * (p_teacher.log() - torch.log_softmax(student / t, dim=-1))).sum(-1).mean()
    expected = alpha * t**2 * kl + (1 - alpha) * F.cross_entropy(student, labels)
    torch.testing.assert_close(kd_loss(student, teacher, labels, t, alpha), expected)


def test_kd_soft_term_is_zero_when_student_matches_teacher():
    logits = torch.randn(6, 10)
    assert float(kd_loss(logits, logits.clone(), None, 4.0, 1.0)) == pytest.approx(0.0, abs=1e-6)


def test_kd_loss_with_matching_logits_is_the_weighted_label_loss():
    logits, labels = torch.randn(6, 10), torch.randint(0, 10, (6,))
    torch.testing.assert_close(kd_loss(logits, logits.clone(), labels, 4.0, 0.9),
                               0.1 * F.cross_entropy(logits, labels))
