"""The search stage (QuantumNAS pipeline) in a run folder, with tiny budgets: what a finished run holds, and
that a search killed in the middle of the co-search resumes without evaluating a candidate twice and picks the
same winner."""

from __future__ import annotations

import json

import pytest
import torch

import qml
from qml.cli.main import main
from qml.runs import SearchConfig, search_run
from qml.runs.search import HUMAN_BLOCKS
from qml.search.evolution import EvolutionConfig
from qml.search.fitness import FitnessFunction
from qml.search.supercircuit import SuperTrainConfig

CONFIG = SearchConfig(space_options={"n_blocks": 2}, valid_size=60, super_train=SuperTrainConfig(epochs=1),
                      evolution=EvolutionConfig(population=6, parents=2, mutations=2, crossovers=1, generations=3),
                      retrain_epochs=1, shots=2048)
KILL_AFTER = 8  # evaluations: the kill lands in the second generation


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("search") / "run"
    return run, search_run(run, CONFIG, quiet=True)


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
            search_run(run, CONFIG, quiet=True)
        assert len(_lines(run / "evaluations.jsonl")) == KILL_AFTER
        mp.setattr(FitnessFunction, "__call__", counted(kill=False))
        results = search_run(run, None, resume=True, quiet=True)
    return run, results, calls


def _oracle_accuracies(folder, with_noise: bool) -> float:
    """Accuracy of a finished run folder computed without qml's engine or executors: the trained angles bound into
    qiskit, ⟨Z⟩ from qiskit's ``Statevector`` (noise-free) or from qiskit-aer's density matrix with the device's
    Aer noise model (exact, no shots), the class read as the argmax of the first n_classes ⟨Z⟩ times the logit
    scale (qml's head: no classical weights)."""
    import numpy as np
    from qiskit import transpile
    from qiskit.quantum_info import Statevector
    from qiskit_aer import AerSimulator

    from qml.device import Device
    from qml.runs import load_run

    config, data, model = load_run(folder)
    qc = qml.to_qiskit(model.qmodule.circuit, theta=model.qmodule.theta.detach().double().numpy())
    params = sorted(qc.parameters, key=lambda p: p.index)
    x = data.x_test.double().numpy()
    n = model.qmodule.n_wires
    if with_noise:
        device = Device.load(config.device_name)
        sim = AerSimulator(method="density_matrix", noise_model=device.aer_noise_model)
        compiled = transpile(qc, target=device.target, initial_layout=config.layout or list(range(n)),
                             optimization_level=1, seed_transpiler=0)
        layout = compiled.layout.final_index_layout()
        compiled.save_density_matrix()
    rows = [dict(zip(params, row[[p.index for p in params]], strict=True)) for row in x]
    if with_noise:
        bound = [compiled.assign_parameters({p: v[p] for p in compiled.parameters}) for v in rows]
        result = sim.run(bound).result()
        diags = [np.real(np.diag(np.asarray(result.data(i)["density_matrix"]))) for i in range(len(bound))]
        physical = [layout[w] for w in range(n)]
    else:
        diags = [Statevector(qc.assign_parameters(v)).probabilities() for v in rows]
        physical = list(range(n))
    z = np.array([[float(np.sum(d * (1 - 2 * ((np.arange(len(d)) >> q) & 1)))) for q in physical] for d in diags])
    if with_noise:  # the calibrated readout of the qubit each wire ends on: P(1|0) = m[0,1], P(0|1) = m[1,0]
        m = [device.snapshot.readout_confusion(q) for q in physical]
        z = z * np.array([1 - c[0, 1] - c[1, 0] for c in m]) + np.array([c[1, 0] - c[0, 1] for c in m])
    predicted = np.argmax(z[:, : model.n_classes], axis=1)
    return float(np.mean(predicted == data.y_test.numpy())), torch.tensor(z)


def test_reported_noise_free_accuracy_matches_qiskit_statevector(finished):
    run, results = finished
    for key in ("winner", "baseline"):
        accuracy, _ = _oracle_accuracies(run / key, with_noise=False)
        assert results[key]["noise_free"] == pytest.approx(accuracy, abs=1e-9), key


def test_reported_aer_accuracy_is_read_from_outputs_that_match_the_exact_noisy_density_matrix(finished):
    from qml.backends import make_executor
    from qml.runs import load_run

    run, results = finished
    _, z_exact = _oracle_accuracies(run / "winner", with_noise=True)
    config, data, model = load_run(run / "winner")
    executor = make_executor("aer:ibm_quito", layout=config.layout, seed=CONFIG.seed)
    z = executor.expectations(model.qmodule, data.x_test, CONFIG.shots).double()
    # each sampled <Z> lies within 5 sigma <= 5/sqrt(shots) of the exact noisy value
    assert float((z - z_exact).abs().max()) <= 5 / CONFIG.shots ** 0.5
    assert (z - z_exact).abs().max() > 0  # sampled, not exact: the oracle is independent
    assert results["winner"]["aer"] == model.accuracy_from(z.float(), data.y_test)


def test_results_json_is_what_the_search_returned(finished):
    assert json.loads((finished[0] / "results.json").read_text()) == finished[1]


def test_report_holds_the_table_and_both_plots(finished):
    run, _ = finished
    report = (run / "report.md").read_text()
    assert "| circuit | gene | layout | noise-free | Aer twin | after pruning (Aer) |" in report
    assert "| searched |" in report and "| random search |" in report
    assert "| human design (u3cu3, 2 blocks) |" in report
    assert "![fitness](fitness.png)" in report and "![layout](layout.png)" in report
    assert (run / "fitness.png").stat().st_size > 0 and (run / "layout.png").stat().st_size > 0


def test_evaluations_hold_one_line_per_distinct_candidate(finished):
    rows = _lines(finished[0] / "evaluations.jsonl")
    assert len(rows) == len({row["fingerprint"] for row in rows})
    assert {row["stage"] for row in rows} == {"evolution", "random"}


def test_generations_are_logged_one_line_each(finished):
    rows = _lines(finished[0] / "generations.jsonl")
    assert [row["generation"] for row in rows] == [1, 2, 3]
    finalists = [(f["gene"], f["layout"]) for f in finished[1]["winner"]["finalists"]]
    assert (rows[-1]["best_gene"], rows[-1]["best_layout"]) in finalists[:2]  # after the human design


def test_the_evolution_starts_from_the_human_design_on_its_best_layout(finished):
    """The first candidate evaluated is the human design (u3cu3's build(): 2 blocks, every slot kept) on the
    layout the device's placement picks for it, so the search can only do better by its own fitness."""
    from qml.circuit.library import load_circuit
    from qml.device import Device

    human = load_circuit("u3cu3", n_blocks=HUMAN_BLOCKS)
    first = _lines(finished[0] / "evaluations.jsonl")[0]
    assert first["gene"][0] == 2 and all(v == 4 for v in first["gene"][1:])  # 4 wires: every U3 and CU3 kept
    assert first["layout"] == list(Device.load("ibm_quito").best_layout(human)) and first["stage"] == "evolution"


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


@pytest.mark.parametrize("space", ["zz_ry", "rxyz"])
def test_the_baseline_is_the_human_design_of_the_searched_space(space):
    from qml.circuit.library import load_circuit
    from qml.data import load_task
    from qml.runs import build_model
    from qml.runs.search import HUMAN_BLOCKS, _run_config

    config = SearchConfig(space=space)
    baseline = _run_config(config, None)
    data = load_task("digits4")
    model = build_model(baseline, data.n_features, data.n_classes)
    human = load_circuit(space, n_blocks=HUMAN_BLOCKS)  # the space file's own build()
    assert [(op.gate, op.wires) for op in model.qmodule.circuit.ops] == [(op.gate, op.wires) for op in human.ops]
    assert any(op.gate != "cu3" for op in human.ops) and all(op.gate != "cu3" for op in human.ops)


def test_a_space_file_without_a_human_design_is_refused_before_anything_is_written(tmp_path):
    space = tmp_path / "mine.py"
    space.write_text("import qml.search\n\n\ndef space(n_wires=4, n_blocks=2, variant='front'):\n"
                     "    return qml.search.DesignSpace('mine', n_wires, n_blocks, variant=variant).layer('ry')\n")
    with pytest.raises(qml.InputError, match="build"):
        search_run(tmp_path / "run", SearchConfig(space=str(space)), quiet=True)
    assert not (tmp_path / "run").exists()


def test_a_search_reads_its_device_once_runs_its_space_file_once_and_writes_its_config_once(tmp_path, monkeypatch):
    from pathlib import Path

    import qml.device.library as library
    import qml.files as files
    from qml.device import device as device_module

    source = (Path(qml.__file__).parent.parent / "circuits" / "u3cu3.py").read_text()
    runs_file = tmp_path / "ran.txt"
    space = tmp_path / "my_space.py"
    space.write_text(f"open({str(runs_file)!r}, 'a').write('x')\n" + source)
    monkeypatch.setattr(device_module, "_CACHE", {})
    reads, writes = [], []
    load = library.load_snapshot
    monkeypatch.setattr(library, "load_snapshot", lambda name: reads.append(name) or load(name))
    write = files.write_atomic
    # every JSON write of a run folder goes through qml.files.write_json -> write_atomic
    monkeypatch.setattr(files, "write_atomic", lambda path, data: writes.append(path.name) or write(path, data))
    config = SearchConfig(space=str(space), space_options={"n_blocks": 2}, valid_size=20,
                          super_train=SuperTrainConfig(epochs=1),
                          evolution=EvolutionConfig(population=2, parents=1, mutations=1, crossovers=0,
                                                    generations=1),
                          random_baseline=False, retrain_epochs=1, prune_ratio=None, shots=64)
    results = search_run(tmp_path / "run", config, quiet=True)
    assert results["baseline"]["circuit"] == "my_space, 2 blocks"
    assert reads == ["ibm_quito"]
    assert runs_file.read_text() == "x"
    top_level_configs = [w for w in writes if w == "config.json"]
    # the search's own, each finalist's, winner/, baseline/ and human_best/ (when its best layout is not trivial)
    retrained = 1 + len(results["winner"].get("finalists", [])) + 1
    human = 1 + (results["human_layouts"]["best_layout"]["run"] == "human_best")
    assert len(top_level_configs) == retrained + human


def test_a_kill_between_checkpoint_and_log_line_neither_loses_nor_repeats_a_supercircuit_epoch(tmp_path,
                                                                                                monkeypatch):
    from qml.runs import RunFolder

    config = SearchConfig(space_options={"n_blocks": 1}, valid_size=20, super_train=SuperTrainConfig(epochs=3),
                          evolution=EvolutionConfig(population=2, parents=1, mutations=1, crossovers=0,
                                                    generations=1),
                          random_baseline=False, retrain_epochs=1, prune_ratio=None, shots=64)
    append = RunFolder.append

    def killed_at_epoch_two(self, name, row):
        if name == "super_metrics.jsonl" and row["epoch"] == 2:  # epoch 2's checkpoint is already on disk
            raise KeyboardInterrupt
        append(self, name, row)

    monkeypatch.setattr(RunFolder, "append", killed_at_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        search_run(tmp_path / "run", config, quiet=True)
    assert [r["epoch"] for r in _lines(tmp_path / "run" / "super_metrics.jsonl")] == [1]
    monkeypatch.setattr(RunFolder, "append", append)
    search_run(tmp_path / "run", None, resume=True, quiet=True)
    assert [r["epoch"] for r in _lines(tmp_path / "run" / "super_metrics.jsonl")] == [1, 2, 3]


def test_verdicts_follow_the_exact_mcnemar_test_by_hand_and_claim_a_winner_only_when_significant(finished):
    import math

    run, results = finished
    verdicts = results["verdicts"]
    assert {"searched vs human design (trivial layout)", "searched vs human design (its best layout)",
            "searched + pruned vs human design (searched layout)"} <= set(verdicts)
    report = (run / "report.md").read_text()
    for pair, v in verdicts.items():
        n, k = v["b"] + v["c"], min(v["b"], v["c"])
        p = 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
        assert v["p"] == pytest.approx(p, rel=1e-12)
        assert ("beats" in v["text"]) == (p < 0.05 and v["b"] != v["c"])
        assert f"- {pair}: {v['text']}" in report
    assert results["human_layouts"]["best_layout"]["layout"] != [] and results["test_inputs"] == 180


def test_the_human_design_is_trained_again_on_its_best_layout_with_that_layouts_noise(finished):
    """The strongest fair baseline: the layout the device's placement finds for the human design's structure, where
    the design is trained with that layout's noise injected (not the trivial-layout run moved there)."""
    from qml.circuit.library import load_circuit
    from qml.device import Device
    from qml.runs.model import load_run_config

    run, results = finished
    best = results["human_layouts"]["best_layout"]
    expected = list(Device.load("ibm_quito").best_layout(load_circuit("u3cu3", n_blocks=HUMAN_BLOCKS)))
    assert best["layout"] == expected
    if expected == list(range(4)):
        assert best["run"] == "baseline"
        return
    rc = load_run_config(run / best["run"])
    assert best["run"] == "human_best" and rc.layout == expected and rc.device_name == "ibm_quito"
    assert rc.train.noise_factor == CONFIG.noise_factor and rc.gene is None


def test_the_finalists_are_the_human_design_then_the_best_of_each_layout(finished):
    """Searched: the human design on its best layout, then the best fitness of each other layout; random search:
    the best of each layout among its own candidates (no human design)."""
    run, results = finished
    rows = _lines(run / "evaluations.jsonl")
    human = rows[0]  # the seed of the first generation
    for key, stage, first in (("winner", "evolution", [(human["gene"], human["layout"])]), ("random", None, [])):
        if stage is None:
            rows_of = [dict(r, fitness=r["fitness"]) for r in _lines(run / "random.jsonl")]
        else:
            rows_of = [r for r in rows if r["stage"] == stage]
        best_of_layout, layouts = [], set()
        for r in sorted(rows_of, key=lambda r: -r["fitness"]):
            if tuple(r["layout"]) not in layouts:
                layouts.add(tuple(r["layout"]))
                best_of_layout.append((r["gene"], r["layout"]))
        expected = (first + [c for c in best_of_layout if c not in first])[:CONFIG.finalists]
        assert [(f["gene"], f["layout"]) for f in results[key]["finalists"]] == expected


def test_the_random_search_gets_the_same_finalists_as_the_evolution(finished):
    run, results = finished
    for key in ("winner", "random"):
        finalists = results[key]["finalists"]
        assert len(finalists) == CONFIG.finalists == 3
        assert sum(f.get("picked", False) for f in finalists) == 1
        picked = next(f for f in finalists if f.get("picked"))
        best = max(f["valid_noisy_accuracy"] for f in finalists)
        if key == "random":  # no incumbent: the best validation accuracy
            assert picked["valid_noisy_accuracy"] == best
        else:  # the human design (finalist 0) unless a better one beats it with significance
            challenger = next(f for f in finalists if f["valid_noisy_accuracy"] == best)
            switched = challenger is not finalists[0] and challenger["p_vs_human"] < 0.05
            assert picked is (challenger if switched else finalists[0])
        assert (picked["gene"], picked["layout"]) == (results[key]["gene"], results[key]["layout"])


def test_random_search_is_timed_apart_from_the_co_search(finished):
    timings = finished[1]["timings_s"]
    assert {"supercircuit", "search", "random_search"} <= set(timings)
    assert all(v >= 0 for v in timings.values())
