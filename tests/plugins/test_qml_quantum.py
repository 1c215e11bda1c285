"""The first-party plugin ``qml-quantum`` (``plugins/qml-quantum``): its passes are found through the ``qml.passes``
entry points, the core works without it, and each pass does what it says on circuit models. Circuits are checked
against qiskit's ``Statevector`` and ``Operator``."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import qml_quantum  # noqa: E402  (installed by the README's set-up commands, as CI does)
import torch
from qiskit.quantum_info import Operator, Statevector
from qml_quantum.angle_quant import quantize_angles  # noqa: E402
from qml_quantum.angles import angle_periods, exported_circuit  # noqa: E402
from torch import nn

import qml
from qml.data import load_task
from qml.errors import PassError
from qml.passes import Pass, PassContext, make_pass
from qml.passes.context import Batches
from qml.plugins import DISABLE_ENV
from qml.train import QuantumClassifier
from tests.cli.test_cli import Done
from tests.cli.test_passes_cli import columns, ok

ROOT = Path(__file__).resolve().parents[2]
QML = [shutil.which("qml")] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]
ENV = {**{k: v for k, v in os.environ.items() if k != DISABLE_ENV}, "PYTHONWARNINGS": "ignore",
       "OMP_NUM_THREADS": "1"}
DISABLED = {**ENV, DISABLE_ENV: "1"}
PLUGIN_PASSES = ["angle_quant", "circuit_distill", "gate_prune", "measure_norm", "measure_quant"]
TWO_PI = 2 * math.pi


@pytest.fixture(scope="module")
def runs():
    """The subprocesses of this module, started at once: ``qml passes list`` with and without the plugins, and
    a core test module with the plugins disabled."""
    commands = {
        "list": (QML + ["passes", "list"], ENV),
        "list_disabled": (QML + ["passes", "list"], DISABLED),
        "core_disabled": ([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/passes/test_applicability.py"], DISABLED),
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (cmd, env) in commands.items()}
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        results[name] = Done(proc.returncode, stdout, stderr)
    return results


@pytest.fixture(scope="module")
def digits():
    """64 training samples of digits4 (16 features, 4 classes)."""
    data = load_task("digits4")
    return data.x_train[:64], data.y_train[:64]


def u3cu3(blocks: int = 2) -> qml.Circuit:
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    for _ in range(blocks):
        c.layer("u3").ring("cu3")
    return c


def classifier(blocks: int = 2) -> QuantumClassifier:
    """48 trainable angles with the default two blocks."""
    return QuantumClassifier(qml.QuantumModule(u3cu3(blocks)), 4)


def set_theta(model: QuantumClassifier, values) -> None:
    with torch.no_grad():
        model.qmodule.theta.copy_(torch.as_tensor(values, dtype=model.qmodule.theta.dtype))


def effective(model: QuantumClassifier) -> torch.Tensor:
    """The angles the circuit runs with (after masks and quantizers), in float64."""
    return model.qmodule.theta.detach().double()


def effective_input(angles: torch.Tensor) -> list[float]:
    """Angles as the module stores them (float32)."""
    return angles.to(torch.float32).double().tolist()


def random_angles(n: int, bound: float, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1) * bound


def adam_finetune(x, y, steps: int = 3, lr: float = 0.05, calls: list | None = None):
    """A ``PassContext.finetune`` callback: ``steps`` Adam steps per epoch on (x, y); records each call."""

    def finetune(model: nn.Module, epochs: int) -> None:
        if calls is not None:
            calls.append((epochs, int((effective(model) == 0).sum())))
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
        for _ in range(steps * epochs):
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return finetune


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))


def on_levels(angles: torch.Tensor, levels: torch.Tensor) -> bool:
    return bool((angles[:, None] - levels[None, :]).abs().min(1).values.max() < 1e-5)


# -- registration ----------------------------------------------------------------------------------------------
def test_passes_list_shows_the_plugin_passes_from_qml_quantum(runs):
    rows = columns(ok(runs["list"]))
    for name in PLUGIN_PASSES:
        assert rows[name][1:3] == ["circuit", "qml-quantum"] and rows[name][4] == "loaded", rows[name]


@pytest.mark.parametrize("name", PLUGIN_PASSES)
def test_each_plugin_pass_is_made_by_name(name):
    made = make_pass(name)
    assert isinstance(made, Pass) and made.name == name
    assert type(made).__module__.startswith("qml_quantum.")


# -- the core without the plugin -------------------------------------------------------------------------------
def test_core_pass_tests_pass_with_plugins_disabled(runs):
    done = runs["core_disabled"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_passes_list_shows_the_plugin_passes_disabled(runs):
    stdout = ok(runs["list_disabled"])
    rows = columns(stdout)
    for name in PLUGIN_PASSES:
        assert rows[name][2:] == ["qml-quantum", qml_quantum.__version__, "disabled"], rows[name]
        assert f"  {name}: third-party plugins disabled by {DISABLE_ENV}" in stdout.splitlines()
    assert rows["magnitude_prune"][4] == "loaded"


# -- gate_prune ------------------------------------------------------------------------------------------------
def test_a_controlled_rotation_by_two_pi_is_not_pruned_as_if_it_were_the_identity():
    model = classifier()
    angles = torch.full((48,), 1.0)
    cu3_theta = next(op.params[0].index for op in model.qmodule.circuit.ops if op.gate == "cu3")
    angles[cu3_theta] = TWO_PI + 0.01  # a Z on the control: far from the identity
    set_theta(model, angles)
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)
    assert effective(model)[cu3_theta] != 0


def test_one_shot_prune_zeroes_the_half_of_the_angles_smallest_after_wrapping():
    model = classifier()
    angles = random_angles(48, 2 * TWO_PI)  # many angles beyond +-pi: their size is that of the wrapped angle
    set_theta(model, angles)
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)
    periods = angle_periods(model.qmodule).tolist()  # 4 pi for the angle of a controlled rotation
    wrapped = [abs(math.remainder(float(a), p)) for a, p in zip(effective_input(angles), periods, strict=True)]
    smallest = set(np.argsort(wrapped)[:24].tolist())
    pruned = set(torch.nonzero(effective(model) == 0).flatten().tolist())
    assert pruned == smallest


def test_one_shot_prune_keeps_the_other_angles_unchanged():
    model = classifier()
    before = effective(model).clone()
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)
    kept = effective(model) != 0
    assert int(kept.sum()) == 24
    assert torch.equal(effective(model)[kept], before[kept])


def test_pruned_angles_stay_zero_through_training(digits):
    model = classifier()
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)
    pruned = effective(model) == 0
    before = effective(model).clone()
    x, y = digits
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-2)
    for _ in range(3):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = effective(model)
    assert torch.equal(after == 0, pruned)
    assert not torch.allclose(after[~pruned], before[~pruned])


def designed_angles(circuit: qml.Circuit) -> tuple[torch.Tensor, list[int]]:
    """Angles of which the 24 smallest are all three angles of three gates and one or two of every other gate,
    so pruning half of them makes exactly those three gates the identity. Returns them and the three ops."""
    angles = 0.5 + random_angles(circuit.n_trainable, 2.5, seed=1).abs()
    trainable_ops = [i for i, op in enumerate(circuit.ops) if op.params[0].kind == "trainable"]
    whole = [trainable_ops[0], trainable_ops[5], trainable_ops[8]]  # a U3 and a CU3 of block 1, a U3 of block 2
    small = [ref.index for i in whole for ref in circuit.ops[i].params]
    small += [circuit.ops[i].params[0].index for i in trainable_ops if i not in whole]
    small += [circuit.ops[trainable_ops[1]].params[1].index, circuit.ops[trainable_ops[2]].params[1].index]
    assert len(set(small)) == 24
    angles[small] = torch.linspace(0.01, 0.2, 24, dtype=torch.float64)
    return angles, whole


def test_pruned_circuit_exports_without_the_pruned_gates():
    model = classifier()
    circuit = model.qmodule.circuit
    angles, whole = designed_angles(circuit)
    set_theta(model, angles)
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)
    exported, _ = exported_circuit(model.qmodule)
    assert exported.ops == [op for i, op in enumerate(circuit.ops) if i not in whole]
    assert exported.n_trainable == 48


def test_pruned_circuit_export_has_the_masked_modules_state(digits):
    model = classifier()
    set_theta(model, designed_angles(model.qmodule.circuit)[0])
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)
    exported, theta = exported_circuit(model.qmodule)
    x = digits[0][:3]
    states = model.qmodule.statevector(x).detach().numpy()
    for sample, state in zip(x, states, strict=True):
        reference = Statevector(qml.to_qiskit(exported, theta=theta, x=sample.double().tolist()))
        np.testing.assert_allclose(state, reference.data, atol=1e-5)


def test_pruned_circuit_export_has_the_operator_of_the_full_circuit_with_masked_angles(digits):
    model = classifier()
    set_theta(model, designed_angles(model.qmodule.circuit)[0])
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(model)
    exported, theta = exported_circuit(model.qmodule)
    x = digits[0][0].double().tolist()
    full = Operator(qml.to_qiskit(model.qmodule.circuit, theta=theta, x=x))
    assert Operator(qml.to_qiskit(exported, theta=theta, x=x)) == full


def test_start_ratio_above_ratio_is_refused_before_anything_changes():
    model = classifier()
    with pytest.raises(PassError, match="gate_prune: start_ratio 0.6 exceeds ratio 0.5"):
        make_pass("gate_prune", ratio=0.5, start_ratio=0.6, finetune_epochs=0).apply(model)
    assert not hasattr(model.qmodule, "parametrizations")


def test_gate_prune_refuses_a_plain_torch_model():
    with pytest.raises(PassError, match="gate_prune applies to circuit models; Sequential holds no qml circuit"):
        make_pass("gate_prune", finetune_epochs=0).apply(mlp())


def test_gate_prune_with_finetuning_needs_a_finetune_callback():
    with pytest.raises(PassError, match="gate_prune needs finetune in its context"):
        make_pass("gate_prune", finetune_epochs=1).apply(classifier())


def test_iterative_schedule_ramps_from_start_ratio_to_ratio(digits):
    model = classifier()
    options = {"ratio": 0.5, "start_ratio": 0.1, "steps": 3, "finetune_epochs": 2}
    _, report = make_pass("gate_prune", **options).apply(model, PassContext(finetune=adam_finetune(*digits)))
    assert [entry["ratio"] for entry in report.details["schedule"]] == pytest.approx([0.1, 0.3, 0.5])
    assert report.details["pruned_angles"] == 24 and int((effective(model) == 0).sum()) == 24


def test_iterative_schedule_finetunes_after_each_step(digits):
    calls = []
    context = PassContext(finetune=adam_finetune(*digits, calls=calls))
    make_pass("gate_prune", ratio=0.5, start_ratio=0.1, steps=3, finetune_epochs=2).apply(classifier(), context)
    assert calls == [(2, 5), (2, 14), (2, 24)]  # (epochs, angles pruned so far): round(0.1, 0.3, 0.5 x 48)


# -- angle_quant -----------------------------------------------------------------------------------------------
def levels(k: int) -> torch.Tensor:
    return -math.pi + TWO_PI * torch.arange(k, dtype=torch.float64) / k


def on_angle_levels(model, k: int) -> bool:
    """Angles of period 2 pi on the k levels of [-pi, pi); a controlled rotation's angle (period 4 pi) on the
    same grid over [-2 pi, 2 pi)."""
    two_pi = angle_periods(model.qmodule) < 3 * math.pi
    wide = -TWO_PI + TWO_PI * torch.arange(2 * k, dtype=torch.float64) / k
    values = effective(model)
    return on_levels(values[two_pi], levels(k)) and on_levels(values[~two_pi], wide)


def test_three_bit_angles_take_the_eight_levels():
    model = classifier()
    set_theta(model, random_angles(48, 3 * math.pi))
    _, report = make_pass("angle_quant", bits=3).apply(model)
    assert on_angle_levels(model, 8)
    assert report.details["levels"] == 8


def test_three_bit_angles_are_the_nearest_level_on_the_circle():
    model = classifier()
    angles = random_angles(48, 3 * math.pi)
    set_theta(model, angles)
    make_pass("angle_quant", bits=3).apply(model)
    periods = angle_periods(model.qmodule).tolist()
    distance = [abs(math.remainder(q - a, p))
                for q, a, p in zip(effective(model).tolist(), effective_input(angles), periods, strict=True)]
    assert max(distance) <= math.pi / 8 + 1e-6


def test_clifford_angles_are_multiples_of_half_pi():
    model = classifier()
    set_theta(model, random_angles(48, 3 * math.pi))
    make_pass("angle_quant", clifford=True).apply(model)
    assert on_angle_levels(model, 4)  # multiples of pi/2


def test_quantization_aware_finetuning_keeps_angles_on_the_levels(digits):
    model = classifier()
    calls = []
    make_pass("angle_quant", bits=3, epochs=2).apply(model, PassContext(finetune=adam_finetune(*digits, calls=calls)))
    assert [epochs for epochs, _ in calls] == [2]
    assert on_angle_levels(model, 8)


def test_quantization_aware_finetuning_trains_the_original_angles(digits):
    model = classifier()
    before = model.qmodule.theta.detach().clone()
    make_pass("angle_quant", bits=3, epochs=2).apply(model, PassContext(finetune=adam_finetune(*digits)))
    assert not torch.allclose(model.qmodule.parametrizations.theta.original.detach(), before)


def test_angle_quantizer_passes_the_gradient_straight_through(digits):
    x, y = digits
    model = classifier()
    make_pass("angle_quant", bits=3).apply(model)
    plain = QuantumClassifier(qml.QuantumModule(model.qmodule.circuit), 4)  # the quantized angles, no quantizer
    set_theta(plain, effective(model))
    for m in (model, plain):
        nn.functional.cross_entropy(m(x), y).backward()
    grad = model.qmodule.parametrizations.theta.original.grad
    assert grad is not None and bool((grad != 0).any())
    torch.testing.assert_close(grad, plain.qmodule.theta.grad)


@pytest.mark.parametrize(("angle", "expected"), [
    (math.pi - 0.01, -math.pi),      # pi is the level -pi, the range is [-pi, pi)
    (math.pi, -math.pi),
    (-math.pi, -math.pi),
    (-math.pi + 0.01, -math.pi),
    (-math.pi - 0.01, -math.pi),
    (math.pi - 0.5, 3 * math.pi / 4),
    (TWO_PI + 0.1, 0.0),
    (-TWO_PI - 3 * math.pi / 4 - 0.1, -3 * math.pi / 4),
])
def test_quantize_angles_wraps_near_plus_minus_pi(angle, expected):
    q = quantize_angles(torch.tensor([angle], dtype=torch.float64), 3)
    assert float(q[0]) == pytest.approx(expected, abs=1e-12)


def test_fine_quantization_keeps_a_controlled_rotation_beyond_pi():
    c = qml.Circuit(2)
    c.add("h", 0).add("ry", 1, 0.3).add("cu3", (0, 1)).add("h", 0)
    module = qml.QuantumModule(c, dtype=torch.complex128)
    with torch.no_grad():
        module.theta.copy_(torch.tensor([3.5, 0.2, -0.4], dtype=torch.float64))
    before = module().detach().clone()
    make_pass("angle_quant", bits=12).apply(module)
    torch.testing.assert_close(module().detach(), before, atol=1e-2, rtol=0)


def test_slots_inside_angle_expressions_are_neither_quantized_nor_pruned():
    c = qml.Circuit(2)
    a, b = c.new_trainable(), c.new_trainable()
    c.add("ry", 0, qml.Trainable(a)).add("rx", 1, qml.Expr.slot(b) ** 2 * qml.Expr.feature(0)).add("cx", (0, 1))
    module = qml.QuantumModule(c, dtype=torch.complex128)
    with torch.no_grad():
        module.theta.copy_(torch.tensor([0.05, 7.3], dtype=torch.float64))  # slot b: 7.3 ** 2 is no angle mod 2 pi
    make_pass("angle_quant", bits=3).apply(module)
    assert float(module.theta[1].detach()) == pytest.approx(7.3, abs=1e-12)
    assert float(module.theta[0].detach()) == 0.0  # ry's angle is on a level
    c.add("rz", 1, None)  # a third slot, a gate's angle
    pruned = qml.QuantumModule(c, dtype=torch.complex128)
    with torch.no_grad():
        pruned.theta.copy_(torch.tensor([0.05, 0.01, 0.9], dtype=torch.float64))
    make_pass("gate_prune", ratio=0.5, steps=1, finetune_epochs=0).apply(pruned)
    assert pruned.theta.detach().tolist() == pytest.approx([0.0, 0.01, 0.9])  # the smaller gate angle of two


# -- measure_norm, measure_quant -------------------------------------------------------------------------------
def test_measure_norm_switches_on_the_classifiers_normalisation(digits):
    model = classifier().eval()
    make_pass("measure_norm").apply(model)
    assert model.post.norm
    z = model.post(model.qmodule(digits[0]))
    torch.testing.assert_close(z.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(0), torch.ones(4), atol=1e-4, rtol=0)


def test_measure_quant_switches_on_the_classifiers_quantization():
    model = classifier()
    _, report = make_pass("measure_quant", levels=5).apply(model)
    assert model.post.levels == 5 and report.details["levels"] == 5


def test_measure_quant_outputs_take_at_most_levels_values(digits):
    model = classifier().eval()
    make_pass("measure_quant", levels=5).apply(model)
    values = set(torch.unique(model(digits[0]).detach() / model.logit_scale).tolist())
    assert values <= {-2.0, -1.0, 0.0, 1.0, 2.0}


@pytest.mark.parametrize("name", ["measure_norm", "measure_quant"])
def test_measurement_passes_refuse_a_circuit_model_that_is_not_a_classifier(name):
    with pytest.raises(PassError, match=f"{name} applies to a qml QuantumClassifier .*got QuantumModule"):
        make_pass(name).apply(qml.QuantumModule(u3cu3()))


# -- circuit_distill -------------------------------------------------------------------------------------------
@pytest.fixture
def teacher() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4))


def test_distillation_lowers_the_students_loss(digits, teacher):
    context = PassContext(teacher=teacher, train_loader=Batches(*digits, batch_size=16))
    _, report = make_pass("circuit_distill", epochs=2, lr=0.05).apply(classifier(blocks=1), context)
    first, last = report.details["epoch_loss"]
    assert last < first


def test_distillation_leaves_the_teacher_unchanged(digits, teacher):
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    context = PassContext(teacher=teacher, train_loader=Batches(*digits, batch_size=16))
    make_pass("circuit_distill", epochs=1, lr=0.05).apply(classifier(blocks=1), context)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key])


def test_distillation_without_teacher_names_both_missing_fields():
    with pytest.raises(PassError, match="circuit_distill needs teacher, train_loader in its context"):
        make_pass("circuit_distill").apply(classifier(blocks=1))


def test_distillation_without_a_loader_names_it(teacher):
    with pytest.raises(PassError, match="circuit_distill needs train_loader in its context"):
        make_pass("circuit_distill").apply(classifier(blocks=1), PassContext(teacher=teacher))
