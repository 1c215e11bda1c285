"""A study's plots (matplotlib, Agg): accuracy per device with 95 % CI bars per method, training curves from the
cells' ``metrics.jsonl``, and accuracy against the noise factor when the study sweeps several. Each function
writes its PNGs into the study folder and returns their names."""

from __future__ import annotations

from pathlib import Path

from qml.files import read_lines
from qml.runs.study_config import SEARCHED


def _save(plt, fig, ax, study: Path, name: str, title: str, legend: dict | None = None) -> str:
    """Title, legend, tight layout, ``study/name`` at 110 dpi, figure closed; returns ``name``."""
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, **(legend or {}))
    fig.tight_layout()
    fig.savefig(study / name, dpi=110)
    plt.close(fig)
    return name


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def accuracy_plots(study: Path, config, results) -> list[str]:
    """One figure per task: a group of bars per device, one bar per method (mean over seeds, 95 % t interval as
    the error bar when there are several seeds), each seed's accuracy as a dot."""
    plt, names = _pyplot(), []
    arms = config.arms()
    width = 0.8 / len(arms)
    for task in config.tasks:
        fig, ax = plt.subplots(figsize=(max(6.5, 2.5 + 0.4 * len(config.devices) * len(arms)), 3.8))
        for i, method in enumerate(arms):
            rows = [next((r for r in results.rows if (r.task, r.device, r.method) == (task, d, method)), None)
                    for d in config.devices]
            xs = [j + (i - (len(arms) - 1) / 2) * width for j in range(len(config.devices))]
            means = [r.mean if r else 0.0 for r in rows]
            errors = [[(r.mean - r.ci_low) if r and r.ci_low is not None else 0.0 for r in rows],
                      [(r.ci_high - r.mean) if r and r.ci_high is not None else 0.0 for r in rows]]
            ax.bar(xs, means, width, yerr=errors, capsize=3, label=method)
            for x, r in zip(xs, rows, strict=True):
                if r:
                    ax.scatter([x] * len(r.accuracies), r.accuracies, color="k", s=8, zorder=3)
        ax.set_xticks(range(len(config.devices)), [Path(d).stem for d in config.devices])
        ax.set_ylabel("accuracy on the Aer twin")
        ax.set_ylim(0, 1.05)
        names.append(_save(plt, fig, ax, study, f"accuracy-{task}.png",
                           f"{task}: mean over seeds, 95 % CI; dots: seeds",
                           {"loc": "upper left", "bbox_to_anchor": (1.0, 1.0)}))
    return names


def curve_plots(study: Path, config, records) -> list[str]:
    """One figure per (task, device): validation accuracy per epoch of each training run, mean over seeds; the
    search-based methods share their search's runs (winner, random, human baseline)."""
    plt, names = _pyplot(), []
    for task in config.tasks:
        for device in config.devices:
            curves: dict[str, list[list[float]]] = {}
            seen: set[Path] = set()
            for r in records:
                if (r.task, r.device) != (task, device):
                    continue
                run = study / r.run
                label = r.method
                if r.method.partition("@")[0] in SEARCHED:  # a run of the search's (pruned: its winner's curve)
                    if r.run.endswith("/pruned"):
                        run = run.parent
                    label = f"{run.parent.name}: {run.name}"
                if run in seen:  # the human baselines share one run
                    continue
                seen.add(run)
                curve = [row["valid_accuracy"] for row in read_lines(run / "metrics.jsonl") if "valid_accuracy" in row]
                if curve:
                    curves.setdefault(label, []).append(curve)
            if not curves:
                continue
            fig, ax = plt.subplots(figsize=(6, 3.5))
            for label, runs in curves.items():
                length = min(len(c) for c in runs)
                mean = [sum(c[e] for c in runs) / len(runs) for e in range(length)]
                ax.plot(range(1, length + 1), mean, marker="o" if length < 4 else None, label=label)
            ax.set_xlabel("epoch")
            ax.set_ylabel("validation accuracy (noise-free)")
            names.append(_save(plt, fig, ax, study, f"curves-{task}-{Path(device).stem}.png",
                               f"{task} on {Path(device).stem}"))
    return names


def noise_plots(study: Path, config, results) -> list[str]:
    """With several noise factors: one figure per task, accuracy of each noise method against the factor it was
    trained with, one line per (device, method), 95 % CI bars."""
    if not config.noise_factors:
        return []
    plt, names = _pyplot(), []
    for task in config.tasks:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for device in config.devices:
            for method in (m for m in config.methods if config.factor_of(m) is not None):
                rows = sorted((r for r in results.rows if (r.task, r.device) == (task, device)
                               and r.method.partition("@")[0] == method), key=lambda r: r.noise_factor)
                if not rows:
                    continue
                errors = [[r.mean - r.ci_low if r.ci_low is not None else 0.0 for r in rows],
                          [r.ci_high - r.mean if r.ci_high is not None else 0.0 for r in rows]]
                ax.errorbar([r.noise_factor for r in rows], [r.mean for r in rows], yerr=errors, capsize=3,
                            marker="o", label=f"{method}, {Path(device).stem}")
        ax.set_xlabel("noise factor while training")
        ax.set_ylabel("accuracy on the Aer twin")
        names.append(_save(plt, fig, ax, study, f"noise-{task}.png", f"{task}: mean over seeds, 95 % CI"))
    return names


__all__ = ["accuracy_plots", "curve_plots", "noise_plots"]
