"""Pass configurations: typed fields with documented ranges; values from text are converted, and every bad value
is one clear line naming the pass, the option and what is allowed."""

from __future__ import annotations

import pytest

from qml.errors import PassError
from qml.passes import make_pass
from qml.passes.linear_quant import LinearQuantConfig
from qml.passes.magnitude_prune import MagnitudePruneConfig


def error_of(name: str, **options) -> str:
    with pytest.raises(PassError) as caught:
        make_pass(name, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_sparsity_above_one_names_pass_option_and_range():
    assert error_of("magnitude_prune", sparsity=1.5) == "magnitude_prune: option sparsity must be in [0, 1), got 1.5"


def test_zero_bits_names_pass_option_and_range():
    assert error_of("linear_quant", bits=0) == "linear_quant: option bits must be in [2, 16], got 0"


def test_out_of_range_text_value_is_rejected_like_a_python_one():
    assert error_of("linear_quant", bits="0") == "linear_quant: option bits must be in [2, 16], got 0"


def test_a_value_outside_the_choices_lists_them():
    assert error_of("magnitude_prune", scope="row") == ("magnitude_prune: option scope must be one of global, "
                                                        "layer, got 'row'")


def test_text_that_is_not_an_int_is_a_type_error():
    assert error_of("linear_quant", bits="eight") == "linear_quant: option bits expects int, got 'eight'"


def test_a_float_for_an_int_option_is_a_type_error():
    assert error_of("linear_quant", bits=2.5) == "linear_quant: option bits expects int, got 2.5"


def test_a_bool_for_an_int_option_is_a_type_error():
    assert error_of("linear_quant", bits=True) == "linear_quant: option bits expects int, got True"


def test_a_non_finite_float_is_rejected():
    assert "must be finite" in error_of("distill", temperature=float("inf"))


def test_unknown_option_suggests_the_closest_and_lists_the_options():
    message = error_of("magnitude_prune", sparsty=0.5)
    assert message.startswith("magnitude_prune: unknown option 'sparsty' (did you mean 'sparsity'?)")
    assert "options are sparsity, scope, steps, schedule, finetune_epochs, bias, keep_masks" in message


@pytest.mark.parametrize("text,value", [("true", True), ("yes", True), ("1", True), ("false", False),
                                        ("no", False), ("0", False)])
def test_text_converts_to_bool(text, value):
    assert make_pass("magnitude_prune", bias=text).config.bias is value


def test_text_converts_to_int():
    assert make_pass("magnitude_prune", steps="3").config.steps == 3


def test_text_converts_to_float():
    assert make_pass("magnitude_prune", sparsity="0.5").config.sparsity == 0.5


@pytest.mark.parametrize("text", ["none", "None", "null", "off"])
def test_text_converts_to_none_for_an_optional_option(text):
    assert make_pass("linear_quant", act_bits=text).config.act_bits is None


def test_text_converts_to_the_int_of_an_optional_int():
    assert make_pass("linear_quant", act_bits="4").config.act_bits == 4


def test_an_int_for_a_float_option_becomes_a_float():
    sparsity = make_pass("magnitude_prune", sparsity=0).config.sparsity
    assert sparsity == 0.0 and isinstance(sparsity, float)


def test_unset_options_keep_their_defaults():
    assert make_pass("magnitude_prune", sparsity=0.5).config == MagnitudePruneConfig(sparsity=0.5)


def test_a_config_object_and_keyword_options_together_are_rejected():
    with pytest.raises(PassError, match="not both"):
        make_pass("magnitude_prune", MagnitudePruneConfig(), sparsity=0.5)


def test_another_pass_config_object_is_rejected():
    with pytest.raises(PassError, match="expected a MagnitudePruneConfig, got LinearQuantConfig"):
        make_pass("magnitude_prune", LinearQuantConfig())


def test_describe_lists_every_field_with_type_default_range_and_doc():
    options = {o.name: o for o in LinearQuantConfig.describe()}
    assert list(options) == ["bits", "granularity", "symmetric", "act_bits", "observer", "percentile",
                             "calibration_batches"]
    bits = options["bits"]
    assert (bits.type, bits.default, bits.allowed, bits.doc) == ("int", 8, "[2, 16]", "weight bit width")
    assert options["act_bits"].type == "int | None"
    assert options["granularity"].allowed == "channel | tensor"
    assert all(o.doc for o in options.values())


def test_describe_shows_open_interval_ends():
    sparsity = next(o for o in MagnitudePruneConfig.describe() if o.name == "sparsity")
    assert sparsity.allowed == "[0, 1)"
