"""The predicted class under post-measurement quantization: a tie between quantized logits is broken by the
values before rounding (not by the lowest class index, which is what ``argmax`` does), inputs without a tie get
exactly ``argmax``, and a classifier without quantization reads out exactly ``argmax``. Every accuracy in qml —
``accuracy_from``, ``predict_from``, ``Trainer.evaluate`` — counts this one read-out."""

from __future__ import annotations

import pytest
import torch

import qml
from qml.circuit.library import load_circuit
from qml.train import QuantumClassifier, Trainer
from qml.train.postprocess import predicted_class, tied_top

# ⟨Z⟩ on four wires, chosen by hand; quantized to 5 levels (-2, -1, 0, 1, 2), no normalisation.
Z = torch.tensor([
    [0.6, 1.4, -0.3, 0.2],    # -> [1, 1, 0, 0]: classes 0 and 1 tie; 1.4 > 0.6 before rounding -> class 1
    [-0.2, 0.3, 0.45, -1.0],  # -> [0, 0, 0, -1]: three-way tie; 0.45 is the largest -> class 2
    [2.7, 0.1, 3.5, 1.9],     # -> [2, 0, 2, 2]: 0, 2, 3 tie at the clamp; 3.5 before clamping -> class 2
    [-1.2, 0.9, 1.6, 0.4],    # -> [-1, 1, 2, 0]: no tie -> class 2
], dtype=torch.float64)
Y = torch.tensor([1, 2, 2, 2])
ARGMAX = torch.tensor([0, 0, 0, 2])      # the lowest index among the tied classes
TIE_AWARE = torch.tensor([1, 2, 2, 2])


def classifier(**post) -> QuantumClassifier:
    torch.manual_seed(0)
    return QuantumClassifier(qml.QuantumModule(load_circuit("u3cu3", n_blocks=1)), 4, **post).double().eval()


# -- the kernels -----------------------------------------------------------------------------------------------
def test_ties_at_the_top_are_detected_exactly():
    logits = torch.tensor([[5.0, 5.0, 0.0, -5.0],
                           [5.0, 0.0, 0.0, -5.0],    # a tie below the top is not a tie for the class
                           [0.0, 0.0, 0.0, 0.0],
                           [-5.0, -5.0, -10.0, -10.0],
                           [1.0, torch.nextafter(torch.tensor(1.0), torch.tensor(0.0)).item(), 0.0, 0.0]])
    assert tied_top(logits).tolist() == [True, False, True, True, False]


def test_a_tie_goes_to_the_class_with_the_largest_value_before_rounding():
    logits = torch.tensor([[5.0, 5.0, 0.0], [0.0, 5.0, 5.0]])
    tiebreak = torch.tensor([[0.6, 1.4, 9.0], [0.0, 0.7, 0.9]])  # 9.0 is not at the top: it must not win
    assert logits.argmax(1).tolist() == [0, 1]
    assert predicted_class(logits, tiebreak).tolist() == [1, 2]


def test_a_tie_left_after_the_tiebreak_goes_to_the_lowest_index():
    assert predicted_class(torch.tensor([[0.0, 5.0, 5.0]]), torch.tensor([[3.0, 0.5, 0.5]])).tolist() == [1]


def test_without_a_tie_the_prediction_is_exactly_argmax_whatever_the_tiebreak():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(500, 6, generator=g)
    assert not tied_top(logits).any()
    tiebreak = -logits  # would reverse every decision if it were used
    assert torch.equal(predicted_class(logits, tiebreak), logits.argmax(1))


def test_without_a_tiebreak_the_prediction_is_argmax():
    logits = torch.tensor([[5.0, 5.0, 0.0], [0.0, 1.0, 1.0]])
    assert predicted_class(logits).tolist() == [0, 1]


# -- the classifier ------------------------------------------------------------------------------------------
def test_quantized_classifier_breaks_ties_with_the_values_before_rounding():
    model = classifier(quant_levels=5)
    logits, predicted = model.readout(Z)
    torch.testing.assert_close(logits / model.logit_scale, torch.tensor(
        [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, -1.0], [2.0, 0.0, 2.0, 2.0], [-1.0, 1.0, 2.0, 0.0]],
        dtype=torch.float64), rtol=0, atol=0)
    assert tied_top(logits).tolist() == [True, True, True, False]
    assert torch.equal(logits.argmax(1), ARGMAX)
    assert torch.equal(predicted, TIE_AWARE)


def test_accuracy_from_counts_the_tie_aware_prediction():
    model = classifier(quant_levels=5)
    assert torch.equal(model.predict_from(Z), TIE_AWARE)
    assert model.accuracy_from(Z, Y) == 1.0  # plain argmax: 1 of 4
    assert model.accuracy_from(Z, ARGMAX) == 0.25


def test_evaluate_counts_the_same_prediction_as_accuracy_from():
    model = classifier(quant_levels=5)
    model.measure = lambda x: Z[: len(x)].to(x.device)  # the circuit's outputs replaced by the hand-built ones
    accuracy, loss = Trainer(model).evaluate(torch.zeros(4, 16, dtype=torch.float64), Y)
    assert accuracy == 1.0
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(model.head(Z), Y)), rel=1e-12)


def test_evaluate_and_accuracy_from_agree_on_a_circuit_whose_quantized_logits_tie():
    model = classifier(norm=True, quant_levels=3)
    x = torch.rand(200, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3
    y = torch.randint(0, 4, (200,), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        z = model.qmodule(x)
        logits = model.head(z)
    tied = tied_top(logits)
    assert tied.any()  # else this test could not tell the rules apart
    predicted = model.predict_from(z)
    assert not torch.equal(predicted[tied], logits.argmax(1)[tied])
    assert torch.equal(predicted[~tied], logits.argmax(1)[~tied])
    assert Trainer(model).evaluate(x, y)[0] == model.accuracy_from(z, y) == float((predicted == y).double().mean())


def test_a_classifier_without_quantization_reads_out_exactly_argmax():
    z = torch.tensor([[0.3, 0.3, 0.1, 0.0],     # an exact tie: argmax's lowest index stays
                      [0.1, 0.9, 0.9, 0.0],
                      [-0.5, -0.2, 0.4, -0.1]], dtype=torch.float64)
    for model in (classifier(), classifier(norm=True)):
        logits, predicted = model.readout(z)
        assert torch.equal(predicted, logits.argmax(1))
    assert classifier().predict_from(z).tolist() == [0, 1, 2]
