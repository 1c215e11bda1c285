"""A study's results from its cells' records: per (task, device, method) the mean accuracy over seeds with its
95 % t interval, and each method tested against the reference with the exact McNemar test pooled over seeds —
"A beats B" is written only when that test rejects "no difference"; ``results.json`` and ``report.md``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from qml.errors import InputError
from qml.runs.stats import ALPHA, stratified_mcnemar, t_interval, wilson_interval
from qml.runs.study_config import SEARCHED


@dataclass
class MethodSummary:
    """One method on one device and task: its accuracy per seed, their mean with the 95 % t interval over seeds
    (None with one seed), and the Wilson interval of all its inputs pooled (input sampling only)."""

    task: str
    device: str
    method: str
    noise_factor: float | None
    seeds: list[int]
    n: list[int]  # test inputs per seed
    accuracies: list[float]
    mean: float
    ci_low: float | None
    ci_high: float | None
    pooled_low: float
    pooled_high: float

    def interval(self) -> str:
        if self.ci_low is None:
            return f"{self.mean:.4f} (CI undefined: {len(self.seeds)} seed)"
        return f"{self.mean:.4f} ± {(self.ci_high - self.ci_low) / 2:.4f}"


@dataclass
class Comparison:
    """``method`` against ``reference`` on the same test inputs of ``seeds``: ``b`` inputs only the method got
    right, ``c`` only the reference did; the exact McNemar p-value and its verdict at ``alpha``."""

    task: str
    device: str
    method: str
    reference: str
    seeds: list[int]
    b: int
    c: int
    pairs: int
    p_value: float
    verdict: str


@dataclass
class StudyResults:
    reference: str
    alpha: float
    cells: int
    rows: list[MethodSummary]
    comparisons: list[Comparison]

    def to_dict(self) -> dict:
        return asdict(self)

    def comparison(self, task: str, device: str, method: str) -> Comparison | None:
        return next((c for c in self.comparisons if (c.task, c.device, c.method) == (task, device, method)), None)


def summarise(config, records, alpha: float = ALPHA) -> StudyResults:
    """The table of a study (``config``, a ``StudyConfig``) from its cells' records (``CellRecord``); methods keep
    the config's order."""
    reference = config.reference_method()
    by_key: dict[tuple, dict[int, object]] = {}
    for r in records:
        by_key.setdefault((r.task, r.device, r.method), {})[r.seed] = r
    order = {m: i for i, m in enumerate(config.arms())}
    keys = sorted(by_key, key=lambda k: (config.tasks.index(k[0]) if k[0] in config.tasks else 0,
                                         config.devices.index(k[1]) if k[1] in config.devices else 0,
                                         order.get(k[2], len(order))))
    rows, comparisons = [], []
    for task, device, method in keys:
        cells = [by_key[task, device, method][s] for s in sorted(by_key[task, device, method])]
        mean = t_interval([c.accuracy for c in cells])
        pooled = wilson_interval(sum(sum(c.correct) for c in cells), sum(c.n for c in cells))
        rows.append(MethodSummary(task, device, method, cells[0].noise_factor, [c.seed for c in cells],
                                  [c.n for c in cells], [c.accuracy for c in cells], mean.estimate, mean.low,
                                  mean.high, pooled.low, pooled.high))
        ref = by_key.get((task, device, reference))
        if method == reference or not ref:
            continue
        seeds = [c.seed for c in cells if c.seed in ref]
        if not seeds:
            continue
        for s in seeds:
            a, b = by_key[task, device, method][s], ref[s]
            if a.inputs != b.inputs or a.n != b.n:
                raise InputError(f"{a.run} and {b.run} were evaluated on different test inputs: they cannot be "
                                 "paired (same task, seed and limit expected)")
        test = stratified_mcnemar([(by_key[task, device, method][s].correct, ref[s].correct) for s in seeds])
        comparisons.append(Comparison(task, device, method, reference, seeds, test.b, test.c, test.pairs,
                                      test.p_value, test.verdict(method, reference, alpha)))
    return StudyResults(reference, alpha, len(records), rows, comparisons)


def format_table(results: StudyResults) -> str:
    """The results as a Markdown table (what ``report.md`` holds and ``qml study`` prints)."""
    ref = results.reference
    lines = [f"| task | device | method | accuracy, mean ± 95 % CI over seeds | seeds | inputs/seed | "
             f"95 % Wilson, inputs pooled | only method right / only {ref} right | verdict vs {ref} |",
             "|---|---|---|---|---:|---|---|---:|---|"]
    for row in results.rows:
        comparison = results.comparison(row.task, row.device, row.method)
        if row.method == ref:
            paired, verdict = "—", "(reference)"
        elif comparison is None:
            paired, verdict = "—", "not paired: the reference has no cell on these seeds"
        else:
            paired, verdict = f"{comparison.b} / {comparison.c}", _verdict(comparison)
        per_seed = ", ".join(str(n) for n in sorted(set(row.n)))
        lines.append(f"| {row.task} | {row.device} | {row.method} | {row.interval()} | {len(row.seeds)} | "
                     f"{per_seed} | [{row.pooled_low:.4f}, {row.pooled_high:.4f}] | {paired} | {verdict} |")
    return "\n".join(lines)


def _verdict(comparison: Comparison) -> str:
    return comparison.verdict + ("" if len(comparison.seeds) < 2 else f", {len(comparison.seeds)} seeds pooled")


def write_report(folder, config, results: StudyResults, records) -> Path:
    """``report.md`` with the table, the verdicts, and plots of accuracy per device, training curves and (with
    several noise factors) accuracy against the noise factor, in the study folder ``folder`` (a ``RunFolder``)."""
    from qml.runs.study_plots import accuracy_plots, curve_plots, noise_plots

    study = folder.path
    lines = [f"# Study: {', '.join(config.methods)} on {', '.join(config.devices)}, {', '.join(config.tasks)}", "",
             f"{results.cells} cells; seeds {', '.join(str(s) for s in config.seeds)}; circuit `{config.circuit}` "
             f"({config.blocks} blocks), {config.epochs} epochs; noise factor {config.noise_factor:g}"
             + (f" (swept: {', '.join(f'{f:g}' for f in config.noise_factors)})" if config.noise_factors else "")
             + f"; each cell evaluated on the device's Aer twin with {config.shots} shots on "
             + (f"the first {config.limit} test inputs" if config.limit else "its seed's whole test split")
             + ".", "",
             "The interval over seeds is Student's t (undefined with one seed); the Wilson interval pools every "
             "input of every seed and reflects input sampling only. Each method is tested against "
             f"`{results.reference}` with the exact McNemar test on the inputs both got, pooled over seeds (pairs "
             f"formed within a seed); \"beats\" is written only when p < {results.alpha:g}. Each comparison is "
             "tested on its own, with no correction for multiple comparisons. The test takes each seed's trained "
             "models as given: it asks whether the methods differ on these inputs, not whether other training seeds "
             "would agree — read it next to the interval over seeds.", "",
             format_table(results), ""]
    for title, pictures in (("Accuracy per device", accuracy_plots(study, config, results)),
                            ("Training curves (validation accuracy, mean over seeds)",
                             curve_plots(study, config, records)),
                            ("Accuracy against the noise factor", noise_plots(study, config, results))):
        if pictures:
            lines += [f"## {title}", ""] + [f"![{Path(p).stem}]({p})" for p in pictures] + [""]
    if any(m in SEARCHED for m in config.methods) and config.batch_size != 32:
        lines += ["Note: the search retrains its candidates with batch size 32, not the study's "
                  f"{config.batch_size}.", ""]
    folder.write_text("report.md", "\n".join(lines))
    return study / "report.md"


__all__ = ["Comparison", "MethodSummary", "StudyResults", "format_table", "summarise", "write_report"]
