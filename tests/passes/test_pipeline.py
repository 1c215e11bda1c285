"""Pipelines: built from spec strings, (name, options) pairs, JSON and TOML files; passes run in order; a plan
changes nothing; a bad file is an error naming it."""

from __future__ import annotations

import json

import pytest
import torch
from torch.nn.utils import parametrize

from qml.errors import PassError
from qml.passes import Pipeline, classification_context
from qml.passes.layers import weight_layers
from qml.passes.linear_quant import LinearQuant
from qml.passes.magnitude_prune import MagnitudePrune
from qml.passes.parametrizations import FakeQuant, Mask
from qml.passes.reference import load_digits10, reference_model

PRUNE_THEN_INT8 = "magnitude_prune sparsity=0.7 -> linear_quant bits=8"


def summary(pipeline: Pipeline) -> list[tuple[str, dict]]:
    return [(step.name, step.config.as_dict()) for step in pipeline.steps]


@pytest.fixture(scope="module")
def expected() -> list[tuple[str, dict]]:
    return [("magnitude_prune", MagnitudePrune(sparsity=0.7).config.as_dict()),
            ("linear_quant", LinearQuant(bits=8).config.as_dict())]


def test_spec_string_with_arrows_gives_the_passes_in_order(expected):
    assert summary(Pipeline(PRUNE_THEN_INT8)) == expected


def test_list_of_spec_strings_gives_the_passes_in_order(expected):
    assert summary(Pipeline(["magnitude_prune sparsity=0.7", "linear_quant bits=8"])) == expected


def test_list_of_name_and_options_pairs_gives_the_passes_in_order(expected):
    assert summary(Pipeline([("magnitude_prune", {"sparsity": 0.7}), ("linear_quant", {"bits": 8})])) == expected


def test_pass_objects_are_used_as_given():
    prune = MagnitudePrune(sparsity=0.3)
    assert Pipeline([prune]).steps == [prune]


def test_json_file_gives_the_passes_in_order(tmp_path, expected):
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps({"passes": [{"name": "magnitude_prune", "sparsity": 0.7},
                                           {"name": "linear_quant", "bits": 8}]}))
    assert summary(Pipeline.from_file(path)) == expected


def test_toml_file_gives_the_passes_in_order(tmp_path, expected):
    path = tmp_path / "pipeline.toml"
    path.write_text('[[pass]]\nname = "magnitude_prune"\nsparsity = 0.7\n\n[[pass]]\nname = "linear_quant"\nbits = 8\n')
    assert summary(Pipeline.from_file(path)) == expected


def test_an_empty_pipeline_is_rejected():
    with pytest.raises(PassError, match="at least one pass"):
        Pipeline([])


def test_a_spec_with_an_unclosed_quote_is_a_pass_error():
    with pytest.raises(PassError, match="No closing quotation"):
        Pipeline('magnitude_prune sparsity="0.7')


def test_a_spec_word_without_equals_sign_is_a_pass_error():
    with pytest.raises(PassError, match="expected key=value, got 'sparsity'"):
        Pipeline("magnitude_prune sparsity")


# -- bad files ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("filename,text,pattern", [
    ("broken.json", '{"passes": [', "cannot parse"),
    ("broken.toml", "[[pass]\nname = 1\n", "cannot parse"),
    ("steps.json", '{"steps": []}', "expected a list of passes"),
    ("noname.json", '{"passes": [{"sparsity": 0.7}]}', "has no 'name'"),
    ("range.toml", '[[pass]]\nname = "magnitude_prune"\nsparsity = 1.5\n', "option sparsity must be in [0, 1)"),
], ids=["json-syntax", "toml-syntax", "no-passes", "no-name", "bad-option"])
def test_a_bad_file_is_a_pass_error_naming_the_file(tmp_path, filename, text, pattern):
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(PassError) as caught:
        Pipeline.from_file(path)
    assert f"pipeline file {path}" in str(caught.value) and pattern in str(caught.value)


def test_a_missing_file_is_a_pass_error_naming_the_file(tmp_path):
    with pytest.raises(PassError, match="pipeline file .*nowhere.toml does not exist"):
        Pipeline.from_file(tmp_path / "nowhere.toml")


# -- applying and planning ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return load_digits10(seed=0)


@pytest.fixture(scope="module")
def applied(digits):
    """Prune 70% then int8 on an (untrained) reference MLP: only the bookkeeping is checked here."""
    torch.manual_seed(0)
    context = classification_context(digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    return Pipeline(PRUNE_THEN_INT8).apply(reference_model("mlp"), context)


def test_pipeline_reports_each_pass_in_order(applied):
    _, reports = applied
    assert [r.pass_name for r in reports] == ["magnitude_prune", "linear_quant"]


def test_pipeline_report_gives_the_pruned_sparsity(applied):
    model, reports = applied
    n_weights = sum(layer.weight.numel() for _, layer in weight_layers(model))
    assert reports[0].before.nonzeros - reports[0].after.nonzeros == round(0.7 * n_weights)


def test_pipeline_report_gives_the_bit_width(applied):
    _, reports = applied
    assert reports[1].config["bits"] == 8 and reports[1].details["bits"] == 8
    assert reports[1].after.size_bytes < reports[0].after.size_bytes


def test_quantizing_after_pruning_keeps_the_zeros(applied):
    _, reports = applied
    assert reports[1].after.nonzeros == reports[0].after.nonzeros


def test_later_passes_stack_on_earlier_ones(applied):
    model, _ = applied
    for _, layer in weight_layers(model):
        kinds = [type(p) for p in layer.parametrizations["weight"]]
        assert kinds == [Mask, FakeQuant]


def test_plan_changes_nothing():
    torch.manual_seed(0)
    model = reference_model("mlp")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    Pipeline(PRUNE_THEN_INT8).plan(model)
    assert not any(parametrize.is_parametrized(m) for m in model.modules())
    assert model.state_dict().keys() == state.keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_plan_lists_each_pass_and_the_layers_it_changes():
    plans = Pipeline(PRUNE_THEN_INT8).plan(reference_model("mlp"))
    assert [p.pass_name for p in plans] == ["magnitude_prune", "linear_quant"]
    assert [i.target for i in plans[0].items] == ["0.weight", "2.weight", "4.weight"]
    assert plans[1].lines()[0] == "0: weights 8-bit symmetric per channel, inputs 8-bit"


def test_a_file_that_is_not_utf8_is_a_pass_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"passes": [{"name": "magnitude_prune", "note": "café"}]}'.encode("latin-1"))
    with pytest.raises(PassError, match=f"pipeline file {path} is not a UTF-8 text file"):
        Pipeline.from_file(path)
