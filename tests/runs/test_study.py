"""``qml study`` with tiny budgets (digits2, one epoch, a few test inputs, 128 shots): a study end to end with its
table, a study killed after its first cell and resumed (finished cells and finished run folders are not
recomputed, the results equal an uninterrupted study's), verdicts that never claim a winner without the test, the
search-based methods sharing one search, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from qml.cli.main import main
from qml.device import Device
from qml.errors import InputError
from qml.runs import Cell, CellRecord, StudyConfig, study_run
from qml.runs.study_config import StudySearchBudget
from qml.runs.study_report import format_table, summarise

TINY = StudyConfig(methods=["plain", "noise"], devices=["quito"], tasks=["digits2"], seeds=[0, 1], epochs=1,
                   shots=128, limit=12)
SEARCH = StudySearchBudget(super_epochs=1, population=4, parents=2, mutations=1, crossovers=1, generations=2,
                           valid_size=20, space_blocks=1)
CELLS = replace(TINY, devices=["ibm_quito"]).cells()  # the study stores device names as IBM writes them
QUIET = {"say": lambda text: None}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "tiny"
    start = time.perf_counter()
    results = study_run(out, TINY, **QUIET)
    return out, results, time.perf_counter() - start


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """The tiny study stopped while evaluating its second cell (after training it), then resumed; counts what
    each attempt ran."""
    import qml.runs.study as study
    import qml.runs.study_cell as study_cell

    out = tmp_path_factory.mktemp("study") / "killed"
    calls = {"cells": [], "trained": [], "evaluated": 0}
    run_cell, train_run, evaluate_run = study.run_cell, study_cell.train_run, study_cell.evaluate_run

    def counted_cell(study_dir, config, cell):
        calls["cells"].append(cell)
        return run_cell(study_dir, config, cell)

    def counted_train(config, out, **kwargs):
        calls["trained"].append(out)
        return train_run(config, out, **kwargs)

    def failing_evaluate(*args, **kwargs):
        calls["evaluated"] += 1
        if calls["evaluated"] == 2:
            raise KeyboardInterrupt
        return evaluate_run(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study, "run_cell", counted_cell)
        mp.setattr(study_cell, "train_run", counted_train)
        mp.setattr(study_cell, "evaluate_run", failing_evaluate)
        with pytest.raises(KeyboardInterrupt):
            study_run(out, TINY, **QUIET)
        first = dict(calls, cells=list(calls["cells"]), trained=list(calls["trained"]))
        first_cell = (CELLS[0].folder(out) / "cell.json").stat().st_mtime_ns
        calls.update(cells=[], trained=[])
        results = study_run(out, None, resume=True, **QUIET)
    return out, results, first, calls, first_cell


def test_tiny_study_writes_a_cell_folder_per_cell_and_one_table(tiny):
    out, results, seconds = tiny
    assert (out / "study.json").is_file() and (out / "results.json").is_file() and (out / "report.md").is_file()
    for cell in CELLS:
        record = json.loads((cell.folder(out) / "cell.json").read_text())
        assert record["n"] == 12 and len(record["correct"]) == 12 and record["layout"] == [0, 1, 2, 3]
        run = cell.run_folder(out, TINY)
        assert record["run"] == run.relative_to(out).as_posix()
        assert (run / "model.pt").is_file() and (run / "metrics.jsonl").is_file()
    assert [(r.method, r.seeds, r.n) for r in results.rows] == [("plain", [0, 1], [12, 12]),
                                                                ("noise", [0, 1], [12, 12])]
    assert results.reference == "plain" and [c.method for c in results.comparisons] == ["noise"]
    report = (out / "report.md").read_text()
    assert format_table(results) in report and "accuracy-digits2.png" in report
    assert (out / "accuracy-digits2.png").is_file() and (out / "curves-digits2-ibm_quito.png").is_file()
    print(f"tiny study: {seconds:.1f} s")


def test_noise_free_training_is_shared_by_every_devices_cells(tmp_path):
    """plain does not depend on the device: one training per seed, evaluated on each device's twin."""
    import qml.runs.study_cell as study_cell

    trained, train_run = [], study_cell.train_run
    config = replace(TINY, methods=["plain"], devices=["quito", "lima"], seeds=[0])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study_cell, "train_run", lambda rc, out, **kw: (trained.append(out), train_run(rc, out, **kw)))
        study_run(tmp_path / "s", config, **QUIET)
    quito, lima = (json.loads((Cell("digits2", d, 0, "plain").folder(tmp_path / "s") / "cell.json").read_text())
                   for d in ("ibm_quito", "ibm_lima"))
    assert trained == [tmp_path / "s" / "cells" / "digits2" / "noise-free" / "0" / "plain"]
    assert quito["run"] == lima["run"] == "cells/digits2/noise-free/0/plain"
    assert quito["backend"] == "aer:ibm_quito" and lima["backend"] == "aer:ibm_lima"


def test_study_stores_its_config_with_device_names_as_ibm_writes_them(tiny):
    out, _, _ = tiny
    stored = StudyConfig.from_dict(json.loads((out / "study.json").read_text()))
    assert stored == replace(TINY, devices=["ibm_quito"])


def test_a_killed_study_resumes_without_recomputing_finished_cells_or_runs(killed):
    out, _, first, resumed, first_cell = killed
    assert len(first["cells"]) == 2 and len(first["trained"]) == 2  # the second cell was trained, not evaluated
    assert resumed["cells"] == CELLS[1:]
    assert len(resumed["trained"]) == 2  # the second cell's finished run folder was evaluated, not retrained
    assert (CELLS[0].folder(out) / "cell.json").stat().st_mtime_ns == first_cell


def test_a_resumed_study_gives_the_results_of_an_uninterrupted_one(tiny, killed):
    assert killed[1] == tiny[1]


def test_resume_through_the_cli_keeps_every_cell_and_prints_the_table(tiny, capsys):
    out = tiny[0]
    before = {p: p.stat().st_mtime_ns for p in out.glob("cells/**/cell.json")}
    assert main(["study", "--resume", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 cells, 4 done, 0 to run" in printed and "| digits2 | ibm_quito | noise |" in printed
    assert {p: p.stat().st_mtime_ns for p in out.glob("cells/**/cell.json")} == before


def test_a_study_in_use_is_refused_with_one_line_naming_the_holder(tiny):
    from qml.files import FolderLock

    with FolderLock(tiny[0], "qml study --out elsewhere"):
        with pytest.raises(InputError, match="in use by .*qml study --out elsewhere"):
            study_run(tiny[0], None, resume=True, **QUIET)


def _record(seed: int, method: str, correct: list[bool], inputs: str = "same", factor: float | None = None
            ) -> CellRecord:
    return CellRecord("digits2", "ibm_quito", seed, method, factor, f"cells/{seed}/{method}", "aer:ibm_quito", 128,
                      [0, 1, 2, 3], len(correct), sum(correct) / len(correct), correct, f"{inputs}{seed}", None, {})


def _two_seeds(b: int, c: int) -> list[CellRecord]:
    """``noise`` right and ``plain`` wrong on b inputs, the reverse on c, split over two seeds of 10 inputs."""
    records = []
    for seed, (sb, sc) in enumerate(((b - b // 2, c - c // 2), (b // 2, c // 2))):
        noise = [True] * sb + [False] * sc + [True] * (10 - sb - sc)
        plain = [False] * sb + [True] * sc + [True] * (10 - sb - sc)
        records += [_record(seed, "plain", plain), _record(seed, "noise", noise)]
    return records


def test_report_never_claims_beats_when_the_mcnemar_p_is_not_below_005():
    results = summarise(TINY, _two_seeds(b=2, c=8))  # p = 0.109: plain looks better, the test does not say so
    (comparison,) = results.comparisons
    assert (comparison.b, comparison.c, comparison.seeds) == (2, 8, [0, 1])
    assert comparison.p_value == pytest.approx(0.109375)
    assert "beats" not in format_table(results) and "no significant difference (p=0.109)" in format_table(results)


def test_report_names_the_winner_when_the_test_rejects():
    results = summarise(TINY, _two_seeds(b=0, c=10))
    assert results.comparisons[0].verdict == "plain beats noise (p=0.00195)"
    assert "plain beats noise (p=0.00195), 2 seeds pooled" in format_table(results)


def test_one_seed_gives_an_undefined_interval_not_an_invented_one():
    results = summarise(replace(TINY, seeds=[0]), _two_seeds(b=2, c=0)[:2])
    assert results.rows[0].ci_low is None and "CI undefined: 1 seed" in format_table(results)


def test_cells_evaluated_on_different_inputs_are_never_paired():
    records = [_record(0, "plain", [True] * 5), _record(0, "noise", [False] * 5, inputs="other")]
    with pytest.raises(InputError, match="different test inputs"):
        summarise(replace(TINY, seeds=[0]), records)


def test_a_noise_factor_sweep_adds_a_plot_of_accuracy_against_the_factor(tmp_path):
    from qml.runs import RunFolder
    from qml.runs.study_report import write_report

    config = replace(TINY, devices=["ibm_quito"], noise_factors=[0.1, 1.0])
    records = [_record(seed, arm, [True] * (6 + seed + i) + [False] * (4 - seed - i), factor=config.factor_of(arm))
               for seed in (0, 1) for i, arm in enumerate(config.arms())]
    results = summarise(config, records)
    assert [(r.method, r.noise_factor) for r in results.rows] == [("plain", None), ("noise", 0.5),
                                                                  ("noise@0.1", 0.1), ("noise@1", 1.0)]
    with RunFolder.create(tmp_path / "s") as folder:
        report = write_report(folder, config, results, records).read_text()
    assert "![noise-digits2](noise-digits2.png)" in report and (tmp_path / "s" / "noise-digits2.png").is_file()


def test_config_file_in_toml_takes_defaults_for_fields_left_out(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('methods = ["plain", "noise_norm_quant"]\ntasks = ["digits2"]\nseeds = [0, 1]\n'
                    "noise_factors = [0.1, 1.0]\n\n[search]\ngenerations = 3\n")
    config = StudyConfig.from_file(path, epochs=2)
    assert config.methods == ["plain", "noise_norm_quant"] and config.epochs == 2 and config.shots == 1024
    assert config.search.generations == 3 and config.search.population == 40
    assert config.arms() == ["plain", "noise_norm_quant", "noise_norm_quant@0.1", "noise_norm_quant@1"]
    assert config.factor_of("noise_norm_quant@0.1") == 0.1 and config.factor_of("plain") is None
    rc = config.run_config(Cell("digits2", "ibm_quito", 1, "noise_norm_quant@0.1"))
    assert rc.norm and rc.quant_levels == 5 and rc.train.noise_factor == 0.1 and rc.device_name == "ibm_quito"


def test_a_damaged_study_json_is_one_line_naming_the_file_and_field(tiny, tmp_path):
    out = tmp_path / "damaged"
    out.mkdir()
    doc = json.loads((tiny[0] / "study.json").read_text())
    (out / "study.json").write_text(json.dumps({**doc, "shots": "many"}))
    with pytest.raises(InputError, match=r"study\.json: field 'shots' must be an integer"):
        study_run(out, None, resume=True, **QUIET)


@pytest.mark.parametrize("argv, message", [
    (["--methods", "plain,nosie"], "unknown method 'nosie' (did you mean 'noise'?)"),
    (["--devices", "qiuto"], "unknown device 'qiuto' (did you mean 'ibm_quito'?)"),
    (["--tasks", "digit2"], "unknown task 'digit2' (did you mean 'digits2'?)"),
    (["--resume", "--seeds", "0,1"], "--resume continues the study stored in"),
])
def test_bad_input_is_one_line_and_exit_2_before_any_folder_is_made(tmp_path, capsys, argv, message):
    out = tmp_path / "study"
    assert main(["study", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not out.exists()


SEARCH_STUDY = replace(TINY, methods=["human_trivial", "searched", "searched_pruned", "random", "human_searched"],
                       seeds=[0], search=SEARCH)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """The search-based methods on one seed, counting the searches run."""
    import qml.runs.study_cell as study_cell

    out = tmp_path_factory.mktemp("study") / "searched"
    searches = []
    with pytest.MonkeyPatch.context() as mp:
        search_run = study_cell.search_run
        mp.setattr(study_cell, "search_run", lambda *a, **k: searches.append(a) or search_run(*a, **k))
        results = study_run(out, SEARCH_STUDY, **QUIET)
    return out, results, searches


def test_the_help_of_methods_names_every_method(capsys):
    from qml.runs.study_config import METHODS

    with pytest.raises(SystemExit):
        main(["study", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(method in text for method in METHODS)


def test_search_based_methods_share_one_search_per_seed(searched):
    out, results, searches = searched
    assert len(searches) == 1
    seed = out / "cells" / "digits2" / "ibm_quito" / "0"
    winner = json.loads((seed / "search" / "results.json").read_text())["winner"]["layout"]
    cells = {m: json.loads((seed / m / "cell.json").read_text()) for m in SEARCH_STUDY.methods}
    assert cells["searched"]["run"].endswith("search/winner") and cells["searched"]["layout"] == winner
    assert cells["searched_pruned"]["run"].endswith("search/winner/pruned")
    assert cells["random"]["run"].endswith("search/random")
    assert cells["human_trivial"]["layout"] == [0, 1, 2, 3] and cells["human_searched"]["layout"] == winner
    assert cells["human_trivial"]["run"] == cells["human_searched"]["run"]
    assert len({c["inputs"] for c in cells.values()}) == 1
    assert results.reference == "human_trivial" and len(results.comparisons) == 4


def test_human_best_is_the_human_design_trained_on_the_devices_best_layout(searched):
    from qml.runs import load_run, run_cell
    from qml.runs.model import load_run_config

    out = searched[0]
    config = replace(SEARCH_STUDY, devices=["ibm_quito"], methods=[*SEARCH_STUDY.methods, "human_best"])
    with pytest.MonkeyPatch.context() as mp:  # the finished search is reused, never run again
        mp.setattr("qml.runs.study_cell.search_run", lambda *a, **k: pytest.fail("search run again"))
        record = run_cell(out, config, Cell("digits2", "ibm_quito", 0, "human_best"))
    _, _, model = load_run(out / record.run)
    best = list(Device.load("ibm_quito").best_layout(model.qmodule.circuit))  # placed by its structure
    assert record.layout == best
    if best == [0, 1, 2, 3]:  # the trivial layout is the best: the trivial run is the one
        assert record.run.endswith("search/baseline")
    else:
        assert record.run.endswith("search/human_best") and load_run_config(out / record.run).layout == best


def test_the_cli_runs_the_search_based_methods_with_the_train_free_strategy(tmp_path, capsys):
    out = tmp_path / "trainfree"
    config = tmp_path / "study.json"
    config.write_text(json.dumps({"methods": ["searched", "human_best"], "devices": ["quito"], "tasks": ["digits2"],
                                  "seeds": [0], "epochs": 1, "shots": 128, "limit": 12,
                                  "search": {"candidates": 4, "replicas": 2, "prune_ratio": 0.5}}))
    assert main(["study", "--config", str(config), "--strategy", "trainfree", "--out", str(out), "--quiet"]) == 0
    search = out / "cells" / "digits2" / "ibm_quito" / "0" / "search"
    stored = json.loads((search / "config.json").read_text())
    assert stored["strategy"] == "trainfree" and stored["train_free"]["candidates"] == 4
    assert not (search / "super.pt").exists() and len((search / "evaluations.jsonl").read_text().splitlines()) == 4
    assert "searched" in capsys.readouterr().out


def test_the_trainfree_method_shares_its_own_search_next_to_the_studys(tmp_path):
    config = replace(TINY, methods=["searched", "trainfree"], seeds=[0],
                     search=replace(SEARCH, candidates=3, replicas=2))
    study_run(tmp_path / "both", config, **QUIET)
    seed = tmp_path / "both" / "cells" / "digits2" / "ibm_quito" / "0"
    evolution = json.loads((seed / "search" / "config.json").read_text())
    trainfree = json.loads((seed / "search-trainfree" / "config.json").read_text())
    assert evolution["strategy"] == "evolution" and (seed / "search" / "super.pt").is_file()
    assert trainfree["strategy"] == "trainfree" and not (seed / "search-trainfree" / "super.pt").exists()
    record = json.loads((seed / "trainfree" / "cell.json").read_text())
    winner = json.loads((seed / "search-trainfree" / "results.json").read_text())["winner"]
    assert record["run"].endswith("search-trainfree/winner") and record["layout"] == winner["layout"]
