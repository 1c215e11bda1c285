"""The search run's Markdown report with plots: fitness per generation (and random search at the same budget),
the chosen layout on the device's coupling map, and the accuracy table."""

from __future__ import annotations

import math
from pathlib import Path

from qml.files import read_lines


def _fitness_plot(run: Path) -> str | None:
    gens, rand = read_lines(run / "generations.jsonl"), read_lines(run / "random.jsonl")
    if not gens:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([g["evaluated"] for g in gens], [g["best_so_far"] for g in gens], label="evolution: best so far")
    ax.plot([g["evaluated"] for g in gens], [g["mean"] for g in gens], label="evolution: population mean",
            alpha=0.6)
    if rand:
        ax.plot([r["evaluation"] for r in rand], [r["best_so_far"] for r in rand], label="random search: best")
    ax.set_xlabel("distinct candidates evaluated")
    ax.set_ylabel("fitness")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run / "fitness.png", dpi=110)
    plt.close(fig)
    return "fitness.png"


def _layout_plot(run: Path, snapshot, layout: list[int]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rustworkx as rx

    graph = rx.PyGraph()
    graph.add_nodes_from(range(snapshot.num_qubits))
    graph.add_edges_from_no_data(list(snapshot.edges))
    pos = rx.spring_layout(graph, seed=1) if snapshot.num_qubits > 1 else {0: (0.0, 0.0)}
    fig, ax = plt.subplots(figsize=(4, 4) if snapshot.num_qubits <= 16 else (9, 9))
    for a, b in snapshot.edges:
        ax.plot([pos[a][0], pos[b][0]], [pos[a][1], pos[b][1]], color="0.7", zorder=1)
    size = 300 if snapshot.num_qubits <= 16 else 40
    for q in range(snapshot.num_qubits):
        used = q in layout
        ax.scatter(*pos[q], s=size * (1.6 if used else 1), color="tab:orange" if used else "0.85", zorder=2)
        label = f"{q}\nw{layout.index(q)}" if used else (str(q) if snapshot.num_qubits <= 16 else "")
        ax.annotate(label, pos[q], ha="center", va="center", fontsize=7, zorder=3)
    ax.set_title(f"{snapshot.device}: logical wire w_i on physical qubit", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(run / "layout.png", dpi=110)
    plt.close(fig)
    return "layout.png"


def _ci(v, n) -> str:
    if v is None or n is None or (isinstance(v, float) and math.isnan(v)):
        return _pct(v)
    from qml.runs.stats import with_interval

    return with_interval(v, n)


def _pct(v) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def write_report(folder, config, results: dict, device) -> Path:
    """``report.md`` (and its plots) in the search's run folder; ``device`` is the search's ``qml.device.Device``."""
    run, snapshot = folder.path, device.snapshot
    fitness_png = _fitness_plot(run)
    layout_png = _layout_plot(run, snapshot, results["winner"]["layout"])
    n = results.get("test_inputs")
    lines = [f"# QuantumNAS search: {config.task} on {config.device}", "",
             f"Design space `{config.space}` {config.space_options or ''}, fitness `{config.fitness}`, "
             f"noise factor {config.noise_factor} for retraining, Aer twin with {config.shots} shots, one seed "
             f"({config.seed}), {n} test inputs; accuracies on the twin with their 95 % Wilson interval.", "",
             "| circuit | gene | layout | noise-free | Aer twin | after pruning (Aer) |",
             "|---|---|---|---:|---:|---:|"]
    baseline = f"human design ({results['baseline']['circuit']})" if "baseline" in results else "human design"
    for key, label in (("winner", "searched"), ("random", "random search"), ("baseline", baseline)):
        r = results.get(key)
        if r is None:
            continue
        lines.append(f"| {label} | {r.get('gene', '—')} | {r['layout']} | {_pct(r['noise_free'])} | "
                     f"{_ci(r['aer'], n)} | {_ci(r.get('pruned_aer'), n)} |")
    for key, where in (("searched_layout", "on the searched layout"), ("best_layout", "trained on its best layout")):
        r = results.get("human_layouts", {}).get(key)
        if r is not None:
            clean = r.get("noise_free", results["baseline"]["noise_free"])
            lines.append(f"| {baseline} {where} | — | {r['layout']} | {_pct(clean)} | {_ci(r['aer'], n)} | — |")
    if results.get("verdicts"):
        lines += ["", "Paired exact McNemar tests on the same test inputs (one seed: a study with several seeds, "
                      "`qml study`, is what supports a claim):", ""]
        lines += [f"- {pair}: {v['text']} — {v['b']} inputs only the first got right, {v['c']} only the second"
                  for pair, v in results["verdicts"].items()]
    pruned = results["winner"].get("pruned_transpiled")
    if pruned:
        lines += ["", f"Pruned winner transpiled to {config.device}: {pruned['two_qubit']} two-qubit gates, "
                      f"{pruned['pulses_1q']} one-qubit pulses, depth {pruned['depth']}."]
    lines += ["", "## Fitness per generation", "", f"![fitness]({fitness_png})" if fitness_png else "(none)", "",
              "## Chosen layout", "", f"![layout]({layout_png})", "", "## Time per stage (s)", ""]
    lines += [f"- {k}: {v}" for k, v in results.get("timings_s", {}).items()]
    folder.write_text("report.md", "\n".join(lines) + "\n")
    return run / "report.md"
