"""``qml study --config study.toml --out runs/study``: a grid of methods x devices x tasks x seeds, each cell a run
folder, with one results table (mean ± 95 % CI over seeds, paired tests against a reference method)."""

from __future__ import annotations

import argparse
from pathlib import Path

from qml.cli.args import add_ray_flags, open_pool, positive_int
from qml.errors import InputError

GRID_FLAGS = ("methods", "devices", "tasks", "seeds", "epochs", "shots", "limit")


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return names


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 0,1,2, got {text!r}") from None
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"expected non-negative seeds, got {text!r}")
    return seeds


def register(sub) -> None:
    p = sub.add_parser("study", help="a grid of methods x devices x tasks x seeds with confidence intervals and "
                                     "paired tests",
                       description="Run every method on every device, task and seed (each cell a run folder, "
                                   "evaluated on the device's Aer twin), then write STUDY/results.json and "
                                   "STUDY/report.md: mean accuracy with its 95 % confidence interval over seeds, and "
                                   "each method tested against a reference with the exact McNemar test on the same "
                                   "test inputs. Continue a stopped study with --resume --out STUDY.")
    p.add_argument("--config", type=Path, help="TOML or JSON file with the study's fields (flags override it)")
    p.add_argument("--out", type=Path, required=True, help="study folder")
    p.add_argument("--resume", action="store_true", help="continue the study in --out: finished cells are kept")
    p.add_argument("--methods", type=_names,
                   help="comma-separated: plain, noise, noise_norm, noise_norm_quant (trained), searched, "
                        "searched_pruned, random, human_trivial, human_searched, human_best (from one search per task, "
                        "device and seed)")
    p.add_argument("--devices", type=_names, help="comma-separated device snapshots (qml noise list)")
    p.add_argument("--tasks", type=_names, help="comma-separated tasks, e.g. digits4,digits2")
    p.add_argument("--seeds", type=_seeds, help="comma-separated seeds, e.g. 0,1,2")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--shots", type=positive_int, help="shots per input on the Aer twin")
    p.add_argument("--limit", type=positive_int, help="evaluate each cell on the first N test inputs")
    p.add_argument("--strategy", choices=("evolution", "trainfree"),
                   help="how the search-based methods search (the config's search.strategy; default evolution)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_ray_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from qml.runs.study import study_run
    from qml.runs.study_config import StudyConfig
    from qml.runs.study_report import format_table

    flags = {name: getattr(args, name) for name in GRID_FLAGS if getattr(args, name) is not None}
    config = None
    if args.resume:
        given = (["--config"] if args.config else []) + [f"--{name}" for name in flags] + \
            (["--strategy"] if args.strategy else [])
        if given:
            raise InputError(f"--resume continues the study stored in {args.out}; drop {', '.join(given)}")
    elif args.config is not None:
        config = StudyConfig.from_file(args.config, **flags)
    else:
        config = StudyConfig.from_partial(flags, "command line")
    if config is not None and args.strategy is not None:
        from dataclasses import replace

        config = replace(config, search=replace(config.search, strategy=args.strategy))
    say = (lambda text: None) if args.quiet else (lambda text: print(text, flush=True))
    pool = open_pool(args)
    try:
        results = study_run(args.out, config, resume=args.resume, say=say, pool=pool)
    finally:
        if pool is not None:
            pool.close()
    print(format_table(results))
    print(f"report {args.out / 'report.md'}")
    return 0
