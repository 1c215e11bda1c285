"""A plugin declares the qml it works with as a ``Requires-Dist`` on ``qml-robust`` in its own metadata; the
running qml-robust is checked against it when the entry is first asked for, before the plugin is imported, and a
mismatch is that entry's recorded failure. Plugins are throwaway distributions, as in test_registry.py."""

from __future__ import annotations

import sys

import pytest

from qml import passes, plugins
from qml.errors import PluginError
from tests.passes.test_registry import BUILTINS, PLUGIN_MODULES, throwaway

HAVE = plugins.core_version()


@pytest.fixture
def install(monkeypatch):
    """``install(requires...)``: the throwaway pass, declaring those ``Requires-Dist`` lines, first on sys.path."""
    root_count = [0]

    def _install(tmp_path, *requires: str) -> passes.Entry:
        root_count[0] += 1
        monkeypatch.syspath_prepend(str(throwaway(tmp_path / str(root_count[0]), requires)))
        passes.registry.refresh()
        return passes.registry.entry("throwaway_scale")

    yield _install
    passes.registry.refresh()
    for module in PLUGIN_MODULES:
        sys.modules.pop(module, None)


def test_the_running_qml_is_the_installed_distribution():
    import qml

    assert HAVE == qml.__version__


def test_the_requirement_is_read_from_metadata_without_importing_the_plugin(tmp_path, install):
    found = install(tmp_path, "torch>=2", "qml-robust>=0.1")
    assert (found.requires, found.state) == ("qml-robust>=0.1", "not loaded")
    assert "throwaway_pass" not in sys.modules


def test_a_plugin_whose_requirement_is_met_loads(tmp_path, install):
    install(tmp_path, "qml-robust>=0.1,<100")
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"


def test_an_unmet_requirement_is_a_plugin_error_naming_plugin_distribution_and_both_versions(tmp_path, install):
    install(tmp_path, "qml-robust>=9")
    with pytest.raises(PluginError) as caught:
        passes.get_pass("throwaway_scale")
    assert str(caught.value) == (f"pass 'throwaway_scale' (distribution throwaway-pass 0.1) needs qml-robust>=9, "
                                 f"this is qml-robust {HAVE}")


def test_a_plugin_with_an_unmet_requirement_is_failed_and_never_imported(tmp_path, install):
    install(tmp_path, "qml-robust<0.1")
    for _ in range(2):
        with pytest.raises(PluginError, match=f"needs qml-robust<0.1, this is qml-robust {HAVE}"):
            passes.get_pass("throwaway_scale")
    found = passes.registry.entry("throwaway_scale")
    assert found.state == "failed" and found.reason == f"needs qml-robust<0.1, this is qml-robust {HAVE}"
    assert "throwaway_pass" not in sys.modules


def test_load_all_records_the_unmet_requirement_and_loads_the_builtins(tmp_path, install):
    install(tmp_path, "qml-robust>=9")
    states = {e.name: e.state for e in passes.registry.load_all()}
    assert states["throwaway_scale"] == "failed"
    assert all(states[name] == "loaded" for name in BUILTINS)


def test_every_requirement_line_on_qml_counts(tmp_path, install):
    found = install(tmp_path, "qml-robust>=0.1", "qml_robust<0.0.5")
    assert found.requires == "qml-robust<0.0.5,>=0.1"
    with pytest.raises(PluginError, match="needs qml-robust<0.0.5,>=0.1"):
        passes.get_pass("throwaway_scale")


def test_a_differently_spelled_distribution_name_is_the_same_requirement(tmp_path, install):
    assert install(tmp_path, "QML.Robust>=9").requires == "qml-robust>=9"


@pytest.mark.parametrize("requires", [(), ("torch>=2",), ('qml-robust>=9; extra == "full"',), ("qml-robust",),
                                      ("qml-robust-extras>=9",)])
def test_no_version_requirement_on_qml_loads(tmp_path, install, requires):
    install(tmp_path, *requires)
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"


def test_a_development_build_of_qml_satisfies_the_release_requirement(tmp_path, install, monkeypatch):
    monkeypatch.setattr(plugins, "core_version", lambda: "0.2.0.dev1")
    install(tmp_path, "qml-robust>=0.1")
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"


def test_an_older_qml_is_named_in_the_error(tmp_path, install, monkeypatch):
    monkeypatch.setattr(plugins, "core_version", lambda: "0.0.9")
    install(tmp_path, "qml-robust>=0.1")
    with pytest.raises(PluginError, match=r"needs qml-robust>=0\.1, this is qml-robust 0\.0\.9$"):
        passes.get_pass("throwaway_scale")


def test_uninstalled_qml_checks_nothing(tmp_path, install, monkeypatch):
    monkeypatch.setattr(plugins, "core_version", lambda: None)
    install(tmp_path, "qml-robust>=9")
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"


def test_builtins_declare_no_requirement():
    assert all(passes.registry.entry(name).requires == "" for name in BUILTINS)


def test_the_first_party_plugin_declares_and_meets_its_requirement():
    gate_prune = passes.registry.entry("gate_prune")
    assert (gate_prune.distribution, gate_prune.requires) == ("qml-quantum", "qml-robust>=0.1")
    assert passes.get_pass("gate_prune").name == "gate_prune"
