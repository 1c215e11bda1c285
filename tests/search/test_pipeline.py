"""The QuantumNAS pipeline in a run folder, with tiny budgets: what a finished run holds, and that a search killed
in the middle of the co-search resumes without evaluating a candidate twice and picks the same winner."""

from __future__ import annotations

import json

import pytest

from qml.cli.main import main
from qml.search.evolution import EvolutionConfig
from qml.search.fitness import FitnessFunction
from qml.search.pipeline import SearchConfig, run_search
from qml.search.supercircuit import SuperTrainConfig

CONFIG = SearchConfig(space_options={"n_blocks": 2}, valid_size=60, super_train=SuperTrainConfig(epochs=1),
                      evolution=EvolutionConfig(population=6, parents=2, mutations=2, crossovers=1, generations=3),
                      retrain_epochs=1, shots=128)
KILL_AFTER = 8  # evaluations: the kill lands in the second generation


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("search") / "run"
    return run, run_search(run, CONFIG, quiet=True)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """A search killed after ``KILL_AFTER`` evaluations, then resumed; counts the evaluations of each attempt."""
    run = tmp_path_factory.mktemp("search") / "killed"
    calls = []
    call = FitnessFunction.__call__

    def counted(kill: bool):
        def evaluate(self, *args, **kwargs):
            if kill and len(calls) == KILL_AFTER:
                raise KeyboardInterrupt
            calls.append(kill)
            return call(self, *args, **kwargs)
        return evaluate

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(FitnessFunction, "__call__", counted(kill=True))
        with pytest.raises(KeyboardInterrupt):
            run_search(run, CONFIG, quiet=True)
        assert len(_lines(run / "evaluations.jsonl")) == KILL_AFTER
        mp.setattr(FitnessFunction, "__call__", counted(kill=False))
        results = run_search(run, CONFIG, resume=True, quiet=True)
    return run, results, calls


def test_results_compare_winner_random_and_baseline_with_and_without_noise(finished):
    _, results = finished
    for key in ("winner", "random", "baseline"):
        assert 0 <= results[key]["noise_free"] <= 1 and 0 <= results[key]["aer"] <= 1, key
    assert json.loads((finished[0] / "results.json").read_text()) == results


def test_winner_is_pruned_through_the_plugin(finished):
    winner = finished[1]["winner"]
    assert 0 <= winner["pruned_aer"] <= 1 and winner["pruned_transpiled"]["two_qubit"] >= 0


def test_report_holds_the_table_and_both_plots(finished):
    run, _ = finished
    report = (run / "report.md").read_text()
    assert "| circuit | gene | layout | noise-free | Aer twin | after pruning (Aer) |" in report
    assert "| searched |" in report and "| random search |" in report and "| human U3+CU3 2 blocks |" in report
    assert "![fitness](fitness.png)" in report and "![layout](layout.png)" in report
    assert (run / "fitness.png").stat().st_size > 0 and (run / "layout.png").stat().st_size > 0


def test_evaluations_hold_one_line_per_distinct_candidate(finished):
    rows = _lines(finished[0] / "evaluations.jsonl")
    assert len(rows) == len({row["fingerprint"] for row in rows})
    assert {row["stage"] for row in rows} == {"evolution", "random"}


def test_generations_are_logged_one_line_each(finished):
    rows = _lines(finished[0] / "generations.jsonl")
    assert [row["generation"] for row in rows] == [1, 2, 3]
    assert rows[-1]["best_gene"] == finished[1]["winner"]["gene"]


def test_winner_folder_is_a_run_that_qml_eval_reads(finished, capsys):
    run, results = finished
    config = json.loads((run / "winner" / "config.json").read_text())
    assert (config["space"], config["gene"], config["layout"]) == ("u3cu3", results["winner"]["gene"],
                                                                    results["winner"]["layout"])
    assert main(["eval", str(run / "winner"), "--limit", "10"]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_resumed_search_evaluates_no_candidate_twice(resumed):
    run, _, calls = resumed
    rows = _lines(run / "evaluations.jsonl")
    assert len(rows) == len({row["fingerprint"] for row in rows}) == len(calls)
    assert calls.count(True) == KILL_AFTER


def test_resumed_search_picks_the_winner_of_an_uninterrupted_one(resumed, finished):
    for key in ("winner", "random"):
        assert (resumed[1][key]["gene"], resumed[1][key]["layout"]) == (finished[1][key]["gene"],
                                                                        finished[1][key]["layout"])


def test_resumed_search_logs_each_generation_once(resumed):
    assert [row["generation"] for row in _lines(resumed[0] / "generations.jsonl")] == [1, 2, 3]
