"""The pass registry: names come from ``qml.passes`` entry points and are imported only when asked for; broken,
conflicting, duplicated and disabled plugins are reported clearly and break nothing else.

Plugins are throwaway distributions (a module and a ``.dist-info`` folder) in a temporary folder, put on
``sys.path`` in-process or on ``PYTHONPATH`` for console-script runs (launched together by one module fixture)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from qml import passes
from qml.errors import PluginError
from qml.passes.reference import reference_model
from qml.plugins import DISABLE_ENV, core_version
from tests.cli.test_cli import Done

BUILTINS = ["channel_prune", "distill", "kmeans_quant", "linear_quant", "magnitude_prune", "qat"]
PASS_MODULES = ["qml.passes.channel_prune", "qml.passes.distill", "qml.passes.kmeans_quant",
                "qml.passes.linear_quant", "qml.passes.magnitude_prune", "qml.passes.quant_aware_training"]
QML = [shutil.which("qml")] if shutil.which("qml") else [sys.executable, "-m", "qml.cli.main"]

THROWAWAY_SOURCE = textwrap.dedent('''
    from dataclasses import dataclass

    import torch
    from torch import nn

    from qml.passes import Pass, PassConfig, PassPlan, PlanItem, option


    @dataclass(frozen=True)
    class ThrowawayScaleConfig(PassConfig):
        factor: float = option(2.0, "multiplies every Linear weight", low=0.0, low_open=True)


    class ThrowawayScale(Pass):
        """Multiplies every Linear weight by a factor."""

        name = "throwaway_scale"
        changes = ("weights",)
        Config = ThrowawayScaleConfig

        def plan(self, model):
            return PassPlan(self.name, (PlanItem("model", f"Linear weights x {self.config.factor:g}"),))

        def run(self, model, context):
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, nn.Linear):
                        m.weight.mul_(self.config.factor)
            return model, {"factor": self.config.factor}


    NOT_A_PASS = 42
''')
BROKEN_SOURCE = 'raise RuntimeError("broken plugin exploded on import")\n'
EXITING_SOURCE = 'import sys\n\nsys.exit("exiting plugin gave up on import")\n'
PLUGIN_MODULES = ["throwaway_pass", "broken_pass", "exiting_pass", "interrupting_pass", "raising_pass"]


def write_distribution(root: Path, name: str, version: str, entries: dict[str, str],
                       modules: dict[str, str] | None = None, requires: tuple[str, ...] = ()) -> Path:
    """An installed distribution as ``importlib.metadata`` finds it: ``NAME-VERSION.dist-info`` with METADATA (and
    a ``Requires-Dist`` line per ``requires``) and entry_points.txt (group ``qml.passes``), next to its modules."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{lines}")
    lines = "".join(f"{key} = {target}\n" for key, target in entries.items())
    (info / "entry_points.txt").write_text(f"[qml.passes]\n{lines}")
    for module, source in (modules or {}).items():
        (root / f"{module}.py").write_text(source)
    return root


def throwaway(root: Path, requires: tuple[str, ...] = (), **extra_entries: str) -> Path:
    entries = {"throwaway_scale": "throwaway_pass:ThrowawayScale", **extra_entries}
    return write_distribution(root, "throwaway-pass", "0.1", entries, {"throwaway_pass": THROWAWAY_SOURCE},
                              requires)


def broken(root: Path) -> Path:
    return write_distribution(root, "broken-pass", "1.2", {"broken": "broken_pass:Broken"},
                              {"broken_pass": BROKEN_SOURCE})


def exiting(root: Path) -> Path:
    """A plugin whose module calls ``sys.exit`` when imported."""
    return write_distribution(root, "exiting-pass", "0.3", {"exiting": "exiting_pass:Exiting"},
                              {"exiting_pass": EXITING_SOURCE})


@pytest.fixture
def install(monkeypatch):
    """``install(root, ...)`` puts the roots first on ``sys.path`` (in the order given) and re-reads the
    registry; afterwards the registry is re-read and the plugin modules are forgotten."""

    def _install(*roots: Path) -> None:
        for root in reversed(roots):
            monkeypatch.syspath_prepend(str(root))
        passes.registry.refresh()

    yield _install
    passes.registry.refresh()
    for module in PLUGIN_MODULES:
        sys.modules.pop(module, None)


def entry(name: str) -> passes.Entry:
    return passes.registry.entry(name)


# -- built-ins ------------------------------------------------------------------------------------------------
def test_builtins_are_listed_with_the_core_distribution():
    builtins = {e.name: e for e in passes.available() if e.name in BUILTINS}
    assert sorted(builtins) == BUILTINS
    assert all(e.distribution == "qml-robust" and e.builtin for e in builtins.values())


def test_unknown_name_suggests_the_closest_and_lists_the_installed():
    with pytest.raises(PluginError) as caught:
        passes.get_pass("magnitude_prun")
    message = str(caught.value)
    assert message.startswith("unknown pass 'magnitude_prun' (did you mean 'magnitude_prune'?); installed: ")
    assert all(name in message for name in BUILTINS)


# -- a throwaway distribution ---------------------------------------------------------------------------------
def test_throwaway_pass_is_listed_with_its_distribution(tmp_path, install):
    install(throwaway(tmp_path))
    found = entry("throwaway_scale")
    assert (found.distribution, found.version, found.state) == ("throwaway-pass", "0.1", "not loaded")
    assert not found.builtin


def test_listing_does_not_import_the_throwaway_module(tmp_path, install):
    install(throwaway(tmp_path))
    assert "throwaway_scale" in [e.name for e in passes.available()]
    assert "throwaway_pass" not in sys.modules


def test_throwaway_pass_applies_and_changes_the_model(tmp_path, install):
    install(throwaway(tmp_path))
    model = reference_model("mlp")
    before = model[0].weight.detach().clone()
    model, report = passes.apply(model, "throwaway_scale", factor=3.0)
    torch.testing.assert_close(model[0].weight.detach(), 3 * before)
    assert report.details == {"factor": 3.0} and entry("throwaway_scale").state == "loaded"


def test_entry_point_to_a_non_pass_object_is_recorded_as_failed(tmp_path, install):
    install(throwaway(tmp_path, not_a_pass="throwaway_pass:NOT_A_PASS"))
    with pytest.raises(PluginError, match="not a subclass of qml.passes.Pass"):
        passes.get_pass("not_a_pass")
    assert entry("not_a_pass").state == "failed"


def test_pass_registered_under_another_name_is_recorded_as_failed(tmp_path, install):
    install(throwaway(tmp_path, scale_by="throwaway_pass:ThrowawayScale"))
    with pytest.raises(PluginError, match="named 'throwaway_scale'"):
        passes.get_pass("scale_by")
    assert entry("scale_by").state == "failed"
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"


# -- a broken plugin ------------------------------------------------------------------------------------------
def test_asking_for_a_broken_plugin_raises_plugin_error_caused_by_its_exception(tmp_path, install):
    install(broken(tmp_path))
    with pytest.raises(PluginError) as caught:
        passes.get_pass("broken")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert str(caught.value.__cause__) == "broken plugin exploded on import"


def test_broken_plugin_error_names_distribution_version_and_exception(tmp_path, install):
    install(broken(tmp_path))
    with pytest.raises(PluginError) as caught:
        passes.get_pass("broken")
    assert str(caught.value) == ("pass 'broken' from broken-pass 1.2 failed to load: "
                                 "RuntimeError: broken plugin exploded on import")


def test_broken_plugin_fails_the_same_way_every_time_it_is_asked_for(tmp_path, install):
    install(broken(tmp_path))
    causes = []
    for _ in range(2):
        with pytest.raises(PluginError) as caught:
            passes.get_pass("broken")
        causes.append(caught.value.__cause__)
    assert causes[0] is causes[1]


def test_other_passes_still_apply_with_a_broken_plugin_installed(tmp_path, install):
    install(broken(tmp_path))
    with pytest.raises(PluginError):
        passes.get_pass("broken")
    model, report = passes.apply(reference_model("mlp"), "magnitude_prune", sparsity=0.5)
    assert report.after.nonzeros < report.before.nonzeros


def test_load_all_records_the_broken_plugin_without_raising(tmp_path, install):
    install(broken(tmp_path))
    states = {e.name: e.state for e in passes.registry.load_all()}
    assert states["broken"] == "failed"
    assert all(states[name] == "loaded" for name in BUILTINS)


def test_a_plugin_raising_plugin_error_on_import_failed_to_load_like_any_other(tmp_path, install):
    source = 'from qml.errors import PluginError\n\nraise PluginError("needs a newer torch")\n'
    install(write_distribution(tmp_path, "raising-pass", "0.2", {"raising": "raising_pass:R"},
                               {"raising_pass": source}))
    with pytest.raises(PluginError) as caught:
        passes.get_pass("raising")
    assert str(caught.value) == "pass 'raising' from raising-pass 0.2 failed to load: PluginError: needs a newer torch"
    assert isinstance(caught.value.__cause__, PluginError)


# -- a plugin that calls sys.exit or is interrupted while importing ----------------------------------------------
def test_a_plugin_calling_sys_exit_on_import_raises_plugin_error_caused_by_system_exit(tmp_path, install):
    install(exiting(tmp_path))
    with pytest.raises(PluginError) as caught:
        passes.get_pass("exiting")
    assert str(caught.value) == ("pass 'exiting' from exiting-pass 0.3 failed to load: "
                                 "SystemExit: exiting plugin gave up on import")
    assert isinstance(caught.value.__cause__, SystemExit)
    assert entry("exiting").state == "failed"


def test_sys_exit_without_a_message_is_reported_by_its_type(tmp_path, install):
    install(write_distribution(tmp_path, "exiting-pass", "0.3", {"exiting": "exiting_pass:Exiting"},
                               {"exiting_pass": "import sys\n\nsys.exit()\n"}))
    with pytest.raises(PluginError, match="failed to load: SystemExit$"):
        passes.get_pass("exiting")


def test_load_all_records_a_plugin_calling_sys_exit_and_loads_the_rest(tmp_path, install):
    install(exiting(tmp_path / "a"), throwaway(tmp_path / "b"))
    states = {e.name: e.state for e in passes.registry.load_all()}
    assert states["exiting"] == "failed"
    assert all(states[name] == "loaded" for name in [*BUILTINS, "throwaway_scale"])


def test_keyboard_interrupt_while_importing_a_plugin_is_not_swallowed(tmp_path, install):
    install(write_distribution(tmp_path, "interrupting-pass", "0.1", {"interrupting": "interrupting_pass:P"},
                               {"interrupting_pass": "raise KeyboardInterrupt\n"}))
    with pytest.raises(KeyboardInterrupt):
        passes.get_pass("interrupting")
    assert entry("interrupting").state == "not loaded"


# -- two distributions, one name ------------------------------------------------------------------------------
def test_one_name_claimed_by_two_targets_names_both_distributions(tmp_path, install):
    install(write_distribution(tmp_path / "a", "clash-a", "1.0", {"clash": "clash_a:Clash"}),
            write_distribution(tmp_path / "b", "clash-b", "2.0", {"clash": "clash_b:Clash"}))
    with pytest.raises(PluginError) as caught:
        passes.get_pass("clash")
    message = str(caught.value)
    assert "clash-a 1.0 (clash_a:Clash)" in message and "clash-b 2.0 (clash_b:Clash)" in message
    assert entry("clash").state == "conflict"


def test_a_conflict_leaves_the_other_names_working(tmp_path, install):
    install(write_distribution(tmp_path / "a", "clash-a", "1.0", {"clash": "clash_a:Clash"}),
            throwaway(tmp_path / "b", clash="clash_b:Clash"))
    with pytest.raises(PluginError):
        passes.get_pass("clash")
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"
    assert passes.get_pass("magnitude_prune").name == "magnitude_prune"


def test_same_target_from_two_distributions_is_not_a_conflict(tmp_path, install):
    install(throwaway(tmp_path / "a"),
            write_distribution(tmp_path / "b", "throwaway-alias", "0.1",
                               {"throwaway_scale": "throwaway_pass:ThrowawayScale"}))
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"
    assert entry("throwaway_scale").rivals == []


def test_second_copy_of_a_distribution_on_sys_path_is_shadowed(tmp_path, install):
    install(throwaway(tmp_path / "first"), throwaway(tmp_path / "second"))
    assert passes.get_pass("throwaway_scale").name == "throwaway_scale"
    shadowed = [Path(s.location).parent for s in passes.registry.shadowed if s.distribution == "throwaway-pass"]
    assert shadowed == [tmp_path / "second"]


# -- QML_DISABLE_PLUGINS --------------------------------------------------------------------------------------
def test_disabled_plugin_is_listed_as_disabled(tmp_path, install, monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "1")
    install(throwaway(tmp_path))
    assert entry("throwaway_scale").state == "disabled"


def test_asking_for_a_disabled_plugin_mentions_the_variable(tmp_path, install, monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "1")
    install(throwaway(tmp_path))
    with pytest.raises(PluginError, match=f"throwaway-pass 0.1.*disabled by {DISABLE_ENV}"):
        passes.get_pass("throwaway_scale")
    assert "throwaway_pass" not in sys.modules


def test_builtins_load_when_plugins_are_disabled(tmp_path, install, monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "1")
    install(throwaway(tmp_path))
    assert [passes.get_pass(name).name for name in BUILTINS] == BUILTINS


def test_disable_list_names_the_distributions_to_skip(tmp_path, install, monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "broken_pass")
    install(throwaway(tmp_path / "a"), broken(tmp_path / "b"))
    assert (entry("broken").state, entry("throwaway_scale").state) == ("disabled", "not loaded")


# -- real processes -------------------------------------------------------------------------------------------
LISTING_SCRIPT = textwrap.dedent("""
    import json, sys
    import qml
    from qml import passes
    entries = passes.available()
    print(json.dumps({"states": {e.name: e.state for e in entries},
                      "modules": sorted(m for m in sys.modules if m.startswith("qml.passes.") or "_pass" in m)}))
""")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Done]:
    """Fresh interpreters with plugins on PYTHONPATH, started concurrently."""
    base = tmp_path_factory.mktemp("plugins")
    good, copy, bad = throwaway(base / "throwaway"), throwaway(base / "throwaway_copy"), broken(base / "broken")
    exits = exiting(base / "exiting")
    needy = write_distribution(base / "needy", "needy-pass", "2.0", {"needy_scale": "needy_pass:NeedyScale"},
                               {"needy_pass": THROWAWAY_SOURCE.replace("throwaway_scale", "needy_scale")
                                                              .replace("ThrowawayScale", "NeedyScale")},
                               requires=("torch>=2", "qml-robust>=9"))
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    env.update(PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")  # four processes share the cores

    def path(*roots: Path) -> dict[str, str]:
        return {**env, "PYTHONPATH": os.pathsep.join(str(r) for r in roots)}

    commands = {
        "listing": ([sys.executable, "-c", LISTING_SCRIPT], path(bad)),
        "list": (QML + ["passes", "list"], path(good, bad)),
        "apply": (QML + ["passes", "apply", "throwaway_scale factor=2", "--model", "mlp", "--epochs", "1"],
                  path(good)),
        "plugins": (QML + ["plugins"], path(good, copy, bad)),
        "plugins_exit_needs": (QML + ["plugins"], path(good, exits, needy)),
    }
    procs = {name: subprocess.Popen(cmd, cwd=base, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (cmd, e) in commands.items()}
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        results[name] = Done(proc.returncode, stdout, stderr)
    return results


def row(stdout: str, name: str) -> list[str]:
    """The columns of the table row naming ``name`` in its first or second column (columns are separated by two
    or more spaces)."""
    rows = [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines()]
    found = [r for r in rows if name in r[:2]]
    assert len(found) == 1, stdout
    return found[0]


def test_listing_imports_no_pass_module(runs):
    listing = json.loads(runs["listing"].stdout)
    assert set(BUILTINS) | {"broken"} <= set(listing["states"])
    assert not set(PASS_MODULES + PLUGIN_MODULES) & set(listing["modules"])


def test_import_qml_works_with_a_broken_plugin_installed(runs):
    assert runs["listing"].returncode == 0, runs["listing"].stderr
    assert json.loads(runs["listing"].stdout)["states"]["broken"] == "not loaded"


def test_console_script_lists_the_throwaway_pass(runs):
    assert runs["list"].returncode == 0, runs["list"].stderr
    assert row(runs["list"].stdout, "throwaway_scale") == ["throwaway_scale", "torch", "throwaway-pass", "0.1",
                                                           "loaded"]


def test_console_script_applies_the_throwaway_pass(runs):
    done = runs["apply"]
    assert done.returncode == 0, done.stderr
    assert "dense mlp: test accuracy" in done.stdout
    assert "throwaway_scale: params 17226 -> 17226" in done.stdout


def test_passes_list_shows_the_broken_plugin_as_failed(runs):
    stdout = runs["list"].stdout
    assert row(stdout, "broken") == ["broken", "?", "broken-pass", "1.2", "failed"]
    assert "  broken: RuntimeError: broken plugin exploded on import" in stdout.splitlines()


def test_passes_list_still_loads_the_builtins_beside_a_broken_plugin(runs):
    assert all(row(runs["list"].stdout, name)[-1] == "loaded" for name in BUILTINS)


def test_qml_plugins_reports_the_broken_plugin_with_its_exception(runs):
    assert row(runs["plugins"].stdout, "broken")[2:] == ["broken-pass", "1.2", "-", "failed",
                                                         "RuntimeError: broken plugin exploded on import"]


def test_qml_plugins_exits_2_with_one_error_line_when_a_plugin_failed(runs):
    done = runs["plugins"]
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["qml: error: some plugins failed to load (see REASON above)"]


def test_qml_plugins_shows_the_shadowed_copy(runs):
    lines = [line for line in runs["plugins"].stdout.splitlines() if line.startswith("shadowed:")]
    assert len(lines) == 1 and lines[0].startswith("shadowed: throwaway-pass 0.1 at ")
    assert "throwaway_copy" in lines[0]
    assert row(runs["plugins"].stdout, "throwaway_scale")[5] == "loaded"


def test_qml_plugins_lists_a_plugin_calling_sys_exit_as_failed_and_goes_on(runs):
    done = runs["plugins_exit_needs"]
    assert row(done.stdout, "exiting")[2:] == ["exiting-pass", "0.3", "-", "failed",
                                               "SystemExit: exiting plugin gave up on import"]
    assert row(done.stdout, "throwaway_scale")[5] == "loaded"
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["qml: error: some plugins failed to load (see REASON above)"]


def test_qml_plugins_shows_an_unmet_qml_requirement_as_failed(runs):
    assert row(runs["plugins_exit_needs"].stdout, "needy_scale")[2:] == [
        "needy-pass", "2.0", "qml-robust>=9", "failed", f"needs qml-robust>=9, this is qml-robust {core_version()}"]
